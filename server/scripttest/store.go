package scripttest

import (
	"sync"
	"time"

	"github.com/ivrouter/ivrouter/bridge/cache"
	"github.com/ivrouter/ivrouter/luavm"
)

// SeedTTL is how long a case's cache and state seeds stay fresh, on the
// case's frozen clock.
const SeedTTL = time.Hour

// store is a cache.Store for one case: a map, nothing dropped behind the
// case's back by the real clock (cache.MemoryStore expires by it, and a
// frozen instant in the past would find everything gone).
//
// Seeds are kept on the frozen clock and handed out with an expiry every
// clock agrees on (far future while fresh, the zero time once stale), so
// the modules judge them right whichever clock they read. Entries the
// scripts set carry the modules' own expiry, on the frozen clock, and are
// handed back as set until it is past with the grace period: never
// judged by the real clock, or whether a case passes would depend on the
// day it runs.
//
// It is bounded as cache.MemoryStore is, in entries and bytes (each
// entry's size, key and cache.EntryOverhead): a new entry past a bound
// first drops the expired ones (once per frozen instant: none expire
// until it moves), then is refused with cache.ErrFull, so a script that
// fills serve's store fills this one.
type store struct {
	now        func() time.Time // the case's frozen clock
	grace      time.Duration    // how long a stale entry stays readable
	maxEntries int
	maxBytes   int
	mu         sync.Mutex
	m          map[string]stored
	bytes      int
	purged     time.Time // the frozen instant expired entries were last dropped at
}

type stored struct {
	cache.Entry
	seed  bool
	bytes int // what the entry counts for against maxBytes
}

var (
	fresh = time.Date(9999, time.December, 31, 0, 0, 0, 0, time.UTC)
	stale = time.Time{}
)

func newStore(now func() time.Time, grace time.Duration, maxEntries, maxBytes int) *store {
	return &store{now: now, grace: grace, maxEntries: maxEntries, maxBytes: maxBytes, m: map[string]stored{}}
}

// seed stores v as set at the frozen instant; seeds are counted, never
// refused.
func (s *store) seed(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(key, stored{Entry: cache.Entry{Value: v, Expires: s.now().Add(SeedTTL)}, seed: true,
		bytes: luavm.SizeOf(v) + len(key) + cache.EntryOverhead})
}

// Get implements cache.Store.
func (s *store) Get(key string) (cache.Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	switch {
	case !ok || s.gone(e):
		return cache.Entry{}, false
	case !e.seed:
		return e.Entry, true
	case s.now().Before(e.Expires):
		return cache.Entry{Value: e.Value, Expires: fresh}, true
	}
	return cache.Entry{Value: e.Value, Expires: stale}, true
}

// gone reports whether e is past its expiry and grace on the frozen clock.
func (s *store) gone(e stored) bool {
	return e.Expires.Add(s.grace).Before(s.now())
}

// Set implements cache.Store.
func (s *store) Set(key string, e cache.Entry) error {
	size := e.Size
	if size <= 0 {
		size = luavm.SizeOf(e.Value)
	}
	st := stored{Entry: e, bytes: size + len(key) + cache.EntryOverhead}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.fits(key, st) {
		if now := s.now(); !now.Equal(s.purged) {
			s.purged = now
			for k, old := range s.m {
				if s.gone(old) {
					s.drop(k)
				}
			}
		}
		if !s.fits(key, st) {
			return cache.ErrFull
		}
	}
	s.put(key, st)
	return nil
}

// fits reports whether st may be stored under key, as
// cache.MemoryStore's fits: a value no larger than the one it replaces
// always is.
func (s *store) fits(key string, st stored) bool {
	old, held := s.m[key]
	if !held && s.maxEntries > 0 && len(s.m) >= s.maxEntries {
		return false
	}
	grow := st.bytes - old.bytes
	return s.maxBytes <= 0 || grow <= 0 || s.bytes+grow <= s.maxBytes
}

func (s *store) put(key string, st stored) {
	s.bytes += st.bytes - s.m[key].bytes
	s.m[key] = st
}

func (s *store) drop(key string) {
	s.bytes -= s.m[key].bytes
	delete(s.m, key)
}

// Delete implements cache.Store.
func (s *store) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop(key)
}
