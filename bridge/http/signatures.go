package http

import "github.com/ivrouter/ivrouter/luavm"

// requestOptions are the keys of every request's options table, as do
// reads them.
var requestOptions = []luavm.Option{
	{Name: "headers", Types: []string{"table"}},
	{Name: "query", Types: []string{"table"}},
	{Name: "json"},
	{Name: "body", Types: []string{"string"}},
	{Name: "timeout", Types: []string{"number"}},
}

// Signatures describe the module's functions for ivrouter check, so a
// misspelled option (timout = 500) is found before a call runs it.
func Signatures() map[string]luavm.Signature {
	return map[string]luavm.Signature{
		"get":     {OptionsArg: 2, Options: requestOptions},
		"post":    {OptionsArg: 2, Options: requestOptions},
		"request": {OptionsArg: 3, Options: requestOptions},
	}
}
