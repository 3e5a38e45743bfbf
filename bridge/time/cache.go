package time

import (
	"container/list"
	"crypto/sha256"
	"sync"
)

// calCache keeps the calendars parsed by recent loads, process-wide, so
// that loading an unchanged file again (a reload, every case of ivrouter
// test) costs its read and hash, not its parse and expansion. A calendar
// is keyed by the SHA-256 of its file and the year its load window is
// around. What is cached is only ever read: a calendar's own caches of
// years and zone views are guarded (see calendar). Only calendars that
// loaded are kept: errors name the file's path, which the content does
// not fix.
var calCache = newParsedCache(16, 32<<20)

type cacheKey struct {
	sum  [sha256.Size]byte
	year int
}

func sum(src []byte) [sha256.Size]byte { return sha256.Sum256(src) }

// parsedCache is a small LRU of calendars, bounded in entries and in the
// bytes of their files.
type parsedCache struct {
	mu         sync.Mutex
	maxEntries int
	maxBytes   int
	bytes      int
	items      map[cacheKey]*list.Element
	order      *list.List // of *cacheEntry, most recent first
}

type cacheEntry struct {
	key  cacheKey
	cal  *calendar
	size int
}

func newParsedCache(entries, bytes int) *parsedCache {
	return &parsedCache{maxEntries: entries, maxBytes: bytes, items: map[cacheKey]*list.Element{}, order: list.New()}
}

func (p *parsedCache) get(k cacheKey) *calendar {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.items[k]; ok {
		p.order.MoveToFront(e)
		return e.Value.(*cacheEntry).cal
	}
	return nil
}

func (p *parsedCache) put(k cacheKey, c *calendar, size int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.items[k]; ok {
		p.order.MoveToFront(e)
		return
	}
	p.items[k] = p.order.PushFront(&cacheEntry{key: k, cal: c, size: size})
	p.bytes += size
	for p.order.Len() > p.maxEntries || p.bytes > p.maxBytes && p.order.Len() > 1 {
		old := p.order.Remove(p.order.Back()).(*cacheEntry)
		delete(p.items, old.key)
		p.bytes -= old.size
	}
}

// len is how many calendars are kept, for tests.
func (p *parsedCache) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.order.Len()
}
