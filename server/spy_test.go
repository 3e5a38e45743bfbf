package server

import (
	"sync/atomic"

	"github.com/ivrouter/ivrouter/luavm"
	lua "github.com/yuin/gopher-lua"
)

// spyModule lets tests see whether a script ran, and make Go code panic.
func spyModule(runs *atomic.Int64) []luavm.Module {
	return []luavm.Module{{Name: "spy", Loader: func(L *lua.LState) int {
		t := L.NewTable()
		t.RawSetString("ran", L.NewFunction(func(L *lua.LState) int { runs.Add(1); return 0 }))
		t.RawSetString("panic", L.NewFunction(func(L *lua.LState) int { panic("spy panics") }))
		L.Push(t)
		return 1
	}}}
}
