package cache

import (
	"errors"
	"time"

	"github.com/ivrouter/ivrouter/luavm"
	lua "github.com/yuin/gopher-lua"
)

// Op is what one operation of a Shared store may spend for the call it
// serves: the store's time comes out of the call's deadline, and what it
// allocates for the call (a value read back) out of the call's memory.
type Op struct {
	// Deadline is when the operation gives up: the call's budget
	// (luavm.Budget). Zero means no call: the store's own timeout alone.
	Deadline time.Time
	// Alloc charges bytes the store is about to allocate for the call
	// (luavm.Alloc); nil charges nothing.
	Alloc func(n int) error
}

// OpOf is the Op of the call L is answering; outside a call (a script's
// top level) it has no deadline.
func OpOf(L *lua.LState) Op {
	op := Op{Alloc: func(n int) error { return luavm.Alloc(L, n) }}
	if d, ok := luavm.Budget(L); ok {
		op.Deadline = time.Now().Add(d) // spent: already past
	}
	return op
}

// Shared is a Store several ivrouter instances share over a network
// (bridge/redisstore). Each operation waits on a round trip, so it takes
// the call's Op and may fail; a failure is the store's, not the script's:
// cache.get and cache.remember then treat the key as missing (remember asks
// its loader, so the CRM is asked directly), cache.set returns nil, err.
// Store's own methods are for callers outside a call (the admin listener,
// tests) and are bounded by the store's timeout.
type Shared interface {
	Store
	GetOp(op Op, key string) (Entry, bool, error)
	SetOp(op Op, key string, e Entry) error
	DeleteOp(op Op, key string) error
	// Lead makes one instance load key for all of them. It returns a
	// Flight that says what to do, or an error when the store cannot
	// arbitrate (down, slow): the caller then loads by itself.
	Lead(op Op, key string) (Flight, error)
}

// Flight is Shared.Lead's verdict on a key's load; exactly one field is
// set, or none when the caller must load by itself (another instance's
// value was announced but is gone again).
type Flight struct {
	// Landed is another instance's value, loaded while this one waited or
	// just before it asked: fresh, use it.
	Landed *Entry
	// Done is set when this instance leads: it must run the loader and
	// then call Done with the entry to store and share, or nil and the
	// loader's error, which the instances that waited get instead. Done
	// stores the entry, releases the key and wakes the waiters in one
	// step.
	Done func(op Op, e *Entry, err error) error
	// Err is the error another instance's loader failed with while this one
	// waited, or ErrLoaderTimeout when the call's deadline came first.
	Err error
}

// ErrLoaderTimeout is the error of a call that waited for another call's
// loader, in this process or another instance, until its deadline.
var ErrLoaderTimeout = errors.New("timeout waiting for another call's loader")
