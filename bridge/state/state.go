// Package state is the "state" Lua module: what a script remembers about
// one call across the layers it passes through, keyed by the call's
// IVR_UNIQUE_ID (the same on every layer of a call).
package state

import (
	"errors"
	"fmt"
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
	// Shared, when set, holds each call's state instead of Store: a store
	// several instances share (bridge/redisstore), each operation atomic
	// on its own, so a call's layers may land on any instance.
	Shared Shared
	// TTL is how long a call's state lives after its last write (default
	// 1 h: longer than any call).
	TTL time.Duration
	// MaxCalls bounds the default store (default 100000 calls).
	MaxCalls int
	// MaxBytes bounds the bytes the default store holds for all calls
	// (default 32 MiB): each call's state, its ID and cache.EntryOverhead.
	// At the bound, a call without state yet cannot start one and a call's
	// state cannot grow: state.set and state.incr return nil, "state full".
	// A Store given in Store keeps its own bounds.
	MaxBytes int
	// MaxCallBytes bounds one call's whole state, every key and value
	// estimated as luavm.SizeOf counts them (default 64 KiB): a state.set or
	// state.incr that would grow it past that returns nil, "state too
	// large: ...", whatever the store.
	MaxCallBytes int
	// Now is the clock state expires by (default time.Now).
	Now func() time.Time
}

// Defaults for zero Options fields.
const (
	DefaultTTL          = time.Hour
	DefaultMaxCalls     = 100000
	DefaultMaxBytes     = 32 << 20
	DefaultMaxCallBytes = 64 << 10
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
// own state; it expires TTL after the call's last write. A set or incr past
// MaxCallBytes or a full store returns nil, err and changes nothing.
type Module struct {
	store   cache.Store
	shared  Shared
	ttl     time.Duration
	maxCall int
	now     func() time.Time
	mu      sync.Mutex // read-modify-write of one call's map
}

// New returns the module.
func New(o Options) *Module {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.MaxCalls <= 0 {
		o.MaxCalls = DefaultMaxCalls
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxCallBytes <= 0 {
		o.MaxCallBytes = DefaultMaxCallBytes
	}
	if o.Store == nil {
		o.Store = cache.NewMemoryStoreWith(cache.MemoryOptions{MaxEntries: o.MaxCalls, MaxBytes: o.MaxBytes})
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Module{store: o.Store, shared: o.Shared, ttl: o.TTL, maxCall: o.MaxCallBytes, now: o.Now}
}

// Shared is a store of calls' state that several ivrouter instances share
// over a network. Each method is one atomic step on the store, bounded by
// op (the call's deadline and memory); an error the store cannot take back
// (down, slow) is returned to the script as nil, err.
type Shared interface {
	// Get returns the value of key in call id's state, nil if none.
	Get(op cache.Op, id, key string) (any, error)
	// Set sets key to val (nil removes it). entry is what the key and value
	// count for in the call's state (see Limits); past lim.MaxCallBytes
	// the state must not grow, and the error is a *TooLargeError.
	Set(op cache.Op, id, key string, val any, entry int, lim Limits) error
	// Incr adds n to key's number, from 0, and returns the sum; a key
	// holding anything else is a *NotNumberError. entry is what a new key
	// counts for.
	Incr(op cache.Op, id, key string, n float64, entry int, lim Limits) (float64, error)
}

// Limits are what a Shared store keeps a call's state to: it lives TTL
// after its last write, and holds at most MaxCallBytes, counted as the
// module counts them: luavm.SizeOf of an empty table, plus each key's
// entry.
type Limits struct {
	TTL          time.Duration
	MaxCallBytes int
}

// TooLargeError is a Shared store's refusal of a write that would grow a
// call's state past Limits.MaxCallBytes: Size is what it would have been.
type TooLargeError struct{ Size int }

func (e *TooLargeError) Error() string { return fmt.Sprintf("state too large: %d bytes", e.Size) }

// NotNumberError is a Shared store's refusal to add to a key that holds
// Value, not a number.
type NotNumberError struct{ Value any }

func (e *NotNumberError) Error() string { return fmt.Sprintf("holds a %T, not a number", e.Value) }

// Bytes is the estimated size of every call's state the store holds, for a
// gauge (see cache.MemoryStore.Bytes); 0 for a Store that does not report it.
func (m *Module) Bytes() int64 {
	if b, ok := m.store.(interface{ Bytes() int64 }); ok {
		return b.Bytes()
	}
	return 0
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
	if m.shared != nil {
		v, err := m.shared.Get(cache.OpOf(L), id, key)
		if err != nil {
			return fail(L, unavailable(err))
		}
		L.Push(luavm.ToLua(L, v))
		return 1
	}
	vals, _ := m.load(id)
	L.Push(luavm.ToLua(L, vals[key]))
	return 1
}

func (m *Module) set(L *lua.LState) int {
	const fn = "state.set"
	id, key := callID(L, fn), checkKey(L, fn)
	// No value alone may pass what a whole call's state may hold: past it,
	// the copy stops.
	val, size, err := luavm.ToGoLimit(L, L.Get(2), m.maxCall)
	big := errors.Is(err, luavm.ErrTooLarge)
	if err != nil && !big {
		L.RaiseError("%s: value cannot be kept: %v", fn, err)
	}
	if m.shared != nil {
		return m.setShared(L, id, key, val, size, big)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, before := m.load(id)
	total := before
	if prev, ok := old[key]; ok {
		total -= entrySize(key, prev)
	}
	if big {
		return fail(L, m.tooLarge(total+entrySize(key, nil)+size))
	}
	vals := copyVals(old)
	if val == nil {
		delete(vals, key)
	} else {
		vals[key] = val
		total += entrySize(key, nil) + size
	}
	return m.save(L, id, vals, before, total, lua.LTrue)
}

func (m *Module) incr(L *lua.LState) int {
	const fn = "state.incr"
	id, key := callID(L, fn), checkKey(L, fn)
	n := L.OptNumber(2, 1)
	if m.shared != nil {
		sum, err := m.shared.Incr(cache.OpOf(L), id, key, float64(n), entrySize(key, 0.0), m.limits())
		var nn *NotNumberError
		if errors.As(err, &nn) {
			L.RaiseError("%s: %s holds a %T, not a number", fn, key, nn.Value)
		}
		if err != nil {
			return fail(L, m.sharedError(err))
		}
		L.Push(lua.LNumber(sum))
		return 1
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, before := m.load(id)
	total := before
	vals := copyVals(old)
	cur, ok := vals[key].(float64)
	if vals[key] != nil && !ok {
		L.RaiseError("%s: %s holds a %T, not a number", fn, key, vals[key])
	}
	if !ok {
		total += entrySize(key, 0.0)
	}
	cur += float64(n)
	vals[key] = cur
	return m.save(L, id, vals, before, total, lua.LNumber(cur))
}

// setShared is state.set on a Shared store. A value over MaxCallBytes on
// its own is refused before it is sent, its size counted as if the call
// held nothing else.
func (m *Module) setShared(L *lua.LState, id, key string, val any, size int, big bool) int {
	entry := entrySize(key, nil) + size
	if big {
		return fail(L, m.tooLarge(luavm.SizeOf(map[string]any{})+entry))
	}
	if err := m.shared.Set(cache.OpOf(L), id, key, val, entry, m.limits()); err != nil {
		return fail(L, m.sharedError(err))
	}
	L.Push(lua.LTrue)
	return 1
}

func (m *Module) limits() Limits { return Limits{TTL: m.ttl, MaxCallBytes: m.maxCall} }

// sharedError is what a script gets for a Shared store's error.
func (m *Module) sharedError(err error) string {
	var big *TooLargeError
	switch {
	case errors.As(err, &big):
		return m.tooLarge(big.Size)
	case errors.Is(err, ErrFull), errors.Is(err, cache.ErrFull):
		return ErrFull.Error()
	}
	return unavailable(err)
}

// unavailable is the message of a store that could not answer.
func unavailable(err error) string { return "state unavailable: " + err.Error() }

// load returns the call's state and its size (luavm.SizeOf's estimate,
// kept in the entry so it is not walked again).
func (m *Module) load(id string) (map[string]any, int) {
	e, ok := m.store.Get(id)
	if !ok || !m.now().Before(e.Expires) {
		return nil, luavm.SizeOf(map[string]any{})
	}
	vals, _ := e.Value.(map[string]any)
	if e.Size <= 0 { // a store that does not keep sizes, or a seeded entry
		e.Size = luavm.SizeOf(vals)
	}
	return vals, e.Size
}

// entrySize is what one key of a call's map counts for, with v (nil: the
// key alone).
func entrySize(key string, v any) int {
	n := luavm.SizeMapEntry + len(key)
	if v != nil {
		n += luavm.SizeOf(v)
	}
	return n
}

// save stores a new map of size bytes (before: the one it replaces):
// stored values are never changed in place, since another VM may be reading
// them. A map over MaxCallBytes is refused unless it shrank.
func (m *Module) save(L *lua.LState, id string, vals map[string]any, before, size int, ret lua.LValue) int {
	if size > m.maxCall && size > before {
		return fail(L, m.tooLarge(size))
	}
	err := m.store.Set(id, cache.Entry{Value: vals, Expires: m.now().Add(m.ttl), Size: size})
	if errors.Is(err, cache.ErrFull) {
		err = ErrFull
	}
	if err != nil {
		return fail(L, err.Error())
	}
	L.Push(ret)
	return 1
}

// ErrFull is what state.set and state.incr return when the store is at its
// bound (the store's cache.ErrFull, named for scripts).
var ErrFull = errors.New("state full")

func (m *Module) tooLarge(size int) string {
	return fmt.Sprintf("state too large: %d bytes (a call's state up to %d)", size, m.maxCall)
}

func fail(L *lua.LState, msg string) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(msg))
	return 2
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
