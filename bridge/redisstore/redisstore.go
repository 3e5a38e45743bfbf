// Package redisstore keeps the cache and state modules' entries in Redis,
// so that several ivrouter instances behind a load balancer share them: a
// call's layers may land on any instance and still see its state, and one
// CRM request serves a key's misses on every instance.
//
// It is built on rueidis: RESP3 with server-assisted client-side caching
// (a near cache of hot keys, invalidated by Redis when another instance
// writes them, so a hit costs no round trip), auto-pipelining of concurrent
// calls' commands on a few connections, and Sentinel and Cluster clients
// behind the same interface.
//
// Redis is never on the critical path of an answer: every operation's time
// comes out of the call's deadline and is bounded by Options.Timeout; once
// an operation finds Redis unreachable or slow, the store is marked down
// (logged once) and operations fail at once, without a round trip, until a
// background probe with backoff finds it again (logged once). Meanwhile
// the cache asks the CRM directly and state fails as nil, err.
package redisstore

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ivrouter/ivrouter/bridge/cache"
	"github.com/redis/rueidis"
)

// Options configure a Store; zero fields take the defaults below.
type Options struct {
	// URL is where Redis is: redis://[user:pass@]host:port/db, rediss://
	// for TLS; more addresses as ?addr=host:port (repeatable): a Cluster's
	// nodes, or Sentinels with ?master_set=NAME (and
	// sentinel_password=...). See ParseURL.
	URL string
	// Configure, when set, adjusts the client options parsed from URL
	// after the store's own settings (TLS roots, a dialer): for embedders
	// and tests.
	Configure func(*rueidis.ClientOption)
	// Prefix starts every key the store writes (default "ivrouter:"), so
	// instances of different deployments can share one Redis.
	Prefix string
	// Timeout bounds one operation when the call leaves more time than
	// that (default 250 ms): past it, Redis counts as slow, and the store
	// as down until a probe answers.
	Timeout time.Duration
	// DialTimeout bounds connecting, TLS and the handshake (default 1 s).
	DialTimeout time.Duration
	// NearTTL bounds how long a value stays in the near cache (default 1
	// minute); Redis invalidates it sooner when the key changes.
	NearTTL time.Duration
	// NearBytes bounds the near cache (default 16 MiB), over all
	// connections.
	NearBytes int
	// Grace is how long an expired cache entry is kept to stand in when
	// its loader fails (default cache.DefaultGrace).
	Grace time.Duration
	// Backoff is the first wait before probing a store that went down
	// (default 50 ms); it doubles up to MaxBackoff (default 5 s).
	Backoff, MaxBackoff time.Duration
	// Logger receives the transitions (down, back); nil discards them.
	Logger *slog.Logger
	// Now is the clock cache entries expire by (default time.Now).
	Now func() time.Time
}

// Defaults for zero Options fields.
const (
	DefaultPrefix      = "ivrouter:"
	DefaultTimeout     = 250 * time.Millisecond
	DefaultDialTimeout = time.Second
	DefaultNearTTL     = time.Minute
	DefaultNearBytes   = 16 << 20
	DefaultBackoff     = 50 * time.Millisecond
	DefaultMaxBackoff  = 5 * time.Second
)

// pipelineMultiplex -1 is one connection per Redis node (rueidis reads 0
// as its default, two or four), which auto-pipelining fills: so the
// probe's PING that finds Redis again has dialled the connection every
// operation then uses, and no other connection is left to fail once more
// with a stale error (redis/rueidis#149).
const pipelineMultiplex = -1

// ParseURL checks a store URL and returns the client options it names;
// nothing is connected. Besides rueidis's own (db, dial_timeout, addr,
// master_set, client_name, skip_verify, protocol, client_cache), it reads
// sentinel_username and sentinel_password.
func ParseURL(raw string) (rueidis.ClientOption, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return rueidis.ClientOption{}, fmt.Errorf("%q is not a URL", Redact(raw))
	}
	switch u.Scheme {
	case "redis", "rediss":
	default:
		return rueidis.ClientOption{}, fmt.Errorf("%q: the scheme must be redis:// or rediss:// (TLS)", Redact(raw))
	}
	if u.Host == "" {
		return rueidis.ClientOption{}, fmt.Errorf("%q names no host (use redis://host:port/db)", Redact(raw))
	}
	opt, err := rueidis.ParseURL(raw)
	if err != nil {
		return rueidis.ClientOption{}, fmt.Errorf("%q: %v", Redact(raw), err)
	}
	q := u.Query()
	if opt.Sentinel.MasterSet != "" {
		opt.Sentinel.Username = q.Get("sentinel_username")
		opt.Sentinel.Password = q.Get("sentinel_password")
		opt.Sentinel.TLSConfig = opt.TLSConfig
		opt.Sentinel.TopologyRefreshInterval = 5 * time.Second
	}
	return opt, nil
}

// Redact is raw with its password masked, for logs.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	q := u.Query()
	if q.Has("sentinel_password") {
		q.Set("sentinel_password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Errors operations return besides Redis's own.
var (
	// ErrDown is an operation refused without a round trip: the store is
	// down until a probe finds it again.
	ErrDown = errors.New("store unreachable")
	// ErrDeadline is an operation the call's deadline left no time for.
	ErrDeadline = errors.New("store: the call's deadline came first")
	errNoSub    = errors.New("store: not subscribed to the flights channel")
)

// Module and reason indexes of the counters.
const (
	modCache = iota
	modState
	modules
)

const (
	reasonDown        = iota // refused at once: the store is down
	reasonTimeout            // no answer within Options.Timeout
	reasonUnreachable        // a connection error
	reasonDeadline           // the call's deadline came first
	reasonError              // Redis answered an error
	reasons
)

var (
	moduleNames = [modules]string{"cache", "state"}
	reasonNames = [reasons]string{"down", "timeout", "unreachable", "deadline", "error"}
)

// Stats are a store's counters, for metrics.
type Stats struct {
	// Up is whether the store is reachable (the last operation or probe
	// got an answer).
	Up bool
	// RoundTrips counts requests sent, by module ("cache", "state").
	RoundTrips map[string]uint64
	// Errors counts failed operations by module and reason: "down"
	// (refused at once while the store is down), "timeout" (no answer
	// within Options.Timeout), "unreachable" (a connection error),
	// "deadline" (the call's deadline came first), "error" (an error
	// answered by Redis).
	Errors map[string]map[string]uint64
	// NearHits counts cache reads the near cache answered, without a
	// round trip.
	NearHits uint64
	// Waiting is how many loads this instance is waiting for another
	// instance to finish.
	Waiting int64
	// Transitions counts up→down and down→up changes.
	Transitions uint64
}

// Store is a connection to Redis shared by a CacheStore (Cache) and a
// StateStore (State). It is safe for concurrent use.
type Store struct {
	o       Options
	copt    rueidis.ClientOption
	where   string // the URL, redacted
	log     *slog.Logger
	channel string // where loads are announced
	tokens  string // this instance's lock token prefix
	seq     atomic.Uint64

	cl atomic.Pointer[client]
	up atomic.Bool

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced at every change of up, subLive or waiting
	downSince time.Time
	closed    bool
	stop      chan struct{}
	cancel    context.CancelFunc // the subscription's
	wg        sync.WaitGroup

	subLive atomic.Bool
	wmu     sync.Mutex
	waiters map[string]map[*waiter]struct{}
	waiting atomic.Int64

	roundTrips  [modules]atomic.Uint64
	errs        [modules][reasons]atomic.Uint64
	nearHits    atomic.Uint64
	transitions atomic.Uint64

	cache *CacheStore
	state *StateStore
}

type client struct{ rueidis.Client }

// waiter is a load this instance waits for another instance to finish.
type waiter struct{ ch chan flightWord }

// flightWord is what a leading instance announces when its load ends: ""
// when its value is stored, else its loader's error.
type flightWord struct{ err string }

// New returns a store for o.URL, connected unless Redis does not answer
// within the dial timeout: a Redis that is down at start is the same as one
// that goes down later, probed in the background. Only a bad URL is an
// error.
func New(o Options) (*Store, error) {
	copt, err := ParseURL(o.URL)
	if err != nil {
		return nil, err
	}
	o = o.withDefaults()
	copt.DisableRetry = true // a failed command is a fallback now, not a retry that eats the deadline
	copt.Dialer.Timeout = o.DialTimeout
	copt.Sentinel.Dialer.Timeout = o.DialTimeout
	copt.ConnWriteTimeout = max(4*o.Timeout, 2*time.Second)
	copt.PipelineMultiplex = pipelineMultiplex
	copt.CacheSizeEachConn = max(o.NearBytes, 1<<20)
	copt.RingScaleEachConn = 8
	copt.ReadBufferEachConn, copt.WriteBufferEachConn = 64<<10, 64<<10
	if copt.ClientName == "" {
		copt.ClientName = "ivrouter"
	}
	if o.Configure != nil {
		o.Configure(&copt)
	}
	var id [8]byte
	_, _ = crand.Read(id[:])
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{
		o: o, copt: copt, where: Redact(o.URL), log: o.Logger,
		channel: o.Prefix + "flights", tokens: hex.EncodeToString(id[:]) + ":",
		changed: make(chan struct{}), stop: make(chan struct{}), cancel: cancel,
		waiters: map[string]map[*waiter]struct{}{},
	}
	s.cache = &CacheStore{s: s}
	s.state = &StateStore{s: s}
	s.wg.Add(1)
	go s.subscribe(ctx)
	err = s.ping()
	if err == nil {
		s.set(&s.up, true)
		s.log.Info("store connected", "store", s.where, "mode", string(s.client().Mode()))
		return s, nil
	}
	s.downSince = time.Now()
	s.log.Warn("store unreachable at start: the cache asks the CRM directly and state fails until it is reachable", "store", s.where, "error", err)
	s.wg.Add(1)
	go s.probe()
	return s, nil
}

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	set := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&o.Timeout, DefaultTimeout)
	set(&o.DialTimeout, DefaultDialTimeout)
	set(&o.NearTTL, DefaultNearTTL)
	set(&o.Grace, cache.DefaultGrace)
	set(&o.Backoff, DefaultBackoff)
	set(&o.MaxBackoff, DefaultMaxBackoff)
	if o.NearBytes <= 0 {
		o.NearBytes = DefaultNearBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Cache is the store of the cache module.
func (s *Store) Cache() *CacheStore { return s.cache }

// State is the store of the state module.
func (s *Store) State() *StateStore { return s.state }

// Where is the store's URL, its password masked.
func (s *Store) Where() string { return s.where }

// Close stops probing and subscribing and closes the connections;
// operations then fail.
func (s *Store) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.stop)
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	if c := s.cl.Load(); c != nil {
		c.Close()
	}
}

// Stats returns the counters.
func (s *Store) Stats() Stats {
	st := Stats{Up: s.up.Load(), RoundTrips: map[string]uint64{}, Errors: map[string]map[string]uint64{},
		NearHits: s.nearHits.Load(), Waiting: s.waiting.Load(), Transitions: s.transitions.Load()}
	for m := range modules {
		st.RoundTrips[moduleNames[m]] = s.roundTrips[m].Load()
		errs := map[string]uint64{}
		for r := range reasons {
			errs[reasonNames[r]] = s.errs[m][r].Load()
		}
		st.Errors[moduleNames[m]] = errs
	}
	return st
}

// Up reports whether the store is reachable.
func (s *Store) Up() bool { return s.up.Load() }

// WaitUp blocks until the store is reachable and subscribed to the flights
// channel (so cache loads are single-flight across instances again), or ctx
// ends.
func (s *Store) WaitUp(ctx context.Context) error {
	return s.waitFor(ctx, func() bool { return s.up.Load() && s.subLive.Load() })
}

// WaitWaiting blocks until at least n loads of this instance wait for
// another instance's, or ctx ends: for tests.
func (s *Store) WaitWaiting(ctx context.Context, n int64) error {
	return s.waitFor(ctx, func() bool { return s.waiting.Load() >= n })
}

// WaitDown blocks until the store is marked down, or ctx ends.
func (s *Store) WaitDown(ctx context.Context) error {
	return s.waitFor(ctx, func() bool { return !s.up.Load() })
}

func (s *Store) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// bump wakes whoever waits for a change.
func (s *Store) bump() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// set changes a flag of the store's state and wakes whoever waits on it.
func (s *Store) set(flag *atomic.Bool, v bool) bool {
	s.mu.Lock()
	changed := flag.Swap(v) != v
	if changed {
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.mu.Unlock()
	return changed
}

func (s *Store) client() rueidis.Client {
	if c := s.cl.Load(); c != nil {
		return c.Client
	}
	return nil
}

// connect makes the client, once: rueidis reconnects by itself after that.
func (s *Store) connect() error {
	if s.cl.Load() != nil {
		return nil
	}
	c, err := rueidis.NewClient(s.copt)
	if errors.Is(err, rueidis.ErrNoCache) { // a Redis before 6, or RESP2 only: no near cache
		s.copt.DisableCache = true
		c, err = rueidis.NewClient(s.copt)
		if err == nil {
			s.log.Warn("store has no client-side caching (Redis before 6?): every cache read is a round trip", "store", s.where)
		}
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return ErrDown
	}
	s.cl.Store(&client{c})
	return nil
}

// ping is one probe: connect if never connected, then PING.
func (s *Store) ping() error {
	if err := s.connect(); err != nil {
		return err
	}
	c := s.client()
	ctx, cancel := context.WithTimeout(context.Background(), max(s.o.Timeout, s.o.DialTimeout))
	defer cancel()
	return c.Do(ctx, c.B().Ping().Build()).Error()
}

// probe runs while the store is down: it pings with backoff until Redis
// answers, then marks the store up.
func (s *Store) probe() {
	defer s.wg.Done()
	delay := s.o.Backoff
	for {
		// Full jitter around the delay, so instances do not probe in step.
		t := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
		if err := s.ping(); err == nil {
			s.mu.Lock()
			since := s.downSince
			s.mu.Unlock()
			s.transitions.Add(1)
			s.log.Info("store reachable again", "store", s.where, "down_for", time.Since(since).Round(time.Millisecond))
			s.set(&s.up, true)
			return
		}
		delay = min(2*delay, s.o.MaxBackoff)
	}
}

// markDown marks the store down after err, logs it, and starts probing;
// once per transition.
func (s *Store) markDown(err error) {
	s.mu.Lock()
	if s.closed || !s.up.Load() {
		s.mu.Unlock()
		return
	}
	s.downSince = time.Now()
	s.wg.Add(1)
	s.mu.Unlock()
	if !s.set(&s.up, false) {
		s.wg.Done()
		return
	}
	s.transitions.Add(1)
	s.log.Warn("store unreachable: the cache asks the CRM directly and state fails until it is back", "store", s.where, "error", err)
	go s.probe()
}

// run is one operation of module m: fn sends its commands within ctx,
// counting each round trip with trip. While the store is down it fails at
// once; the time it may take is the call's (op.Deadline), at most
// Options.Timeout. fn must be idempotent: a connection found broken (Redis
// restarted, or it closed an idle connection) is dialled again and fn
// retried once, within the same time.
func (s *Store) run(op cache.Op, m int, fn func(ctx context.Context, c rueidis.Client) error) error {
	return s.do(op, m, true, fn)
}

// runOnce is run for an fn that must not run twice (state.incr).
func (s *Store) runOnce(op cache.Op, m int, fn func(ctx context.Context, c rueidis.Client) error) error {
	return s.do(op, m, false, fn)
}

func (s *Store) do(op cache.Op, m int, retry bool, fn func(ctx context.Context, c rueidis.Client) error) error {
	c := s.client()
	if c == nil || !s.up.Load() {
		s.errs[m][reasonDown].Add(1)
		return ErrDown
	}
	now := time.Now()
	deadline, own := now.Add(s.o.Timeout), true
	if !op.Deadline.IsZero() && op.Deadline.Before(deadline) {
		deadline, own = op.Deadline, false
	}
	if !now.Before(deadline) {
		s.errs[m][reasonDeadline].Add(1)
		return ErrDeadline
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	err := fn(ctx, c)
	if err != nil && retry && ctx.Err() == nil && !errors.As(err, new(*rueidis.RedisError)) {
		err = fn(ctx, c)
	}
	if err == nil {
		return nil
	}
	return s.failed(m, err, own)
}

// trip counts a round trip of module m.
func (s *Store) trip(m int) { s.roundTrips[m].Add(1) }

// failed counts err and marks the store down when it says Redis is
// unreachable or slow; it returns the error for the script.
func (s *Store) failed(m int, err error, own bool) error {
	var re *rueidis.RedisError
	switch {
	case errors.As(err, &re) && !re.IsLoading() && !re.IsClusterDown() && !re.IsTryAgain():
		s.errs[m][reasonError].Add(1)
		return fmt.Errorf("store: %w", err)
	case errors.Is(err, context.DeadlineExceeded) && own:
		s.errs[m][reasonTimeout].Add(1)
		err = fmt.Errorf("store timed out after %v", s.o.Timeout)
		s.markDown(err)
		return err
	case errors.Is(err, context.DeadlineExceeded):
		s.errs[m][reasonDeadline].Add(1)
		return ErrDeadline
	}
	s.errs[m][reasonUnreachable].Add(1)
	s.markDown(err)
	return fmt.Errorf("%w: %v", ErrDown, err)
}

// isOOM reports whether Redis refused a write at its maxmemory.
func isOOM(err error) bool {
	var re *rueidis.RedisError
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), "OOM")
}

// subscribe keeps this instance subscribed to the flights channel, where
// leading instances announce the end of their loads.
func (s *Store) subscribe(ctx context.Context) {
	defer s.wg.Done()
	ctx = rueidis.WithOnSubscriptionHook(ctx, func(sub rueidis.PubSubSubscription) {
		if sub.Channel == s.channel {
			s.set(&s.subLive, sub.Kind == "subscribe")
		}
	})
	delay := s.o.Backoff
	for ctx.Err() == nil {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		c := s.client()
		if c == nil || !s.up.Load() {
			select { // down: until it is up
			case <-ctx.Done():
			case <-changed:
			}
			continue
		}
		began := time.Now()
		_ = c.Receive(ctx, c.B().Subscribe().Channel(s.channel).Build(), s.announced)
		s.set(&s.subLive, false)
		if time.Since(began) > s.o.MaxBackoff {
			delay = s.o.Backoff // it was subscribed a while: start the backoff afresh
		}
		s.mu.Lock()
		changed = s.changed
		s.mu.Unlock()
		t := time.NewTimer(delay)
		select { // the backoff, cut short when the store goes down or comes back
		case <-ctx.Done():
		case <-changed:
		case <-t.C:
		}
		t.Stop()
		delay = min(2*delay, s.o.MaxBackoff)
	}
}

// announced wakes this instance's waiters for the key a message names.
func (s *Store) announced(msg rueidis.PubSubMessage) {
	key, word, ok := parseWord(msg.Message)
	if !ok {
		return
	}
	s.wmu.Lock()
	for w := range s.waiters[key] {
		select {
		case w.ch <- word:
		default:
		}
	}
	s.wmu.Unlock()
}

// await registers a waiter for key's announcement, before asking who
// leads, so that no announcement is missed.
func (s *Store) await(key string) *waiter {
	w := &waiter{ch: make(chan flightWord, 1)}
	s.wmu.Lock()
	ws := s.waiters[key]
	if ws == nil {
		ws = map[*waiter]struct{}{}
		s.waiters[key] = ws
	}
	ws[w] = struct{}{}
	s.wmu.Unlock()
	return w
}

func (s *Store) unawait(key string, w *waiter) {
	s.wmu.Lock()
	if ws := s.waiters[key]; ws != nil {
		delete(ws, w)
		if len(ws) == 0 {
			delete(s.waiters, key)
		}
	}
	s.wmu.Unlock()
}

// newToken is a lock token no other lock holder has.
func (s *Store) newToken() string {
	return s.tokens + fmt.Sprint(s.seq.Add(1))
}
