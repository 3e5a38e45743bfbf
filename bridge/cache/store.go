package cache

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ivrouter/ivrouter/luavm"
	gocache "github.com/patrickmn/go-cache"
)

// Entry is a cached value: fresh until Expires, and kept a grace period
// after that so it can stand in when its loader fails. Value is plain data
// (see luavm.ToGo) and never changed once stored.
type Entry struct {
	Value   any
	Expires time.Time
	// Size is Value's estimated size in bytes (luavm.SizeOf), worked out by
	// the modules while they convert the value, so a store can keep a byte
	// budget without walking it again. A store may take 0 as "not given".
	Size int
	// Prepared is Value made ready for Lua (luavm.Prepare), set by the
	// module when it stores into a MemoryStore, whose entries are read far
	// more often than written; counted in Size. A store that serializes
	// entries drops it: Value is the data.
	Prepared *luavm.Prepared
}

// Store holds entries. MemoryStore is the embedded one; a shared store (a
// Redis, say) can replace it for several ivrouter instances.
type Store interface {
	// Get returns the entry for key, fresh or within its grace period.
	Get(key string) (Entry, bool)
	// Set stores e, keeping it until e.Expires plus the grace period. A
	// store at its bound returns ErrFull.
	Set(key string, e Entry) error
	Delete(key string)
}

// ErrFull is returned by a MemoryStore at its bound, in entries or bytes.
var ErrFull = errors.New("cache full")

// EntryOverhead is what a MemoryStore counts for each entry besides its
// value's Size and its key's length: the bookkeeping of holding it.
const EntryOverhead = 128

// MemoryOptions configure a MemoryStore.
type MemoryOptions struct {
	// MaxEntries bounds the number of entries (0: unbounded).
	MaxEntries int
	// MaxBytes bounds the bytes held: every entry's Size, key length and
	// EntryOverhead (0: unbounded).
	MaxBytes int
	// Grace is how long an entry is kept past its Expires.
	Grace time.Duration
}

// MemoryStore is a Store in this process, on go-cache, bounded in entries
// and in bytes. Entries leave it when they are deleted, replaced, or expired
// (plus the grace period) and swept: go-cache sweeps once a minute, and a
// full store sweeps before it refuses a new key.
type MemoryStore struct {
	c     *gocache.Cache
	opts  MemoryOptions
	bytes atomic.Int64

	mu   sync.Mutex            // held: the accounting of entries
	held map[string]*accounted // what each key's bytes were counted as

	purgeMu   sync.Mutex
	lastPurge time.Time
}

// accounted is what go-cache holds: the entry and the bytes counted for it.
// Its address tells an eviction of the entry still counted from one of an
// entry already replaced.
type accounted struct {
	Entry
	bytes int
}

// NewMemoryStore returns a store of at most max entries, each kept grace
// past its expiry, with no byte bound.
func NewMemoryStore(max int, grace time.Duration) *MemoryStore {
	return NewMemoryStoreWith(MemoryOptions{MaxEntries: max, Grace: grace})
}

// NewMemoryStoreWith returns a store bounded as o says.
func NewMemoryStoreWith(o MemoryOptions) *MemoryStore {
	s := &MemoryStore{c: gocache.New(gocache.NoExpiration, time.Minute), opts: o, held: map[string]*accounted{}}
	s.c.OnEvicted(s.evicted)
	return s
}

// Get implements Store.
func (s *MemoryStore) Get(key string) (Entry, bool) {
	v, ok := s.c.Get(key)
	if !ok {
		return Entry{}, false
	}
	return v.(*accounted).Entry, true
}

// Set implements Store. When the entry would pass a bound (a new key past
// MaxEntries, or more bytes than MaxBytes allows, a larger value for a held
// key included) it first drops expired entries (at most once a second, since
// that walks them all), then refuses with ErrFull: a full store keeps serving
// what it has rather than evicting at random. A value no larger than the one
// it replaces is always taken.
func (s *MemoryStore) Set(key string, e Entry) error {
	if e.Size <= 0 {
		e.Size = luavm.SizeOf(e.Value)
	}
	a := &accounted{Entry: e, bytes: e.Size + len(key) + EntryOverhead}
	for try := 0; ; try++ {
		s.mu.Lock()
		if s.fits(key, a) {
			break // still locked
		}
		s.mu.Unlock()
		if try > 0 || !s.purge() {
			return ErrFull
		}
	}
	defer s.mu.Unlock()
	// go-cache reads 0 as "default" and <0 as "never": keep d positive.
	s.c.Set(key, a, max(time.Until(e.Expires)+s.opts.Grace, time.Millisecond))
	old := s.held[key]
	s.held[key] = a
	delta := a.bytes
	if old != nil {
		delta -= old.bytes
	}
	s.bytes.Add(int64(delta))
	return nil
}

// fits reports whether a may be stored under key; s.mu is held.
func (s *MemoryStore) fits(key string, a *accounted) bool {
	old := s.held[key]
	if old == nil && s.opts.MaxEntries > 0 && len(s.held) >= s.opts.MaxEntries {
		return false
	}
	grow := a.bytes
	if old != nil {
		grow -= old.bytes
	}
	return s.opts.MaxBytes <= 0 || grow <= 0 || s.bytes.Load()+int64(grow) <= int64(s.opts.MaxBytes)
}

// evicted is go-cache's hook for an entry it dropped (deleted or expired):
// its bytes are given back unless it had already been replaced, when Set
// counted the difference.
func (s *MemoryStore) evicted(key string, v any) {
	a, _ := v.(*accounted)
	s.mu.Lock()
	defer s.mu.Unlock()
	if a != nil && s.held[key] == a {
		delete(s.held, key)
		s.bytes.Add(-int64(a.bytes))
	}
}

// purge drops expired entries, unless it did less than a second ago; it
// reports whether it ran.
func (s *MemoryStore) purge() bool {
	s.purgeMu.Lock()
	if time.Since(s.lastPurge) < time.Second {
		s.purgeMu.Unlock()
		return false
	}
	s.lastPurge = time.Now()
	s.purgeMu.Unlock()
	s.c.DeleteExpired()
	return true
}

// DeleteExpired drops every entry past its expiry and grace period now,
// rather than at go-cache's next sweep.
func (s *MemoryStore) DeleteExpired() { s.c.DeleteExpired() }

// Delete implements Store.
func (s *MemoryStore) Delete(key string) { s.c.Delete(key) }

// Flusher is a Store that can drop many entries at once: Module.Flush, the
// admin listener's POST /-/cache/flush, needs it.
type Flusher interface {
	// Flush drops every entry whose key starts with prefix (all of them
	// for ""), expired ones included, and returns how many it dropped.
	Flush(prefix string) int
}

// Flush implements Flusher. An entry set while it runs may be dropped or
// kept; each entry's bytes come back as for Delete.
func (s *MemoryStore) Flush(prefix string) int {
	s.mu.Lock()
	var keys []string
	for k := range s.held {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	s.mu.Unlock() // go-cache's eviction hook takes s.mu
	for _, k := range keys {
		s.c.Delete(k)
	}
	return len(keys)
}

// Len is the number of entries held, expired ones included until swept.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}

// Bytes is the estimated bytes held: every entry's Size, key length and
// EntryOverhead, expired entries included until swept.
func (s *MemoryStore) Bytes() int64 { return s.bytes.Load() }
