package luavm_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/luavm"
	lua "github.com/yuin/gopher-lua"
)

// budgetModule's budget() is luavm.Budget in whole milliseconds, or -1
// outside a call.
var budgetModule = luavm.Module{Name: "budget", Loader: func(L *lua.LState) int {
	m := L.NewTable()
	m.RawSetString("budget", L.NewFunction(func(L *lua.LState) int {
		d, ok := luavm.Budget(L)
		if !ok {
			L.Push(lua.LNumber(-1))
			return 1
		}
		L.Push(lua.LNumber(d.Milliseconds()))
		return 1
	}))
	L.Push(m)
	return 1
}}

// Budget is the call's time left less a reserve: by default a tenth of it,
// at most 50 ms; Options.Reserve replaces that. The bounds below leave a
// second for the call to reach the module on a loaded machine.
func TestBudgetKeepsTheReserveBack(t *testing.T) {
	files := map[string]string{
		"b.lua": `local b = require("budget") return { deadline = 4000, handle = function() return tostring(b.budget()) end }`,
	}
	for _, tc := range []struct {
		reserve time.Duration
		max     int
	}{
		{0, 3950},
		{2 * time.Second, 2000},
		{5 * time.Second, -1000}, // more than the deadline: no time for modules
	} {
		e := newEngine(t, files, luavm.Options{VMs: 1, Reserve: tc.reserve, Modules: []luavm.Module{budgetModule}})
		got, err := strconv.Atoi(mustCall(t, e, "b", 0, "x"))
		if err != nil || got > tc.max || got <= tc.max-1000 {
			t.Errorf("reserve %v: budget %d ms (%v), want (%d, %d]", tc.reserve, got, err, tc.max-1000, tc.max)
		}
	}
	L := lua.NewState()
	defer L.Close()
	if d, ok := luavm.Budget(L); ok {
		t.Errorf("outside a call: budget %v, ok", d)
	}
}
