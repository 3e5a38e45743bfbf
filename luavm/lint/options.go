package lint

import (
	"slices"
	"strconv"
	"strings"

	"github.com/ivrouter/ivrouter/luavm"
	"github.com/yuin/gopher-lua/ast"
)

// options checks the options table a call gives a module function whose
// Signature has one. Only what the source spells out is checked: a table
// built elsewhere may hold anything.
func (w *walker) options(e *ast.FuncCallExpr, mod *module, fn string, args []ast.Expr) {
	sig, ok := mod.sigs[fn]
	if !ok {
		return
	}
	full := mod.name + "." + fn
	w.args(full, sig, args)
	if sig.OptionsArg <= 0 {
		return
	}
	n := sig.OptionsArg
	if len(args) < n {
		if !multi(args) { // a last call or ... may supply the table
			w.missing(full, sig, nil, e.Line())
		}
		return
	}
	switch arg := args[n-1]; literalType(arg) {
	case "table":
		w.optionTable(full, sig, arg.(*ast.TableExpr))
	case "nil":
		w.missing(full, sig, nil, arg.Line())
	case "":
	default:
		w.errorf(arg.Line(), "%s: options must be a table, got %s", full, describeType(literalType(arg)))
	}
}

// multi says the last argument may expand to several values.
func multi(args []ast.Expr) bool {
	if len(args) == 0 {
		return false
	}
	switch e := args[len(args)-1].(type) {
	case *ast.FuncCallExpr:
		return !e.AdjustRet
	case *ast.Comma3Expr:
		return !e.AdjustRet
	}
	return false
}

func (w *walker) optionTable(full string, sig luavm.Signature, t *ast.TableExpr) {
	given := map[string]bool{}
	computed := false // a [key] = v the source does not spell out
	for _, f := range t.Fields {
		if f.Key == nil {
			w.positional(full, f.Value)
			continue
		}
		k, ok := f.Key.(*ast.StringExpr)
		if !ok {
			computed = true
			continue
		}
		if w.option(full, sig, k, f.Value) {
			given[k.Value] = true
		}
	}
	if !computed {
		w.missing(full, sig, given, t.Line())
	}
}

// option checks one name = value of an options table, and says whether
// it gives the option a value.
func (w *walker) option(full string, sig luavm.Signature, k *ast.StringExpr, v ast.Expr) bool {
	i := slices.IndexFunc(sig.Options, func(o luavm.Option) bool { return o.Name == k.Value })
	if i < 0 {
		w.unknownOption(full, sig, k)
		return false
	}
	o := sig.Options[i]
	typ := literalType(v)
	if typ == "nil" {
		return false // {x = nil} has no x
	}
	if typ != "" && len(o.Types) > 0 && !slices.Contains(o.Types, typ) {
		w.errorf(lineOf(v, k), "%s: option %s must be %s, got %s", full, o.Name, describeType(orList(o.Types)), describeType(typ))
		return true
	}
	w.checkLiteral(full, o.Check, v)
	return true
}

// checkLiteral gives a literal value, or each literal of a list
// constructor ({"israel", "holidays"}), to a module's own check, so a value
// the module would refuse at run time (an unknown zone, a bad range) is
// found before a call meets it.
func (w *walker) checkLiteral(full string, check func(any) error, e ast.Expr) {
	if check == nil {
		return
	}
	if t, ok := e.(*ast.TableExpr); ok {
		for _, f := range t.Fields {
			if f.Key == nil {
				w.checkLiteral(full, check, f.Value)
			}
		}
		return
	}
	v, ok := literalValue(e)
	if !ok {
		return
	}
	if err := check(v); err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, full+":") {
			msg = full + ": " + msg
		}
		w.errorf(e.Line(), "%s", msg)
	}
}

// args checks a call's literal positional arguments with the module's
// checks (Signature.Args).
func (w *walker) args(full string, sig luavm.Signature, args []ast.Expr) {
	for i, a := range sig.Args {
		if i < len(args) {
			w.checkLiteral(full, a.Check, args[i])
		}
	}
}

// literalValue is e's value when the source spells it out: a string, a
// number (float64) or a boolean.
func literalValue(e ast.Expr) (any, bool) {
	switch e := e.(type) {
	case *ast.StringExpr:
		return e.Value, true
	case *ast.TrueExpr:
		return true, true
	case *ast.FalseExpr:
		return false, true
	case *ast.NumberExpr:
		n, ok := parseNumber(e.Value)
		return n, ok
	case *ast.UnaryMinusOpExpr:
		if v, ok := literalValue(e.Expr); ok {
			if n, isNum := v.(float64); isNum {
				return -n, true
			}
		}
	}
	return nil, false
}

func parseNumber(s string) (float64, bool) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return n, true
	}
	if n, err := strconv.ParseInt(s, 0, 64); err == nil {
		return float64(n), true
	}
	return 0, false
}

func (w *walker) unknownOption(full string, sig luavm.Signature, k *ast.StringExpr) {
	var names []string
	for _, o := range sig.Options {
		names = append(names, o.Name)
	}
	if s := Closest(k.Value, names); s != "" {
		w.errorf(k.Line(), "%s: unknown option %q (did you mean %q?)", full, k.Value, s)
		return
	}
	w.errorf(k.Line(), "%s: unknown option %q (options: %s)", full, k.Value, strings.Join(names, ", "))
}

// positional reports {5} given as options: the module reads names, and
// gets the key 1. A nil, a call or ... may add nothing, so they pass.
func (w *walker) positional(full string, v ast.Expr) {
	if typ := literalType(v); typ != "" && typ != "nil" {
		w.errorf(v.Line(), "%s: options are name = value pairs, got %s without a name", full, describeType(typ))
	}
}

// missing reports the required options not given.
func (w *walker) missing(full string, sig luavm.Signature, given map[string]bool, line int) {
	for _, o := range sig.Options {
		if o.Required && !given[o.Name] {
			w.errorf(line, "%s: option %s is required", full, o.Name)
		}
	}
}

// literalType is the Lua type e certainly has, or "" when only running it
// could tell. Comparisons and not always give booleans, whatever their
// operands' metatables do.
func literalType(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StringExpr:
		return "string"
	case *ast.NumberExpr:
		return "number"
	case *ast.TrueExpr, *ast.FalseExpr, *ast.RelationalOpExpr, *ast.UnaryNotOpExpr:
		return "boolean"
	case *ast.NilExpr:
		return "nil"
	case *ast.TableExpr:
		return "table"
	case *ast.FunctionExpr:
		return "function"
	case *ast.UnaryMinusOpExpr:
		if literalType(e.Expr) == "number" {
			return "number"
		}
	}
	return ""
}
