package lint

import (
	"slices"

	"github.com/yuin/gopher-lua/ast"
)

// maxHops bounds following names to the handler (local h = g; return h).
const maxHops = 8

// handlerOf finds the function a route script returns as its handler: the
// function it returns, its returned table's handle, or what a name either
// stands for when the top level defines it. nil when only running the
// script could tell, and then its returns are not checked.
func handlerOf(chunk []ast.Stmt) *ast.FunctionExpr {
	if len(chunk) == 0 {
		return nil
	}
	ret, ok := chunk[len(chunk)-1].(*ast.ReturnStmt)
	if !ok || len(ret.Exprs) == 0 {
		return nil
	}
	return resolveHandler(chunk[:len(chunk)-1], ret.Exprs[0], 0)
}

// resolveHandler follows e through the top-level statements defs, which
// run before it.
func resolveHandler(defs []ast.Stmt, e ast.Expr, hops int) *ast.FunctionExpr {
	if hops > maxHops {
		return nil
	}
	switch e := e.(type) {
	case *ast.FunctionExpr:
		return e
	case *ast.TableExpr:
		return resolveHandler(defs, field(e, "handle"), hops+1)
	case *ast.IdentExpr:
		def, at := lastDef(defs, e.Value)
		if at < 0 {
			return nil
		}
		// A table's handle may be set after the table is built:
		// local M = {} ... function M.handle(call) ... end; return M
		if h, j := lastFieldDef(defs[at+1:], e.Value, "handle"); j >= 0 {
			return resolveHandler(defs[:at+1+j], h, hops+1)
		}
		return resolveHandler(defs[:at], def, hops+1)
	}
	return nil
}

// field is the value of a table constructor's key.
func field(t *ast.TableExpr, key string) ast.Expr {
	var v ast.Expr
	for _, f := range t.Fields {
		if k, ok := f.Key.(*ast.StringExpr); ok && k.Value == key {
			v = f.Value
		}
	}
	return v
}

// lastDef is what the last of defs to define name gives it, and where.
func lastDef(defs []ast.Stmt, name string) (ast.Expr, int) {
	for i := len(defs) - 1; i >= 0; i-- {
		switch s := defs[i].(type) {
		case *ast.LocalAssignStmt:
			if j := slices.Index(s.Names, name); j >= 0 {
				return at(s.Exprs, j), i
			}
		case *ast.AssignStmt:
			if j := slices.IndexFunc(s.Lhs, isIdent(name)); j >= 0 {
				return at(s.Rhs, j), i
			}
		case *ast.FuncDefStmt:
			if isIdent(name)(s.Name.Func) {
				return s.Func, i
			}
		}
	}
	return nil, -1
}

// lastFieldDef is what the last of defs to set name.key gives it, and where.
func lastFieldDef(defs []ast.Stmt, name, key string) (ast.Expr, int) {
	for i := len(defs) - 1; i >= 0; i-- {
		switch s := defs[i].(type) {
		case *ast.AssignStmt:
			if j := slices.IndexFunc(s.Lhs, isField(name, key)); j >= 0 {
				return at(s.Rhs, j), i
			}
		case *ast.FuncDefStmt:
			if isField(name, key)(s.Name.Func) {
				return s.Func, i
			}
		}
	}
	return nil, -1
}

func at(exprs []ast.Expr, i int) ast.Expr {
	if i < len(exprs) {
		return exprs[i]
	}
	return nil
}

func isIdent(name string) func(ast.Expr) bool {
	return func(e ast.Expr) bool {
		id, ok := e.(*ast.IdentExpr)
		return ok && id.Value == name
	}
}

func isField(name, key string) func(ast.Expr) bool {
	return func(e ast.Expr) bool {
		a, ok := e.(*ast.AttrGetExpr)
		if !ok || !isIdent(name)(a.Object) {
			return false
		}
		k, ok := a.Key.(*ast.StringExpr)
		return ok && k.Value == key
	}
}

// checkReturn reports a handler's return that certainly is no action: a
// literal, nothing, or the value of a module function that module does
// not list as building one.
func (w *walker) checkReturn(s *ast.ReturnStmt, sc *scope) {
	if !w.report || w.handler == nil || w.fn != w.handler {
		return
	}
	want := "want an action"
	if w.c.actionNames != "" {
		want += " from " + w.c.actionNames
	}
	if len(s.Exprs) == 0 {
		w.errorf(s.Line(), "handler returns nothing, %s", want)
		return
	}
	e := s.Exprs[0]
	if typ := literalType(e); typ != "" {
		w.errorf(e.Line(), "handler returns %s, %s", describeType(typ), want)
		return
	}
	call, ok := e.(*ast.FuncCallExpr)
	if !ok {
		return
	}
	mod, fn := w.callee(call, sc)
	if mod != nil && mod.actions && !mod.sigs[fn].Action && (mod.members == nil || mod.members[fn]) {
		w.errorf(call.Line(), "handler returns the value of %s.%s, which is not an action; %s", mod.name, fn, want)
	}
}

// noteRaise remembers calls that never return, for terminates.
func (w *walker) noteRaise(s *ast.FuncCallStmt, sc *scope) {
	call, ok := s.Expr.(*ast.FuncCallExpr)
	if !ok || !w.report {
		return
	}
	id, ok := call.Func.(*ast.IdentExpr)
	if !ok || !w.realGlobal(id.Value, sc) {
		return
	}
	switch id.Value {
	case "error":
		w.raises[s] = true
	case "assert":
		w.raises[s] = len(call.Args) == 0 || isFalse(call.Args[0])
	}
}

// terminates says a block cannot run off its end. Where that is not
// decidable (a goto) it says it cannot, so a warning is always founded.
func (w *walker) terminates(stmts []ast.Stmt) bool {
	return slices.ContainsFunc(stmts, w.ends)
}

func (w *walker) ends(s ast.Stmt) bool {
	switch s := s.(type) {
	case *ast.ReturnStmt, *ast.GotoStmt:
		return true
	case *ast.FuncCallStmt:
		return w.raises[s]
	case *ast.IfStmt:
		return len(s.Else) > 0 && w.terminates(s.Then) && w.terminates(s.Else)
	case *ast.DoBlockStmt:
		return w.terminates(s.Stmts)
	case *ast.WhileStmt:
		return isTrue(s.Condition) && !breaks(s.Stmts)
	case *ast.RepeatStmt:
		// The body runs at least once.
		return (isFalse(s.Condition) || w.terminates(s.Stmts)) && !breaks(s.Stmts)
	}
	return false // other loops may run no time at all
}

// breaks says a loop body can break out of its loop: breaks in loops
// inside it are theirs.
func breaks(stmts []ast.Stmt) bool {
	return slices.ContainsFunc(stmts, func(s ast.Stmt) bool {
		switch s := s.(type) {
		case *ast.BreakStmt:
			return true
		case *ast.IfStmt:
			return breaks(s.Then) || breaks(s.Else)
		case *ast.DoBlockStmt:
			return breaks(s.Stmts)
		}
		return false
	})
}

func isTrue(e ast.Expr) bool {
	switch e.(type) {
	case *ast.TrueExpr, *ast.NumberExpr, *ast.StringExpr, *ast.TableExpr, *ast.FunctionExpr:
		return true
	}
	return false
}

func isFalse(e ast.Expr) bool {
	switch e.(type) {
	case *ast.FalseExpr, *ast.NilExpr:
		return true
	}
	return false
}
