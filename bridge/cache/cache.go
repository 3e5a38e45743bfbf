// Package cache is the "cache" Lua module: values shared by every VM, with
// one loader call for all concurrent misses of a key and stale values served
// when the loader fails.
package cache

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/calltrace"
	lua "github.com/yuin/gopher-lua"
)

// Options configure the module.
type Options struct {
	// Store holds the entries; nil means a MemoryStore of MaxEntries and
	// MaxBytes.
	Store Store
	// MaxEntries bounds the default store (default 100000).
	MaxEntries int
	// MaxBytes bounds the bytes the default store holds (default 64 MiB):
	// every value's estimated size (luavm.SizeOf), its key and
	// EntryOverhead. A store at the bound refuses new keys, as at
	// MaxEntries. A Store given in Store keeps its own bounds.
	MaxBytes int
	// MaxValueBytes bounds one value's estimated size (default 1 MiB),
	// whatever the store: cache.set of a larger value returns nil, "value
	// too large: ...", and cache.remember does not store it.
	MaxValueBytes int
	// Grace is how long an expired value is kept to stand in when its loader
	// fails (default 5 minutes).
	Grace time.Duration
	// MaxTTL bounds a script's ttl (default 1 day).
	MaxTTL time.Duration
	// Now is the clock entries expire by (default time.Now).
	Now func() time.Time
}

// Defaults for zero Options fields.
const (
	DefaultMaxEntries    = 100000
	DefaultMaxBytes      = 64 << 20
	DefaultMaxValueBytes = 1 << 20
	DefaultGrace         = 5 * time.Minute
	DefaultMaxTTL        = 24 * time.Hour
)

// Stats counts lookups, for metrics.
type Stats struct {
	Hits, Misses, Stale, Loads, LoadErrors uint64
	// TooLarge counts values refused for passing MaxValueBytes, Full those
	// the store refused at its bound (cache.set and cache.remember both).
	TooLarge, Full uint64
	// Bytes is what the store holds, estimated (see Module.Bytes).
	Bytes int64
}

// Module is the "cache" Lua module.
//
//	local cache = require("cache")
//	local contact, err = cache.remember("contact:" .. call.caller_id, 300, function()
//	  local res, err = http.get(CRM .. "/contacts", { query = { phone = call.caller_id } })
//	  if not res then return nil, err end       -- a failure: nothing is cached
//	  return json.decode(res.body)
//	end)
//
// cache.remember returns the cached value, or calls loader once for all
// concurrent callers of the key, in every VM, and caches what it returns for
// ttl seconds. When the loader fails (returns nil, err or raises) and an
// expired value is still within the grace period, that value is returned.
// Also cache.get(key) (value, or nil, "miss"), cache.set(key, value, ttl)
// and cache.delete(key). Values are plain data: strings, numbers, booleans
// and tables of those; every get returns a fresh copy.
//
// A value over MaxValueBytes is not stored: cache.set returns nil, "value
// too large: N bytes (cache values up to M)"; cache.remember returns the
// loader's value to the call that loaded it, with that message as a second
// result, and the message alone (or a stale value) to calls that waited for
// it. A store at its bound (entries or bytes) refuses new keys: cache.set
// returns nil, "cache full", cache.remember still returns the value.
type Module struct {
	opts    Options
	store   Store
	shared  Shared // store, when it is shared by several instances
	mu      sync.Mutex
	flights map[string]*flight
	hits    atomic.Uint64
	misses  atomic.Uint64
	stale   atomic.Uint64
	loads   atomic.Uint64
	loadErr atomic.Uint64
	big     atomic.Uint64
	full    atomic.Uint64
}

// flight is one loader run that concurrent misses of its key wait for.
type flight struct {
	done     chan struct{}
	deadline time.Time // the leader's call deadline: past it, nobody joins
	val      any
	err      error
}

// tooLarge is a value over MaxValueBytes: not stored, and a failed load for
// the callers waiting on it.
type tooLarge struct{ size, max int }

func (e *tooLarge) Error() string {
	return fmt.Sprintf("value too large: %d bytes (cache values up to %d)", e.size, e.max)
}

// New returns the module.
func New(o Options) *Module {
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxValueBytes <= 0 {
		o.MaxValueBytes = DefaultMaxValueBytes
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.MaxTTL <= 0 {
		o.MaxTTL = DefaultMaxTTL
	}
	if o.Store == nil {
		o.Store = NewMemoryStoreWith(MemoryOptions{MaxEntries: o.MaxEntries, MaxBytes: o.MaxBytes, Grace: o.Grace})
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Module{opts: o, store: o.Store, flights: map[string]*flight{}}
	m.shared, _ = o.Store.(Shared)
	return m
}

// Stats returns the lookup counters and the bytes held.
func (m *Module) Stats() Stats {
	return Stats{
		Hits: m.hits.Load(), Misses: m.misses.Load(), Stale: m.stale.Load(), Loads: m.loads.Load(), LoadErrors: m.loadErr.Load(),
		TooLarge: m.big.Load(), Full: m.full.Load(), Bytes: m.Bytes(),
	}
}

// Bytes is the estimated size of what the store holds, for a gauge: values,
// keys and EntryOverhead, expired entries included until swept. It is 0
// for a Store that does not report it (one without a Bytes() int64 method).
func (m *Module) Bytes() int64 {
	if b, ok := m.store.(interface{ Bytes() int64 }); ok {
		return b.Bytes()
	}
	return 0
}

// ErrNoFlush is Flush's error for a Store that is not a Flusher.
var ErrNoFlush = errors.New("the cache store cannot flush (it is not a cache.Flusher)")

// Flush drops the cached entries whose key starts with prefix, all of them
// for "", and returns how many it dropped. Loaders running meanwhile still
// store what they load.
func (m *Module) Flush(prefix string) (int, error) {
	f, ok := m.store.(Flusher)
	if !ok {
		return 0, ErrNoFlush
	}
	return f.Flush(prefix), nil
}

// Loader builds the module table in L.
func (m *Module) Loader(L *lua.LState) int {
	t := L.CreateTable(0, 4)
	t.RawSetString("get", L.NewFunction(m.get))
	t.RawSetString("set", L.NewFunction(m.set))
	t.RawSetString("delete", L.NewFunction(m.delete))
	t.RawSetString("remember", L.NewFunction(m.remember))
	L.Push(t)
	return 1
}

func (m *Module) get(L *lua.LState) int {
	key := checkKey(L, "cache.get")
	e, ok, err := m.lookup(L, key)
	if ok && m.opts.Now().Before(e.Expires) {
		m.hits.Add(1)
		trace(L, "get", key, calltrace.CacheHit)
		L.Push(toLua(L, e))
		return 1
	}
	m.misses.Add(1)
	trace(L, "get", key, calltrace.CacheMiss)
	if err != nil { // a shared store that cannot say: a miss, with its reason
		return fail(L, err.Error())
	}
	return fail(L, "miss")
}

// lookup reads key from the store; a Shared store's read is bounded by the
// call's deadline and may fail.
func (m *Module) lookup(L *lua.LState, key string) (Entry, bool, error) {
	if m.shared != nil {
		return m.shared.GetOp(OpOf(L), key)
	}
	e, ok := m.store.Get(key)
	return e, ok, nil
}

// put stores e under key.
func (m *Module) put(L *lua.LState, key string, e Entry) error {
	if m.shared != nil {
		return m.shared.SetOp(OpOf(L), key, e)
	}
	return m.keep(key, e)
}

// keep stores e in the module's own store, with its value prepared for
// Lua: an entry is read on many calls for each time it is written.
func (m *Module) keep(key string, e Entry) error {
	e.Prepared = luavm.Prepare(e.Value)
	e.Size += e.Prepared.Size()
	return m.store.Set(key, e)
}

func (m *Module) set(L *lua.LState) int {
	key := checkKey(L, "cache.set")
	val, size, err := m.checkValue(L, "cache.set", 2)
	ttl := m.checkTTL(L, "cache.set", 3)
	if err == nil {
		err = m.put(L, key, Entry{Value: val, Expires: m.opts.Now().Add(ttl), Size: size})
	}
	if err != nil {
		m.count(err)
		return fail(L, err.Error())
	}
	L.Push(lua.LTrue)
	return 1
}

// trace records a lookup in the call's trace, for the console's journey.
func trace(L *lua.LState, op, key, result string) {
	if t := calltrace.Of(L); t != nil {
		t.AddCache(calltrace.Cache{Op: op, Key: key, Result: result})
	}
}

// count counts a value the cache did not take.
func (m *Module) count(err error) {
	var big *tooLarge
	switch {
	case errors.As(err, &big):
		m.big.Add(1)
	case errors.Is(err, ErrFull):
		m.full.Add(1)
	}
}

func (m *Module) delete(L *lua.LState) int {
	key := checkKey(L, "cache.delete")
	if m.shared != nil {
		_ = m.shared.DeleteOp(OpOf(L), key) // an unreachable store's entry expires by itself
		return 0
	}
	m.store.Delete(key)
	return 0
}

func (m *Module) remember(L *lua.LState) int {
	const fn = "cache.remember"
	key := checkKey(L, fn)
	ttl := m.checkTTL(L, fn, 2)
	loader := L.CheckFunction(3)
	old, held, _ := m.lookup(L, key) // a store that cannot say: a miss, so the loader asks the CRM
	if held && m.opts.Now().Before(old.Expires) {
		m.hits.Add(1)
		trace(L, "remember", key, calltrace.CacheHit)
		L.Push(toLua(L, old))
		return 1
	}
	m.misses.Add(1)
	val, own, err := m.load(L, fn, key, ttl, loader)
	var ve *valueError
	if errors.As(err, &ve) {
		trace(L, "remember", key, calltrace.CacheFailed)
		L.RaiseError("%v", ve.error)
	}
	if err == nil {
		trace(L, "remember", key, calltrace.CacheLoaded)
		L.Push(luavm.ToLua(L, val))
		return 1
	}
	if own != nil { // this call's loader returned a value too large to keep
		trace(L, "remember", key, calltrace.CacheLoaded)
		L.Push(own)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	if held { // serve stale on error
		m.stale.Add(1)
		trace(L, "remember", key, calltrace.CacheStale)
		L.Push(toLua(L, old))
		return 1
	}
	trace(L, "remember", key, calltrace.CacheFailed)
	return fail(L, err.Error())
}

// load runs loader once for every concurrent miss of key: the first caller
// runs it in its own VM, the others wait for its result or their deadline.
// With a Shared store, the first caller in each instance asks the store
// which instance loads (Shared.Lead): one loader call among them all.
// When the loader's value is over MaxValueBytes, the error is a *tooLarge
// and own is the value in the loader's own VM (nil for the callers that
// waited): it is not copied, nor stored.
func (m *Module) load(L *lua.LState, fn, key string, ttl time.Duration, loader *lua.LFunction) (val any, own lua.LValue, err error) {
	m.mu.Lock()
	// A leader past its own deadline may be stuck in Go code: start afresh
	// rather than wait for it.
	if f := m.flights[key]; f != nil && (f.deadline.IsZero() || time.Now().Before(f.deadline)) {
		m.mu.Unlock()
		val, err = wait(L, f)
		return val, nil, err
	}
	f := &flight{done: make(chan struct{})}
	f.deadline, _ = luavm.DeadlineOf(L)
	m.flights[key] = f
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		if m.flights[key] == f {
			delete(m.flights, key)
		}
		m.mu.Unlock()
		close(f.done)
	}()
	// The caller's miss may predate a load that landed since: its value
	// is in the store now, and loading again would ask the CRM twice.
	var done func(Op, *Entry, error) error
	if m.shared == nil {
		if e, held := m.store.Get(key); held && m.opts.Now().Before(e.Expires) {
			f.val = e.Value
			return f.val, nil, nil
		}
	} else if lead, err := m.shared.Lead(OpOf(L), key); err == nil {
		// An error: the store cannot arbitrate, so this instance loads.
		switch {
		case lead.Landed != nil:
			f.val = lead.Landed.Value
			return f.val, nil, nil
		case lead.Err != nil:
			f.err = lead.Err
			return nil, nil, f.err
		case lead.Done != nil:
			done = lead.Done
		}
	}
	m.loads.Add(1)
	var size int
	f.val, size, own, f.err = m.call(L, fn, loader)
	if done != nil && f.err != nil {
		_ = done(OpOf(L), nil, f.err) // the other instances' waiters get the error
	}
	var big *tooLarge
	switch {
	case errors.As(f.err, &big):
		m.big.Add(1)
		return nil, own, f.err
	case f.err != nil:
		m.loadErr.Add(1)
		return nil, nil, f.err
	}
	e := Entry{Value: f.val, Expires: m.opts.Now().Add(ttl), Size: size}
	var serr error
	if done != nil {
		serr = done(OpOf(L), &e, nil)
	} else {
		serr = m.keep(key, e)
	}
	// A full or unreachable store keeps the value from the cache, not from
	// the callers.
	m.count(serr)
	return f.val, nil, nil
}

// call runs the loader: it fails by returning nil, err or by raising. A
// value over MaxValueBytes is a *tooLarge, with the loader's own value.
func (m *Module) call(L *lua.LState, fn string, loader *lua.LFunction) (any, int, lua.LValue, error) {
	top := L.GetTop()
	L.Push(loader)
	if err := L.PCall(0, 2, nil); err != nil {
		if ae, ok := err.(*lua.ApiError); ok {
			return nil, 0, nil, fmt.Errorf("loader failed: %s", ae.Object.String())
		}
		return nil, 0, nil, fmt.Errorf("loader failed: %v", err)
	}
	val, msg := L.Get(top+1), L.Get(top+2)
	L.SetTop(top)
	if val == lua.LNil {
		if msg == lua.LNil {
			return nil, 0, nil, errors.New("loader returned nil")
		}
		return nil, 0, nil, errors.New(msg.String())
	}
	v, size, err := luavm.ToGoLimit(L, val, m.opts.MaxValueBytes)
	if errors.Is(err, luavm.ErrTooLarge) {
		return nil, size, val, &tooLarge{size, m.opts.MaxValueBytes}
	}
	if err != nil {
		return nil, 0, nil, &valueError{fmt.Errorf("%s: the loader's value cannot be cached: %w", fn, err)}
	}
	return v, size, nil, nil
}

// valueError is a script bug, raised once the waiting callers are released.
type valueError struct{ error }

// wait blocks until the flight lands or the call's deadline passes.
func wait(L *lua.LState, f *flight) (any, error) {
	var timeout <-chan time.Time
	if left, ok := luavm.Budget(L); ok {
		t := time.NewTimer(left)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-f.done:
		return f.val, f.err
	case <-timeout:
		return nil, ErrLoaderTimeout
	case <-luavm.CallContext(L).Done(): // cut short: Engine.Close
		return nil, ErrLoaderTimeout
	}
}

func checkKey(L *lua.LState, fn string) string {
	k, ok := L.Get(1).(lua.LString)
	if !ok || len(k) == 0 || len(k) > 512 {
		L.RaiseError("%s: key must be a string of 1 to 512 bytes, got %s", fn, L.Get(1).Type())
	}
	return string(k)
}

// checkValue converts argument n and estimates its size; a value over
// MaxValueBytes is a *tooLarge error, not copied.
func (m *Module) checkValue(L *lua.LState, fn string, n int) (any, int, error) {
	v := L.Get(n)
	if v == lua.LNil {
		L.RaiseError("%s: value is nil: use cache.delete to remove a key", fn)
	}
	val, size, err := luavm.ToGoLimit(L, v, m.opts.MaxValueBytes)
	if errors.Is(err, luavm.ErrTooLarge) {
		return nil, size, &tooLarge{size, m.opts.MaxValueBytes}
	}
	if err != nil {
		L.RaiseError("%s: value cannot be cached: %v", fn, err)
	}
	return val, size, nil
}

func (m *Module) checkTTL(L *lua.LState, fn string, n int) time.Duration {
	s, ok := L.Get(n).(lua.LNumber)
	// Compared as a float first: a huge or NaN ttl overflows a Duration.
	ok = ok && s > 0 && float64(s) <= m.opts.MaxTTL.Seconds()
	ttl := time.Duration(float64(s) * float64(time.Second))
	if !ok {
		L.RaiseError("%s: ttl must be seconds from more than 0 to %v, got %s", fn, m.opts.MaxTTL, L.Get(n).String())
	}
	return ttl
}

func fail(L *lua.LState, msg string) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(msg))
	return 2
}

// toLua copies a cached entry's value into L, from its Prepared form when
// the store kept one.
func toLua(L *lua.LState, e Entry) lua.LValue {
	if e.Prepared != nil {
		return e.Prepared.Lua(L)
	}
	return luavm.ToLua(L, e.Value)
}
