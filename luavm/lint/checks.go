package lint

import (
	"sort"
	"strings"

	"github.com/yuin/gopher-lua/ast"
)

// read warns of a global nothing defines: most often a misspelled local
// (calll.dtmf), which Lua reads as a nil global.
func (w *walker) read(e *ast.IdentExpr, sc *scope) {
	k := sc.lookup(e.Value)
	if !w.report || !k.global() || w.c.globals[k.name] || len(w.vals[k]) > 0 {
		return
	}
	if w.c.mods[k.name] != nil {
		w.warnf(e.Line(), "unknown global %q: Go module %s is not a global, require it (local %s = require(%q))", k.name, k.name, k.name, k.name)
		return
	}
	if s := Closest(k.name, w.visible(sc)); s != "" {
		w.warnf(e.Line(), "unknown global %q (did you mean %q?)", k.name, s)
		return
	}
	w.warnf(e.Line(), "unknown global %q: no local, sandbox global or assignment in this file defines it", k.name)
}

// visible are the names a script can mean at sc.
func (w *walker) visible(sc *scope) []string {
	names := sc.names()
	for name := range w.c.globals {
		names = append(names, name)
	}
	for k := range w.vals {
		if k.global() {
			names = append(names, k.name)
		}
	}
	return names
}

// member reports mod.name when mod has no such key.
func (w *walker) member(e *ast.AttrGetExpr, sc *scope) {
	if key, ok := e.Key.(*ast.StringExpr); ok && w.report {
		w.checkMember(w.moduleAt(e.Object, sc), key.Value, lineOf(e.Key, e))
	}
}

func (w *walker) method(e *ast.FuncCallExpr, sc *scope) {
	if w.report {
		w.checkMember(w.moduleAt(e.Receiver, sc), e.Method, e.Line())
	}
}

func (w *walker) checkMember(mod *module, name string, line int) {
	if mod == nil || mod.members == nil || mod.members[name] {
		return
	}
	names := mod.memberNames()
	if s := Closest(name, names); s != "" {
		w.errorf(line, "unknown function %s.%s (did you mean %s.%s?)", mod.name, name, mod.name, s)
		return
	}
	w.errorf(line, "unknown function %s.%s (%s has %s)", mod.name, name, mod.name, strings.Join(names, ", "))
}

// setField is an assignment to obj.key. Modules are read-only, and
// _G.name = v defines a global as name = v does.
func (w *walker) setField(obj, key ast.Expr, v value, sc *scope) {
	ks, named := key.(*ast.StringExpr)
	if id, ok := obj.(*ast.IdentExpr); ok && named && id.Value == "_G" && sc.lookup("_G").global() {
		w.record(varKey{name: ks.Value}, v)
		return
	}
	if !w.report {
		return
	}
	if mod := w.moduleAt(obj, sc); mod != nil {
		name := "[...]"
		if named {
			name = ks.Value
		}
		w.errorf(obj.Line(), "cannot set %s.%s: module %s is read-only", mod.name, name, mod.name)
	}
}

// callee is the module function e calls, when it calls one.
func (w *walker) callee(e *ast.FuncCallExpr, sc *scope) (*module, string) {
	if e.Func == nil {
		if mod := w.moduleAt(e.Receiver, sc); mod != nil {
			return mod, e.Method
		}
		return nil, ""
	}
	if a, ok := e.Func.(*ast.AttrGetExpr); ok {
		if k, ok := a.Key.(*ast.StringExpr); ok {
			if mod := w.moduleAt(a.Object, sc); mod != nil {
				return mod, k.Value
			}
		}
	}
	return nil, ""
}

// requireName is the literal name e requires, when e is require("name").
func (w *walker) requireName(e *ast.FuncCallExpr, sc *scope) (string, bool) {
	id, ok := e.Func.(*ast.IdentExpr)
	if !ok || id.Value != "require" || !sc.lookup("require").global() || len(e.Args) == 0 {
		return "", false
	}
	s, ok := e.Args[0].(*ast.StringExpr)
	if !ok {
		return "", false
	}
	return s.Value, true
}

func (w *walker) checkRequire(name string, line int) {
	if w.c.mods[name] != nil || w.c.libs[name] {
		return
	}
	var names []string
	for n := range w.c.mods {
		names = append(names, n)
	}
	for n := range w.c.libs {
		names = append(names, n)
	}
	if s := Closest(name, names); s != "" {
		w.errorf(line, "require: module %q not found (did you mean %q?)", name, s)
		return
	}
	w.errorf(line, "require: module %q not found (Go modules: %s; script modules: lib/NAME.lua as \"lib.NAME\"%s)", name, w.c.modList, w.libList())
}

func (w *walker) libList() string {
	if len(w.c.libs) == 0 {
		return ""
	}
	var names []string
	for n := range w.c.libs {
		names = append(names, n)
	}
	sort.Strings(names)
	return ": " + strings.Join(names, ", ")
}

// realGlobal says name is the sandbox's own global at sc: not shadowed by
// a local, never assigned in the file.
func (w *walker) realGlobal(name string, sc *scope) bool {
	k := sc.lookup(name)
	return k.global() && w.c.globals[name] && len(w.vals[k]) == 0
}

// valueAt is what the i-th target of an assignment from exprs gets.
func (w *walker) valueAt(exprs []ast.Expr, i int, sc *scope) value {
	if i < len(exprs) {
		return w.valueOf(exprs[i], sc)
	}
	return value{}
}

func (w *walker) valueOf(e ast.Expr, sc *scope) value {
	switch e := e.(type) {
	case *ast.IdentExpr:
		k := sc.lookup(e.Value)
		return value{alias: &k}
	case *ast.FuncCallExpr:
		if name, ok := w.requireName(e, sc); ok && w.c.mods[name] != nil {
			return value{mod: name, req: true}
		}
	}
	return value{}
}

// moduleAt is the Go module e certainly evaluates to, or nil. Only the
// second pass asks, when every assignment is known.
func (w *walker) moduleAt(e ast.Expr, sc *scope) *module {
	if name := w.resolve(w.valueOf(e, sc)); name != "" {
		return w.c.mods[name]
	}
	return nil
}

func (w *walker) resolve(v value) string {
	switch {
	case v.alias != nil:
		return w.modOf(*v.alias)
	case v.req && len(w.vals[varKey{name: "require"}]) > 0:
		return "" // the script replaced require
	}
	return v.mod
}

// modOf is the module every assignment of k gives it, or "".
func (w *walker) modOf(k varKey) string {
	if m, ok := w.memo[k]; ok {
		return m
	}
	w.memo[k] = "" // a cycle of aliases is no module
	m := ""
	for i, v := range w.vals[k] {
		vm := w.resolve(v)
		if vm == "" || (i > 0 && vm != m) {
			m = ""
			break
		}
		m = vm
	}
	w.memo[k] = m
	return m
}

// lineOf is e's line, or fallback's when the parser left e without one.
func lineOf(e, fallback ast.Expr) int {
	if l := e.Line(); l > 0 {
		return l
	}
	return fallback.Line()
}

// describeType names a Lua type with its article, for messages.
func describeType(typ string) string {
	if typ == "nil" {
		return "nil"
	}
	return "a " + typ
}
