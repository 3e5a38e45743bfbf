// Package state is the "state" Lua module: what a script remembers about
// one call across the layers it passes through, keyed by the call's
// IVR_UNIQUE_ID (the same on every layer of a call).
package state

import (
	"sync"
	"time"

	"github.com/ivrouter/ivrouter/bridge/cache"
	"github.com/ivrouter/ivrouter/luavm"
	lua "github.com/yuin/gopher-lua"
)

// Options configure the module.
type Options struct {
	// Store holds each call's state; nil means a bounded in-memory store.
	Store cache.Store
	// TTL is how long a call's state lives after its last write (default
	// 1 h: longer than any call).
	TTL time.Duration
	// MaxCalls bounds the default store (default 100000 calls).
	MaxCalls int
	// Now is the clock state expires by (default time.Now).
	Now func() time.Time
}

// Defaults for zero Options fields.
const (
	DefaultTTL      = time.Hour
	DefaultMaxCalls = 100000
)

// Module is the "state" Lua module.
//
//	local state = require("state")
//	return function(call)
//	  if valid_id(call.dtmf) then return ivr.go_to_layer(12) end
//	  if state.incr("bad_ids") >= 3 then     -- three wrong IDs: an agent
//	    return ivr.go_to_layer(20)
//	  end
//	  return ivr.go_to_layer(13)             -- ask again
//	end
//
// state.get(key) returns the value or nil; state.set(key, value) stores
// plain data (nil removes the key); state.incr(key [, n]) adds n (default 1)
// to a number starting from 0 and returns the new value. Each call has its
// own state; it expires TTL after the call's last write.
type Module struct {
	store cache.Store
	ttl   time.Duration
	now   func() time.Time
	mu    sync.Mutex // read-modify-write of one call's map
}

// New returns the module.
func New(o Options) *Module {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.MaxCalls <= 0 {
		o.MaxCalls = DefaultMaxCalls
	}
	if o.Store == nil {
		o.Store = cache.NewMemoryStore(o.MaxCalls, 0)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Module{store: o.Store, ttl: o.TTL, now: o.Now}
}

// Loader builds the module table in L.
func (m *Module) Loader(L *lua.LState) int {
	t := L.CreateTable(0, 3)
	t.RawSetString("get", L.NewFunction(m.get))
	t.RawSetString("set", L.NewFunction(m.set))
	t.RawSetString("incr", L.NewFunction(m.incr))
	L.Push(t)
	return 1
}

func (m *Module) get(L *lua.LState) int {
	id, key := callID(L, "state.get"), checkKey(L, "state.get")
	vals := m.load(id)
	L.Push(luavm.ToLua(L, vals[key]))
	return 1
}

func (m *Module) set(L *lua.LState) int {
	const fn = "state.set"
	id, key := callID(L, fn), checkKey(L, fn)
	val, err := luavm.ToGo(L, L.Get(2))
	if err != nil {
		L.RaiseError("%s: value cannot be kept: %v", fn, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	vals := copyVals(m.load(id))
	if val == nil {
		delete(vals, key)
	} else {
		vals[key] = val
	}
	return m.save(L, id, vals, lua.LTrue)
}

func (m *Module) incr(L *lua.LState) int {
	const fn = "state.incr"
	id, key := callID(L, fn), checkKey(L, fn)
	n := L.OptNumber(2, 1)
	m.mu.Lock()
	defer m.mu.Unlock()
	vals := copyVals(m.load(id))
	cur, ok := vals[key].(float64)
	if vals[key] != nil && !ok {
		L.RaiseError("%s: %s holds a %T, not a number", fn, key, vals[key])
	}
	cur += float64(n)
	vals[key] = cur
	return m.save(L, id, vals, lua.LNumber(cur))
}

func (m *Module) load(id string) map[string]any {
	e, ok := m.store.Get(id)
	if !ok || !m.now().Before(e.Expires) {
		return nil
	}
	vals, _ := e.Value.(map[string]any)
	return vals
}

// save stores a new map: stored values are never changed in place, since
// another VM may be reading them.
func (m *Module) save(L *lua.LState, id string, vals map[string]any, ret lua.LValue) int {
	if err := m.store.Set(id, cache.Entry{Value: vals, Expires: m.now().Add(m.ttl)}); err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	L.Push(ret)
	return 1
}

func copyVals(vals map[string]any) map[string]any {
	out := make(map[string]any, len(vals)+1)
	for k, v := range vals {
		out[k] = v
	}
	return out
}

func callID(L *lua.LState, fn string) string {
	c := luavm.CallOf(L)
	if c == nil {
		L.RaiseError("%s: state belongs to a call: use it inside the handler", fn)
	}
	if c.ID() == "" {
		L.RaiseError("%s: the request has no IVR_UNIQUE_ID to keep state under", fn)
	}
	return c.ID()
}

func checkKey(L *lua.LState, fn string) string {
	k, ok := L.Get(1).(lua.LString)
	if !ok || len(k) == 0 || len(k) > 256 {
		L.RaiseError("%s: key must be a string of 1 to 256 bytes, got %s", fn, L.Get(1).Type())
	}
	return string(k)
}
