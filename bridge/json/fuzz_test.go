package json_test

import (
	"encoding/json"
	"reflect"
	"testing"

	bjson "github.com/ivrouter/ivrouter/bridge/json"
	lua "github.com/yuin/gopher-lua"
)

// FuzzRoundTrip sends JSON through Lua and back: json.decode (Go to Lua
// tables, luavm.ToLua), json.encode (Lua to Go, luavm.ToGo) and a second
// decode. Nothing may panic, and whatever decodes once must encode and
// decode to the same plain data.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{
		`{"name":"Dana","rep":{"layer":21,"tags":["a","b"]},"vip":true,"note":null}`,
		`[]`, `{}`, `[[],{},[null]]`, `"\u05e9\u05dc\u05d5\u05dd"`, `1e308`, `-0`, `123456789012345678901234567890`,
		`{"1":"a","2":"b"}`, `[1,2,null,4]`, `{"":""}`, `"\ud800"`, `[[[[[[[[[[1]]]]]]]]]]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		L := lua.NewState()
		defer L.Close()
		L.PreloadModule("json", bjson.New().Loader)
		L.SetGlobal("input", lua.LString(in))
		err := L.DoString(`
local json = require("json")
local v, err = json.decode(input)
if v == nil and err then return end
once = json.encode(v)
local again = json.decode(once)
twice = json.encode(again)
`)
		if err != nil {
			// json.encode may refuse what decode accepted only for a
			// reason it names (a number JSON cannot carry, say); a Go
			// panic is never one.
			if ae, ok := err.(*lua.ApiError); ok && ae.Type == lua.ApiErrorPanic {
				t.Fatalf("panic on %q: %v", in, err)
			}
			return
		}
		once, twice := L.GetGlobal("once"), L.GetGlobal("twice")
		if once == lua.LNil {
			return
		}
		if once.String() != twice.String() {
			t.Fatalf("%q: encode(decode(encode(x))) = %s, encode(x) = %s", in, twice, once)
		}
		var a, b any
		if json.Unmarshal([]byte(once.String()), &a) != nil || json.Unmarshal([]byte(twice.String()), &b) != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("%q: not valid or not the same JSON: %s / %s", in, once, twice)
		}
	})
}
