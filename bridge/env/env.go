// Package env is the "env" Lua module: configuration the operator hands to
// scripts (a CRM's base URL, its API token) by name, so secrets live in the
// server's environment instead of in scripts kept in git.
//
// Only allowlisted names can be read, and the module never reads the
// process environment itself: the server decides what scripts see.
package env

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Module is the "env" Lua module.
//
//	local env = require("env")
//	local http = require("http")
//	local base = env.get("CRM_URL", "https://crm.example.com")
//	return function(call)
//	  local res, err = http.get(base .. "/contacts", {
//	    headers = {Authorization = "Bearer " .. env.get("CRM_TOKEN")},
//	    query = {phone = call.caller_id},
//	  })
//	  ...
//	end
//
// env.get(name) returns the value as a string, or nil when the name is
// allowed but unset or empty; env.get(name, default) returns default
// instead of nil. Reading a name that is not allowed raises an error
// listing the allowed ones, so a misspelled name fails on its first run
// instead of reading as unset for ever.
type Module struct {
	vals    map[string]string
	allowed string // the names, sorted, for error messages
}

// New returns the module serving allowed: each allowlisted name and its
// value, "" for unset. The map is copied, so changing it later changes
// nothing scripts see.
func New(allowed map[string]string) *Module {
	names := slices.Sorted(maps.Keys(allowed))
	list := strings.Join(names, ", ")
	if list == "" {
		list = "none"
	}
	return &Module{vals: maps.Clone(allowed), allowed: list}
}

// Loader builds the module table in L; it has the lua.LGFunction shape so it
// can be preloaded or required.
func (m *Module) Loader(L *lua.LState) int {
	t := L.CreateTable(0, 1)
	t.RawSetString("get", L.NewFunction(m.get))
	L.Push(t)
	return 1
}

// env.get(name [, default])
func (m *Module) get(L *lua.LState) int {
	const fn = "env.get"
	name, ok := L.Get(1).(lua.LString)
	if !ok {
		L.RaiseError("%s: name must be a string, got %s", fn, L.Get(1).Type())
	}
	v, ok := m.vals[string(name)]
	if !ok {
		// The message names what is allowed, never a value: it goes to
		// logs.
		L.RaiseError("%s: %s is not allowed (allowed: %s)", fn, show(string(name)), m.allowed)
	}
	if v == "" {
		// An empty variable is how a shell unsets one in a unit file or
		// compose file; treating both alike lets `or` and default work.
		L.Push(L.Get(2))
		return 1
	}
	L.Push(lua.LString(v))
	return 1
}

// show writes a name as the operator would, and quoted when it is not a
// plain variable name, so a stray space or newline is visible.
func show(name string) string {
	plain := name != "" && len(name) <= 128
	for i := 0; plain && i < len(name); i++ {
		c := name[i]
		plain = c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
	}
	if plain {
		return name
	}
	if len(name) > 128 {
		name = name[:128] + "..."
	}
	return strconv.Quote(name)
}
