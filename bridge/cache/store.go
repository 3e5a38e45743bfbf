package cache

import (
	"errors"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"
)

// Entry is a cached value: fresh until Expires, and kept a grace period
// after that so it can stand in when its loader fails. Value is plain data
// (see luavm.ToGo) and never changed once stored.
type Entry struct {
	Value   any
	Expires time.Time
}

// Store holds entries. MemoryStore is the embedded one; a shared store (a
// Redis, say) can replace it for several ivrouter instances.
type Store interface {
	// Get returns the entry for key, fresh or within its grace period.
	Get(key string) (Entry, bool)
	// Set stores e, keeping it until e.Expires plus the grace period.
	Set(key string, e Entry) error
	Delete(key string)
}

// ErrFull is returned by a MemoryStore at its bound.
var ErrFull = errors.New("cache full")

// MemoryStore is a Store in this process, on go-cache, bounded in entries.
type MemoryStore struct {
	c         *gocache.Cache
	max       int
	grace     time.Duration
	mu        sync.Mutex
	lastPurge time.Time
}

// NewMemoryStore returns a store of at most max entries, each kept grace
// past its expiry.
func NewMemoryStore(max int, grace time.Duration) *MemoryStore {
	return &MemoryStore{c: gocache.New(gocache.NoExpiration, time.Minute), max: max, grace: grace}
}

// Get implements Store.
func (s *MemoryStore) Get(key string) (Entry, bool) {
	v, ok := s.c.Get(key)
	if !ok {
		return Entry{}, false
	}
	return v.(Entry), true
}

// Set implements Store. At the bound it first drops expired entries (at most
// once a second, since that walks them all), then refuses new keys: a full
// cache keeps serving what it has rather than evicting at random.
func (s *MemoryStore) Set(key string, e Entry) error {
	if s.c.ItemCount() >= s.max {
		if _, exists := s.c.Get(key); !exists {
			s.purge()
			if s.c.ItemCount() >= s.max {
				return ErrFull
			}
		}
	}
	// go-cache reads 0 as "default" and <0 as "never": keep d positive.
	s.c.Set(key, e, max(time.Until(e.Expires)+s.grace, time.Millisecond))
	return nil
}

func (s *MemoryStore) purge() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.lastPurge) < time.Second {
		return
	}
	s.lastPurge = time.Now()
	s.c.DeleteExpired()
}

// Delete implements Store.
func (s *MemoryStore) Delete(key string) { s.c.Delete(key) }

// Len is the number of entries held, expired ones included until purged.
func (s *MemoryStore) Len() int { return s.c.ItemCount() }
