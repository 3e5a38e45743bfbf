package lint

import (
	"fmt"

	"github.com/yuin/gopher-lua/ast"
)

// walker reads one file in two passes over the same tree. The first only
// records what every variable is assigned; the second checks. A variable is
// taken for a module only if every assignment anywhere in the file makes it
// that module, so a later `http = nil` or a local named ivr is never
// mistaken for one, and a global assigned below where it is read is still
// defined.
type walker struct {
	c      *checker
	path   string
	report bool // second pass

	vals map[varKey][]value
	memo map[varKey]string

	handler *ast.FunctionExpr // nil for a lib script, or when undecidable
	fn      *ast.FunctionExpr // the function being walked; nil at top level
	raises  map[*ast.FuncCallStmt]bool

	diags []Diagnostic
	seen  map[Diagnostic]bool
}

func newWalker(c *checker, path string) *walker {
	w := &walker{
		c: c, path: path,
		vals:   map[varKey][]value{},
		memo:   map[varKey]string{},
		raises: map[*ast.FuncCallStmt]bool{},
		seen:   map[Diagnostic]bool{},
	}
	for name, m := range c.mods {
		if m.global {
			w.vals[varKey{name: name}] = []value{{mod: name}}
		}
	}
	return w
}

func (w *walker) run(chunk []ast.Stmt, lib bool) []Diagnostic {
	if !lib {
		w.handler = handlerOf(chunk)
	}
	w.block(chunk, &scope{})
	w.report = true
	w.block(chunk, &scope{})
	if w.handler != nil && !w.terminates(w.handler.Stmts) {
		w.warnf(w.handler.LastLine(), "handler can reach its end without returning an action")
	}
	return w.diags
}

func (w *walker) add(sev Severity, line int, format string, args ...any) {
	d := Diagnostic{Path: w.path, Line: line, Severity: sev, Msg: fmt.Sprintf(format, args...)}
	if w.report && !w.seen[d] {
		w.seen[d] = true
		w.diags = append(w.diags, d)
	}
}

func (w *walker) errorf(line int, format string, args ...any) {
	w.add(Error, line, format, args...)
}

func (w *walker) warnf(line int, format string, args ...any) {
	w.add(Warning, line, format, args...)
}

// record notes an assignment, once: in the first pass.
func (w *walker) record(k varKey, v value) {
	if !w.report {
		w.vals[k] = append(w.vals[k], v)
	}
}

func (w *walker) block(stmts []ast.Stmt, sc *scope) {
	for _, s := range stmts {
		w.stmt(s, sc)
	}
}

func (w *walker) stmt(s ast.Stmt, sc *scope) {
	switch s := s.(type) {
	case *ast.LocalAssignStmt:
		w.local(s, sc)
	case *ast.AssignStmt:
		w.assign(s, sc)
	case *ast.FuncCallStmt:
		w.expr(s.Expr, sc)
		w.noteRaise(s, sc)
	case *ast.DoBlockStmt:
		w.block(s.Stmts, sc.child())
	case *ast.WhileStmt:
		w.expr(s.Condition, sc)
		w.block(s.Stmts, sc.child())
	case *ast.RepeatStmt:
		inner := sc.child() // until sees the body's locals
		w.block(s.Stmts, inner)
		w.expr(s.Condition, inner)
	case *ast.IfStmt:
		w.expr(s.Condition, sc)
		w.block(s.Then, sc.child())
		w.block(s.Else, sc.child())
	case *ast.NumberForStmt:
		w.exprs(sc, s.Init, s.Limit, s.Step)
		w.loop(s, []string{s.Name}, s.Stmts, sc)
	case *ast.GenericForStmt:
		w.exprs(sc, s.Exprs...)
		w.loop(s, s.Names, s.Stmts, sc)
	case *ast.FuncDefStmt:
		w.funcDef(s, sc)
	case *ast.ReturnStmt:
		w.exprs(sc, s.Exprs...)
		w.checkReturn(s, sc)
	}
}

// loop walks a for loop's body, where its variables are locals.
func (w *walker) loop(decl ast.Stmt, names []string, body []ast.Stmt, sc *scope) {
	inner := sc.child()
	for i, name := range names {
		inner.declare(name, varKey{decl, i, name})
	}
	w.block(body, inner)
}

func (w *walker) local(s *ast.LocalAssignStmt, sc *scope) {
	// gopher-lua, like Lua for `local function f`, declares a lone local
	// given a function before compiling it, so the function sees itself.
	if len(s.Names) == 1 && len(s.Exprs) == 1 {
		if _, ok := s.Exprs[0].(*ast.FunctionExpr); ok {
			sc.declare(s.Names[0], varKey{s, 0, s.Names[0]})
		}
	}
	w.exprs(sc, s.Exprs...)
	vals := make([]value, len(s.Names))
	for i := range s.Names {
		vals[i] = w.valueAt(s.Exprs, i, sc) // before the names shadow anything
	}
	for i, name := range s.Names {
		k := varKey{s, i, name}
		w.record(k, vals[i])
		sc.declare(name, k)
	}
}

func (w *walker) assign(s *ast.AssignStmt, sc *scope) {
	w.exprs(sc, s.Rhs...)
	for i, lhs := range s.Lhs {
		v := w.valueAt(s.Rhs, i, sc)
		switch l := lhs.(type) {
		case *ast.IdentExpr:
			w.record(sc.lookup(l.Value), v)
		case *ast.AttrGetExpr:
			w.exprs(sc, l.Object, l.Key)
			w.setField(l.Object, l.Key, v, sc)
		}
	}
}

func (w *walker) funcDef(s *ast.FuncDefStmt, sc *scope) {
	n := s.Name
	if n.Func == nil { // function obj:method() gets self
		w.expr(n.Receiver, sc)
		w.setField(n.Receiver, &ast.StringExpr{Value: n.Method}, value{}, sc)
		w.function(s.Func, sc, true)
		return
	}
	switch f := n.Func.(type) {
	case *ast.IdentExpr:
		w.record(sc.lookup(f.Value), value{})
	case *ast.AttrGetExpr:
		w.exprs(sc, f.Object, f.Key)
		w.setField(f.Object, f.Key, value{}, sc)
	}
	w.function(s.Func, sc, false)
}

func (w *walker) function(fe *ast.FunctionExpr, sc *scope, method bool) {
	inner := sc.child()
	if method {
		inner.declare("self", varKey{fe, -1, "self"})
	}
	for i, p := range fe.ParList.Names {
		inner.declare(p, varKey{fe, i, p})
	}
	outer := w.fn
	w.fn = fe
	w.block(fe.Stmts, inner)
	w.fn = outer
}

func (w *walker) exprs(sc *scope, es ...ast.Expr) {
	for _, e := range es {
		if e != nil {
			w.expr(e, sc)
		}
	}
}

func (w *walker) expr(e ast.Expr, sc *scope) {
	switch e := e.(type) {
	case *ast.IdentExpr:
		w.read(e, sc)
	case *ast.AttrGetExpr:
		w.exprs(sc, e.Object, e.Key)
		w.member(e, sc)
	case *ast.FuncCallExpr:
		w.call(e, sc)
	case *ast.FunctionExpr:
		w.function(e, sc, false)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			w.exprs(sc, f.Key, f.Value)
		}
	default:
		w.exprs(sc, operands(e)...)
	}
}

// operands are an operator's expressions.
func operands(e ast.Expr) []ast.Expr {
	switch e := e.(type) {
	case *ast.LogicalOpExpr:
		return []ast.Expr{e.Lhs, e.Rhs}
	case *ast.RelationalOpExpr:
		return []ast.Expr{e.Lhs, e.Rhs}
	case *ast.StringConcatOpExpr:
		return []ast.Expr{e.Lhs, e.Rhs}
	case *ast.ArithmeticOpExpr:
		return []ast.Expr{e.Lhs, e.Rhs}
	case *ast.UnaryMinusOpExpr:
		return []ast.Expr{e.Expr}
	case *ast.UnaryNotOpExpr:
		return []ast.Expr{e.Expr}
	case *ast.UnaryLenOpExpr:
		return []ast.Expr{e.Expr}
	}
	return nil
}

func (w *walker) call(e *ast.FuncCallExpr, sc *scope) {
	args := e.Args
	if e.Func != nil {
		w.expr(e.Func, sc)
	} else { // obj:method(...) passes obj first
		w.expr(e.Receiver, sc)
		w.method(e, sc)
		args = append([]ast.Expr{e.Receiver}, e.Args...)
	}
	w.exprs(sc, e.Args...)
	if !w.report {
		return
	}
	if mod, fn := w.callee(e, sc); mod != nil {
		w.options(e, mod, fn, args)
	}
	if name, ok := w.requireName(e, sc); ok && w.realGlobal("require", sc) {
		w.checkRequire(name, e.Line())
	}
	w.checkSetmetatable(e, sc)
}

// checkSetmetatable reports setmetatable on a literal that is not a table:
// the sandbox refuses it when it runs (a type's metatable is the VM's).
func (w *walker) checkSetmetatable(e *ast.FuncCallExpr, sc *scope) {
	id, ok := e.Func.(*ast.IdentExpr)
	if !ok || id.Value != "setmetatable" || !w.realGlobal("setmetatable", sc) || len(e.Args) == 0 {
		return
	}
	if typ := literalType(e.Args[0]); typ != "" && typ != "table" {
		w.errorf(e.Line(), "setmetatable on a %s: only a table can take a metatable", typ)
	}
}
