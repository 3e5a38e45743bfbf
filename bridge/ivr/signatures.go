package ivr

import "github.com/ivrouter/ivrouter/luavm"

// layerTypes: layers come as numbers or numeric strings (a CRM that stores
// them as text), as checkLayer accepts.
var layerTypes = []string{"number", "string"}

// textTypes: checkText and checkPhone take numbers as well as strings.
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
		}},
		"dial": {OptionsArg: 2, Action: true, Options: []luavm.Option{
			{Name: "caller_id", Types: textTypes},
			{Name: "caller_name", Types: textTypes},
			{Name: "max_call_duration", Types: []string{"number"}},
			{Name: "max_dial_duration", Types: []string{"number"}},
			{Name: "next_vo_id", Types: layerTypes},
			{Name: "recording", Types: []string{"boolean"}},
			{Name: "custom_data", Types: []string{"table"}},
		}},
		"error": {Action: true},
	}
}
