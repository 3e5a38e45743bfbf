package ivr

import (
	"errors"

	"github.com/ivrouter/ivrouter/luavm"
	lua "github.com/yuin/gopher-lua"
)

// layerTypes: layers come as numbers or numeric strings (a CRM that stores
// them as text), as checkLayer accepts.
var layerTypes = []string{"number", "string"}

// textTypes: checkText takes numbers as well as strings. Phone numbers
// take strings only (phoneProblem).
var textTypes = []string{"string", "number"}

// Signatures describe the builders for ivrouter check, which reads scripts
// without running them: a misspelled option, a SAY without next_layer or a
// handler returning something no builder made is found before a call
// reaches it. signatures_test.go runs the builders against this table, so
// the two cannot drift apart.
func Signatures() map[string]luavm.Signature {
	return map[string]luavm.Signature{
		"go_to_layer": {OptionsArg: 2, Action: true, Options: []luavm.Option{
			{Name: "caller_name", Types: textTypes},
			{Name: "custom_data", Types: []string{"table"}},
		}},
		"say": {OptionsArg: 2, Action: true, Options: []luavm.Option{
			{Name: "next_layer", Types: layerTypes, Required: true},
			{Name: "next_layer_if_failed", Types: layerTypes},
			{Name: "language", Types: []string{"string"}},
			{Name: "custom_data", Types: []string{"table"}},
		}},
		"dial": {OptionsArg: 2, Action: true, Options: []luavm.Option{
			{Name: "caller_id", Types: []string{"string"}, Check: literal(func(v lua.LValue) (string, string) {
				return phoneProblem("caller_id", v)
			})},
			{Name: "caller_name", Types: textTypes},
			{Name: "max_call_duration", Types: []string{"number"}},
			{Name: "max_dial_duration", Types: []string{"number"}},
			{Name: "next_vo_id", Types: layerTypes},
			{Name: "recording", Types: []string{"boolean"}},
			{Name: "custom_data", Types: []string{"table"}},
		}},
		"error": {Action: true},
		// A literal ivr.phone(0501234567) has lost its zero already.
		"phone": {Args: []luavm.Arg{{Check: literal(func(v lua.LValue) (string, string) {
			return phoneProblem("number", v)
		})}}},
		"digits": {Args: []luavm.Arg{{Check: literal(checkDigits)}}},
	}
}

// literal turns a builder's own check into one of a literal argument, so
// ivrouter check and a call refuse the same values with the same words.
func literal(check func(lua.LValue) (string, string)) func(any) error {
	return func(v any) error {
		if _, problem := check(luavm.LiteralValue(v)); problem != "" {
			return errors.New(problem)
		}
		return nil
	}
}
