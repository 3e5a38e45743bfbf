package scripttest

import (
	"sync"
	"time"

	"github.com/ivrouter/ivrouter/bridge/cache"
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
// scripts set carry the modules' own expiry and are handed back as set.
type store struct {
	now   func() time.Time // the case's frozen clock
	grace time.Duration    // how long a stale entry stays readable
	mu    sync.Mutex
	m     map[string]stored
}

type stored struct {
	cache.Entry
	seed bool
}

var (
	fresh = time.Date(9999, time.December, 31, 0, 0, 0, 0, time.UTC)
	stale = time.Time{}
)

func newStore(now func() time.Time, grace time.Duration) *store {
	return &store{now: now, grace: grace, m: map[string]stored{}}
}

// seed stores v as set at the frozen instant.
func (s *store) seed(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = stored{Entry: cache.Entry{Value: v, Expires: s.now().Add(SeedTTL)}, seed: true}
}

// Get implements cache.Store.
func (s *store) Get(key string) (cache.Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	switch {
	case !ok:
		return cache.Entry{}, false
	case !e.seed:
		gone := e.Expires.Add(s.grace)
		if gone.Before(s.now()) && gone.Before(time.Now()) {
			return cache.Entry{}, false
		}
		return e.Entry, true
	case s.now().Before(e.Expires):
		return cache.Entry{Value: e.Value, Expires: fresh}, true
	case s.now().Before(e.Expires.Add(s.grace)):
		return cache.Entry{Value: e.Value, Expires: stale}, true
	}
	return cache.Entry{}, false
}

// Set implements cache.Store.
func (s *store) Set(key string, e cache.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = stored{Entry: e}
	return nil
}

// Delete implements cache.Store.
func (s *store) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}
