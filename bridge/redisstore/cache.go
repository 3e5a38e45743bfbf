package redisstore

import (
	"context"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ivrouter/ivrouter/bridge/cache"
	"github.com/redis/rueidis"
)

// CacheStore is the cache module's store in Redis: a cache.Shared and a
// cache.Flusher. An entry is a string key (Prefix + "c:{KEY}") holding a
// record (its expiry, size and value) that Redis expires a grace period
// after the entry does; reads go through the near cache.
//
// cache.remember's single flight across instances: the first instance to
// miss a key takes a short lock (Prefix + "l:{KEY}", a token, expiring at
// its call's deadline) in the same server-side step that checks for a
// value; the others wait for the leader's announcement on the flights
// channel (pub/sub), or for the lock to expire if the leader died, within
// their own deadline. The leader stores the value, releases its lock and
// announces in one step.
type CacheStore struct {
	s *Store

	// wrote holds the keys this instance wrote lately, until when their
	// reads go past the near cache: Redis invalidates a client's near
	// copy of a key it writes itself, but the invalidation may come after
	// the write's reply, and a read in between would find the old copy.
	mu     sync.Mutex
	wrote  map[string]time.Time
	nwrote atomic.Int32
}

// ownWrites is how long this instance's reads of a key it wrote go past
// the near cache: far longer than Redis takes to send the invalidation.
const ownWrites = time.Second

// written notes a write of key by this instance.
func (c *CacheStore) written(key string) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wrote == nil {
		c.wrote = map[string]time.Time{}
	}
	if len(c.wrote) >= 1024 {
		for k, until := range c.wrote {
			if now.After(until) {
				delete(c.wrote, k)
			}
		}
	}
	c.wrote[key] = now.Add(ownWrites)
	c.nwrote.Store(int32(len(c.wrote)))
}

// wroteLately reports whether this instance wrote key lately.
func (c *CacheStore) wroteLately(key string) bool {
	if c.nwrote.Load() == 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.wrote[key]
	if ok && time.Now().After(until) {
		delete(c.wrote, key)
		c.nwrote.Store(int32(len(c.wrote)))
		return false
	}
	return ok
}

var _ interface {
	cache.Shared
	cache.Flusher
} = (*CacheStore)(nil)

// lockMargin is how long a lock outlives its holder's deadline, and how
// long a waiter gives an expired lock's holder before asking again.
const lockMargin = 50 * time.Millisecond

// maxLock bounds a lock taken outside a call: Voicenter's own wait.
const maxLock = 5 * time.Second

func (c *CacheStore) key(k string) string  { return c.s.o.Prefix + "c:{" + tag(k) + "}" }
func (c *CacheStore) lock(k string) string { return c.s.o.Prefix + "l:{" + tag(k) + "}" }

// tag is a key made safe inside a Cluster hash tag: an entry and its lock
// hash to the same slot, so one script may touch both. Braces are
// escaped, one character at a time, so a prefix of a key is a prefix of
// its tag (for Flush).
func tag(k string) string {
	if !strings.ContainsAny(k, `{}\`) {
		return k
	}
	return strings.NewReplacer(`\`, `\\`, `{`, `\(`, `}`, `\)`).Replace(k)
}

// Get implements cache.Store, outside a call.
func (c *CacheStore) Get(key string) (cache.Entry, bool) {
	e, ok, _ := c.GetOp(cache.Op{}, key)
	return e, ok
}

// Set implements cache.Store, outside a call.
func (c *CacheStore) Set(key string, e cache.Entry) error { return c.SetOp(cache.Op{}, key, e) }

// Delete implements cache.Store, outside a call.
func (c *CacheStore) Delete(key string) { _ = c.DeleteOp(cache.Op{}, key) }

// GetOp implements cache.Shared: from the near cache when Redis has not
// said the key changed (nor this instance written it lately), else one
// round trip.
func (c *CacheStore) GetOp(op cache.Op, key string) (cache.Entry, bool, error) {
	var raw []byte
	past := c.wroteLately(key)
	err := c.s.run(op, modCache, func(ctx context.Context, cl rueidis.Client) error {
		var res rueidis.RedisResult
		if past {
			res = cl.Do(ctx, cl.B().Get().Key(c.key(key)).Build())
		} else {
			res = cl.DoCache(ctx, cl.B().Get().Key(c.key(key)).Cache(), c.s.o.NearTTL)
		}
		if res.IsCacheHit() {
			c.s.nearHits.Add(1)
		} else {
			c.s.trip(modCache)
		}
		b, err := res.AsBytes()
		if rueidis.IsRedisNil(err) {
			return nil
		}
		raw = b
		return err
	})
	if err != nil || raw == nil {
		return cache.Entry{}, false, err
	}
	return decodeEntry(op, raw)
}

// decodeEntry reads a record, charging its value's size to the call first.
func decodeEntry(op cache.Op, raw []byte) (cache.Entry, bool, error) {
	expires, size, enc, err := recordHead(raw)
	if err != nil {
		return cache.Entry{}, false, err
	}
	if op.Alloc != nil {
		if err := op.Alloc(size); err != nil {
			return cache.Entry{}, false, err
		}
	}
	v, err := decodeValue(enc)
	if err != nil {
		return cache.Entry{}, false, err
	}
	return cache.Entry{Value: v, Expires: expires, Size: size}, true, nil
}

// record encodes e and the time Redis keeps it: its life plus the grace.
func (c *CacheStore) record(e cache.Entry) ([]byte, time.Duration, error) {
	rec, err := encodeRecord(e.Value, e.Expires, e.Size)
	return rec, max(e.Expires.Sub(c.s.o.Now())+c.s.o.Grace, time.Millisecond), err
}

// SetOp implements cache.Shared. Redis at its maxmemory is cache.ErrFull.
func (c *CacheStore) SetOp(op cache.Op, key string, e cache.Entry) error {
	rec, keep, err := c.record(e)
	if err != nil {
		return err
	}
	c.written(key)
	err = c.s.run(op, modCache, func(ctx context.Context, cl rueidis.Client) error {
		c.s.trip(modCache)
		return cl.Do(ctx, cl.B().Set().Key(c.key(key)).Value(rueidis.BinaryString(rec)).PxMilliseconds(ms(keep)).Build()).Error()
	})
	if isOOM(err) {
		return cache.ErrFull
	}
	return err
}

// DeleteOp implements cache.Shared.
func (c *CacheStore) DeleteOp(op cache.Op, key string) error {
	c.written(key)
	return c.s.run(op, modCache, func(ctx context.Context, cl rueidis.Client) error {
		c.s.trip(modCache)
		return cl.Do(ctx, cl.B().Del().Key(c.key(key)).Build()).Error()
	})
}

// Lead implements cache.Shared: one round trip decides whether a fresh
// value is there (Landed), this instance leads (Done), or another does;
// then it waits for that one's announcement, within op's deadline. It
// fails when the store is down or this instance is not subscribed to the
// announcements: the caller then loads by itself.
func (c *CacheStore) Lead(op cache.Op, key string) (cache.Flight, error) {
	s := c.s
	if !s.subLive.Load() {
		return cache.Flight{}, errNoSub
	}
	deadline := op.Deadline
	if deadline.IsZero() {
		deadline = time.Now().Add(maxLock)
	}
	w := s.await(key)
	defer s.unawait(key, w)
	keys := []string{c.key(key), c.lock(key)}
	for range 3 { // a lock may expire unannounced (its holder died) twice
		token := s.newToken()
		hold := min(time.Until(deadline), maxLock) + lockMargin
		var res []rueidis.RedisMessage
		err := s.runOnce(op, modCache, func(ctx context.Context, cl rueidis.Client) (err error) {
			s.trip(modCache)
			res, err = leadScript.Exec(ctx, cl, keys, []string{
				strconv.FormatInt(s.o.Now().UnixMilli(), 10), token, strconv.FormatInt(ms(hold), 10)}).ToArray()
			return err
		})
		if err != nil {
			return cache.Flight{}, err
		}
		verdict, _ := res[0].AsInt64()
		switch verdict {
		case leadLanded:
			raw, _ := res[1].AsBytes()
			e, ok, err := decodeEntry(op, raw)
			if !ok {
				return cache.Flight{}, err
			}
			return cache.Flight{Landed: &e}, nil
		case leadLeads:
			return cache.Flight{Done: c.done(key, token)}, nil
		}
		left, _ := res[1].AsInt64() // another instance leads: its lock's time left
		word, ok := c.wait(w, deadline, time.Duration(left)*time.Millisecond+lockMargin)
		switch {
		case !ok && !time.Now().Before(deadline):
			return cache.Flight{Err: cache.ErrLoaderTimeout}, nil
		case !ok:
			continue // the lock expired unannounced: ask again
		case word.err != "":
			return cache.Flight{Err: errors.New(word.err)}, nil
		}
		// Read past the near cache: Redis's invalidation may not be here yet.
		var raw []byte
		err = s.run(op, modCache, func(ctx context.Context, cl rueidis.Client) error {
			s.trip(modCache)
			b, err := cl.Do(ctx, cl.B().Get().Key(c.key(key)).Build()).AsBytes()
			if rueidis.IsRedisNil(err) {
				return nil
			}
			raw = b
			return err
		})
		if err != nil || raw == nil {
			return cache.Flight{}, err // announced but gone (evicted): load by yourself
		}
		e, ok, err := decodeEntry(op, raw)
		if !ok || !s.o.Now().Before(e.Expires) {
			return cache.Flight{}, err
		}
		return cache.Flight{Landed: &e}, nil
	}
	return cache.Flight{}, nil
}

// wait waits for the leader's word, until the deadline or for at most
// lock; ok is false when none came.
func (c *CacheStore) wait(w *waiter, deadline time.Time, lock time.Duration) (flightWord, bool) {
	c.s.waiting.Add(1)
	c.s.bump()
	defer func() {
		c.s.waiting.Add(-1)
		c.s.bump()
	}()
	t := time.NewTimer(min(time.Until(deadline), lock))
	defer t.Stop()
	select {
	case word := <-w.ch:
		return word, true
	case <-t.C:
		return flightWord{}, false
	}
}

// done is a leader's Done: it stores the entry (if any), releases the
// lock if still its own, and announces the load's end, in one step. When
// the call's deadline is too near for a round trip it does so in the
// background, within the store's timeout, so the waiters are not left to
// the lock's expiry.
func (c *CacheStore) done(key, token string) func(cache.Op, *cache.Entry, error) error {
	return func(op cache.Op, e *cache.Entry, lerr error) error {
		s := c.s
		var rec []byte
		var keep time.Duration
		word := flightWord{}
		if lerr != nil {
			word.err = lerr.Error()
		}
		if e != nil {
			var err error
			if rec, keep, err = c.record(*e); err != nil {
				rec, word.err = nil, err.Error()
			}
		}
		if rec != nil {
			c.written(key)
		}
		send := func(op cache.Op) error {
			return s.run(op, modCache, func(ctx context.Context, cl rueidis.Client) error {
				s.trip(modCache)
				return doneScript.Exec(ctx, cl, []string{c.lock(key), c.key(key)}, []string{
					token, s.channel, encodeWord(key, word), string(rec), strconv.FormatInt(ms(keep), 10)}).Error()
			})
		}
		if !op.Deadline.IsZero() && time.Until(op.Deadline) < s.o.Timeout {
			go send(cache.Op{}) // the call has its value: it need not wait
			return nil
		}
		err := send(op)
		if isOOM(err) {
			// Nothing was written; still wake the waiters, which find no
			// value and load by themselves.
			_ = s.run(cache.Op{}, modCache, func(ctx context.Context, cl rueidis.Client) error {
				s.trip(modCache)
				return cl.Do(ctx, cl.B().Publish().Channel(s.channel).Message(encodeWord(key, flightWord{})).Build()).Error()
			})
			return cache.ErrFull
		}
		return err
	}
}

// encodeWord is an announcement: the key's length, the key, then "+" for
// a stored value or "-" and the loader's error.
func encodeWord(key string, w flightWord) string {
	b := binary.AppendUvarint(nil, uint64(len(key)))
	b = append(b, key...)
	if w.err == "" {
		return string(append(b, '+'))
	}
	return string(append(append(b, '-'), w.err...))
}

func parseWord(msg string) (key string, w flightWord, ok bool) {
	n, k := binary.Uvarint([]byte(msg[:min(len(msg), binary.MaxVarintLen64)]))
	if k <= 0 || n >= uint64(len(msg)-k) {
		return "", flightWord{}, false
	}
	key, rest := msg[k:k+int(n)], msg[k+int(n):]
	switch rest[0] {
	case '+':
		return key, flightWord{}, true
	case '-':
		return key, flightWord{err: rest[1:]}, true
	}
	return "", flightWord{}, false
}

// Flush implements cache.Flusher: it scans every node for the entries
// whose key starts with prefix and unlinks them (Redis then invalidates
// every instance's near cache). Errors are logged; the count is of the
// entries removed.
func (c *CacheStore) Flush(prefix string) int {
	s := c.s
	cl := s.client()
	if cl == nil || !s.up.Load() {
		s.log.Warn("cache flush: store unreachable", "store", s.where)
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	match := globEscape(c.s.o.Prefix+"c:{"+tag(prefix)) + "*"
	removed := 0
	for addr, node := range cl.Nodes() {
		cursor := uint64(0)
		for {
			s.trip(modCache)
			page, err := node.Do(ctx, node.B().Scan().Cursor(cursor).Match(match).Count(1000).Build()).AsScanEntry()
			if err != nil {
				if !isReadOnlyReplica(err) {
					s.log.Warn("cache flush: scan failed", "store", s.where, "node", addr, "error", err)
				}
				break
			}
			if len(page.Elements) > 0 {
				cmds := make(rueidis.Commands, 0, len(page.Elements))
				for _, k := range page.Elements {
					cmds = append(cmds, cl.B().Unlink().Key(k).Build())
				}
				s.trip(modCache)
				for _, r := range cl.DoMulti(ctx, cmds...) {
					if n, err := r.AsInt64(); err == nil {
						removed += int(n)
					}
				}
			}
			if cursor = page.Cursor; cursor == 0 {
				break
			}
		}
	}
	return removed
}

func isReadOnlyReplica(err error) bool {
	var re *rueidis.RedisError
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), "READONLY")
}

// globEscape escapes SCAN MATCH's special characters.
func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
}

// ms is d in whole milliseconds, at least 1.
func ms(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

// Verdicts of leadScript.
const (
	leadLanded = 1 // a fresh value: {1, record}
	leadLeads  = 2 // the lock is this instance's: {2}
	leadWaits  = 3 // another instance holds it: {3, its milliseconds left}
)

// leadScript: KEYS entry, lock; ARGV now (Unix ms), token, lock ms.
var leadScript = rueidis.NewLuaScript(`
local v = redis.call('GET', KEYS[1])
if v and tonumber(string.sub(v, 2, 17)) > tonumber(ARGV[1]) then
  return {1, v}
end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
  return {2}
end
return {3, redis.call('PTTL', KEYS[2])}
`)

// doneScript: KEYS lock, entry; ARGV token, channel, announcement, record
// ("" for none), entry ms.
var doneScript = rueidis.NewLuaScript(`
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`)
