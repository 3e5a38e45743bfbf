// Package json is the "json" Lua module: CRM answers in, request bodies and
// logs out, as the plain data luavm.ToGo and luavm.ToLua convert.
//
// JSON null and empty arrays survive a round trip through Lua, where nil
// cannot be a table value and {} could be either an array or an object: null
// is the VM's luavm.Null, and arrays are tables marked with luavm.Array.
// Bad JSON makes decode return nil, err, so a CRM sending garbage costs the
// script one branch, not the call.
package json

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"

	"github.com/ivrouter/ivrouter/luavm"
	lua "github.com/yuin/gopher-lua"
)

// Limits on what json.decode accepts.
const (
	// MaxInput bounds the text decode takes, so one CRM answer cannot fill
	// a VM with tables for the rest of the call's deadline.
	MaxInput = 8 << 20
	// MaxDepth bounds nesting of arrays and objects. It is the depth
	// luavm.ToGo accepts, so whatever decode returns, encode can encode.
	MaxDepth = 64
)

// Module is the "json" Lua module.
//
//	local json = require("json")
//	local contact, err = json.decode(res.body)   -- nil, err on bad JSON
//	if not contact then return ivr.go_to_layer(SALES) end
//	if contact.vip_until ~= json.null then ... end
//	local body = json.encode({phone = call.caller_id, tags = json.array()})
//	-- {"phone":"0501234567","tags":[]}
//
// json.encode raises a Lua error naming where the value is not plain data
// (a function, a table holding itself, NaN, a list with named keys); objects
// are encoded with sorted keys, and <, > and & are left as they are.
type Module struct{}

// New returns the module. It has no options: JSON is JSON for every script.
func New() *Module { return &Module{} }

// Loader builds the module table in L; it has the lua.LGFunction shape so it
// can be preloaded or required.
func (m *Module) Loader(L *lua.LState) int {
	t := L.CreateTable(0, 4)
	t.RawSetString("encode", L.NewFunction(m.encode))
	t.RawSetString("decode", L.NewFunction(m.decode))
	t.RawSetString("array", L.NewFunction(m.array))
	// The same value decode puts in tables, so t.x == json.null works.
	t.RawSetString("null", luavm.Null(L))
	L.Push(t)
	return 1
}

// json.encode(v) → string
func (m *Module) encode(L *lua.LState) int {
	const fn = "json.encode"
	if L.GetTop() == 0 {
		// json.encode(nil) is "null", but no argument at all is a typo.
		L.RaiseError("%s: want a value to encode", fn)
	}
	v, err := luavm.ToGo(L, L.Get(1))
	if err != nil {
		L.RaiseError("%s: %v", fn, err)
	}
	b, err := Marshal(v)
	if err != nil {
		// ToGo only lets through what encoding/json can write; this is a
		// guard, not a path scripts can take.
		L.RaiseError("%s: %v", fn, err)
	}
	L.Push(lua.LString(b))
	return 1
}

// Marshal writes plain data as compact JSON. encoding/json already writes
// float64 integers below 1e21 without a point or exponent and other numbers
// in their shortest form; only HTML escaping is turned off, because CRMs and
// people read these bodies, not browsers.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := stdjson.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// json.decode(s) → value, or nil, err
func (m *Module) decode(L *lua.LState) int {
	s, ok := L.Get(1).(lua.LString)
	if !ok {
		// Raised, not returned: passing a non-string is a bug in the script,
		// not bad data from outside.
		L.RaiseError("json.decode: want a string of JSON, got %s", L.Get(1).Type())
	}
	v, err := unmarshal(string(s))
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	if v == nil {
		// ToLua keeps nil for a bare value; a script must be able to tell
		// the JSON text "null" from a failure.
		L.Push(luavm.Null(L))
		return 1
	}
	L.Push(luavm.ToLua(L, v))
	return 1
}

// unmarshal parses s into plain data, within MaxInput and MaxDepth.
func unmarshal(s string) (any, error) {
	if len(s) > MaxInput {
		return nil, fmt.Errorf("JSON is %d bytes, over the %d MiB limit", len(s), MaxInput>>20)
	}
	// Checked before parsing: encoding/json accepts 10000 levels, and what
	// it built would only fail later, in encode or the cache.
	if tooDeep(s, MaxDepth) {
		return nil, fmt.Errorf("JSON nested deeper than %d", MaxDepth)
	}
	var v any
	if err := stdjson.Unmarshal([]byte(s), &v); err != nil {
		var syn *stdjson.SyntaxError
		if errors.As(err, &syn) {
			// encoding/json's message says what, not where; a CRM's bad
			// body is found faster with the offset.
			return nil, fmt.Errorf("%s at byte %d", syn, syn.Offset)
		}
		return nil, err
	}
	return v, nil
}

// tooDeep reports whether s nests arrays and objects deeper than limit. It
// only counts brackets outside strings: malformed JSON is left for the
// parser to reject with a better message.
func tooDeep(s string, limit int) bool {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			if depth++; depth > limit {
				return true
			}
		case ']', '}':
			depth--
		}
	}
	return false
}

// json.array([t]) → t, marked as a list
func (m *Module) array(L *lua.LState) int {
	const fn = "json.array"
	if L.GetTop() == 0 {
		L.Push(luavm.Array(L, L.NewTable()))
		return 1
	}
	t, ok := L.Get(1).(*lua.LTable)
	if !ok {
		L.RaiseError("%s: want a table, got %s", fn, L.Get(1).Type())
	}
	// Marking replaces the metatable. A table with one of its own may be a
	// read-only view the sandbox shares between calls (string, a module):
	// replacing it would unlock it for every later call of the VM.
	if t.Metatable != lua.LNil && !luavm.IsArray(L, t) {
		L.RaiseError("%s: the table has a metatable of its own, which marking it would replace", fn)
	}
	L.Push(luavm.Array(L, t))
	return 1
}
