package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/bridge/cache"
	"github.com/ivrouter/ivrouter/bridge/redisstore"
	"github.com/ivrouter/ivrouter/bridge/redisstore/redistest"
	"github.com/ivrouter/ivrouter/bridge/state"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
	"github.com/redis/rueidis"
	lua "github.com/yuin/gopher-lua"
)

// syncBuffer is a log both the store's goroutines and the test use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) count(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.b.String(), sub)
}

// open connects a store to url and waits until it is up and subscribed.
func open(t *testing.T, url string, o redisstore.Options) *redisstore.Store {
	t.Helper()
	o.URL = url
	s, err := redisstore.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	waitUp(t, s)
	return s
}

// waitUp waits, generously, for s to be reachable and subscribed.
func waitUp(t *testing.T, s *redisstore.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.WaitUp(ctx); err != nil {
		t.Fatalf("store never came up: %v", err)
	}
}

func op(d time.Duration) cache.Op { return cache.Op{Deadline: time.Now().Add(d)} }

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want func(rueidis.ClientOption) bool
	}{
		{"redis://127.0.0.1:6379/2", func(o rueidis.ClientOption) bool {
			return o.SelectDB == 2 && o.InitAddress[0] == "127.0.0.1:6379" && o.TLSConfig == nil
		}},
		{"rediss://u:p@redis.example.com:6380/0", func(o rueidis.ClientOption) bool {
			return o.TLSConfig != nil && o.TLSConfig.ServerName == "redis.example.com" && o.Username == "u" && o.Password == "p"
		}},
		{"redis://:secret@s1:26379/0?addr=s2:26379&master_set=main&sentinel_password=sp", func(o rueidis.ClientOption) bool {
			return o.Sentinel.MasterSet == "main" && o.Sentinel.Password == "sp" && len(o.InitAddress) == 2 && o.Password == "secret"
		}},
		{"redis://n1:7000?addr=n2:7000&addr=n3:7000", func(o rueidis.ClientOption) bool {
			return reflect.DeepEqual(o.InitAddress, []string{"n1:7000", "n2:7000", "n3:7000"})
		}},
	} {
		o, err := redisstore.ParseURL(tc.url)
		if err != nil || !tc.want(o) {
			t.Errorf("%s: %+v %v", tc.url, o, err)
		}
	}
	for _, bad := range []string{"http://h:1", "redis://", "redis://h:1/x", "::", "h:6379"} {
		if _, err := redisstore.ParseURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := redisstore.ParseURL("redis://u:hunter2@h:1/x"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("an error shows the password: %v", err)
	}
	if got := redisstore.Redact("redis://u:hunter2@h:1/0?sentinel_password=sp"); strings.Contains(got, "hunter2") || strings.Contains(got, "=sp") {
		t.Errorf("Redact: %s", got)
	}
}

func TestCacheEntriesAndTheNearCache(t *testing.T) {
	srv := redistest.Start(t)
	invalidated := make(chan struct{}, 16)
	a := open(t, srv.URL(), redisstore.Options{})
	b := open(t, srv.URL(), redisstore.Options{Configure: func(o *rueidis.ClientOption) {
		o.OnInvalidations = func([]rueidis.RedisMessage) { invalidated <- struct{}{} }
	}})
	exp := time.Now().Add(time.Minute).Truncate(time.Millisecond)
	val := map[string]any{"name": "Dana", "layers": []any{5.0, 21.0}, "raw": "\xff"}
	if err := a.Cache().SetOp(op(time.Second), "crm:phone:0501234567", cache.Entry{Value: val, Expires: exp, Size: 200}); err != nil {
		t.Fatal(err)
	}
	var charged int
	for i := range 3 {
		e, ok, err := b.Cache().GetOp(cache.Op{Deadline: time.Now().Add(time.Second), Alloc: func(n int) error { charged += n; return nil }}, "crm:phone:0501234567")
		if err != nil || !ok || !reflect.DeepEqual(e.Value, val) || !e.Expires.Equal(exp) || e.Size != 200 {
			t.Fatalf("read %d: %+v %v %v", i, e, ok, err)
		}
	}
	if charged != 600 {
		t.Errorf("each read charges the value's size to the call: %d", charged)
	}
	if st := b.Stats(); st.NearHits != 2 || st.RoundTrips["cache"] != 1 {
		t.Errorf("three reads of a key: one round trip, two near-cache hits: %+v", st)
	}
	// Another instance's write invalidates the near copy.
	if err := a.Cache().SetOp(op(time.Second), "crm:phone:0501234567", cache.Entry{Value: "new", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	<-invalidated
	if e, _, _ := b.Cache().GetOp(op(time.Second), "crm:phone:0501234567"); e.Value != "new" {
		t.Errorf("after another instance's write: %#v", e.Value)
	}
	a.Cache().Delete("crm:phone:0501234567")
	<-invalidated
	if _, ok, err := b.Cache().GetOp(op(time.Second), "crm:phone:0501234567"); ok || err != nil {
		t.Errorf("after delete: %v %v", ok, err)
	}
	// A miss is near-cached too; this instance's own write replaces it.
	for i := range 50 {
		k := fmt.Sprint("fresh-", i)
		if _, ok, err := a.Cache().GetOp(op(time.Second), k); ok || err != nil {
			t.Fatalf("%s before: %v %v", k, ok, err)
		}
		if err := a.Cache().SetOp(op(time.Second), k, cache.Entry{Value: 1.0, Expires: exp}); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := a.Cache().GetOp(op(time.Second), k); !ok || err != nil {
			t.Fatalf("%s after this instance's write: %v %v", k, ok, err)
		}
		if err := a.Cache().DeleteOp(op(time.Second), k); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := a.Cache().GetOp(op(time.Second), k); ok || err != nil {
			t.Fatalf("%s after this instance's delete: %v %v", k, ok, err)
		}
	}
	// Flush drops a prefix, every instance's near copies with it.
	for _, k := range []string{"crm:1", "crm:2", "crm:{3}", "other:1", "crm*"} {
		if err := a.Cache().Set(k, cache.Entry{Value: k, Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.Cache().Flush("crm:"); n != 3 {
		t.Errorf("flush crm: removed %d", n)
	}
	for k, want := range map[string]bool{"crm:1": false, "crm:{3}": false, "other:1": true, "crm*": true} {
		if _, ok := a.Cache().Get(k); ok != want {
			t.Errorf("%s after flush: held %v", k, ok)
		}
	}
	if n := a.Cache().Flush(""); n != 2 {
		t.Errorf("flush all: removed %d", n)
	}
}

func TestStateIncrIsAtomicAcrossInstances(t *testing.T) {
	srv := redistest.Start(t)
	stores := []*redisstore.Store{open(t, srv.URL(), redisstore.Options{Timeout: 5 * time.Second}), open(t, srv.URL(), redisstore.Options{Timeout: 5 * time.Second})}
	lim := state.Limits{TTL: time.Hour, MaxCallBytes: 64 << 10}
	const n = 1000
	got := make([]float64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v, err := stores[i%2].State().Incr(op(10*time.Second), "call-1", "wrong_ids", 1, 64, lim)
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	slices.Sort(got)
	for i, v := range got {
		if v != float64(i+1) {
			t.Fatalf("%d concurrent incr on two instances: result %d is %v, want 1..%d with none lost or repeated", n, i, v, n)
		}
	}
	if st := stores[0].Stats(); st.RoundTrips["state"] != n/2 {
		t.Errorf("one round trip per incr: %+v", st.RoundTrips)
	}
	raw := rawClient(t, srv)
	ttl, err := raw.Do(context.Background(), raw.B().Pttl().Key("ivrouter:s:call-1").Build()).AsInt64()
	if err != nil || ttl <= 0 || ttl > time.Hour.Milliseconds() {
		t.Errorf("the call's state expires with the state TTL: PTTL %d %v", ttl, err)
	}
}

func rawClient(t *testing.T, srv *redistest.Server) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr()}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestStateValuesAndBounds(t *testing.T) {
	srv := redistest.Start(t)
	st := open(t, srv.URL(), redisstore.Options{}).State()
	lim := state.Limits{TTL: time.Minute, MaxCallBytes: 300}
	val := map[string]any{"name": "Dana", "tries": []any{1.0, "\xff"}}
	if err := st.Set(op(time.Second), "c", "who", val, 150, lim); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Get(op(time.Second), "c", "who"); err != nil || !reflect.DeepEqual(v, val) {
		t.Errorf("get: %#v %v", v, err)
	}
	if v, err := st.Get(op(time.Second), "c", "missing"); v != nil || err != nil {
		t.Errorf("a missing key: %#v %v", v, err)
	}
	var big *state.TooLargeError
	if err := st.Set(op(time.Second), "c", "more", "x", 150, lim); !errors.As(err, &big) || big.Size != 48+150+150 {
		t.Errorf("past the call's bound: %v", err)
	}
	if err := st.Set(op(time.Second), "c", "who", "small", 100, lim); err != nil {
		t.Errorf("a smaller value for a held key: %v", err)
	}
	if _, err := st.Incr(op(time.Second), "c", "n", 1, 200, lim); !errors.As(err, &big) {
		t.Errorf("a new counter past the bound: %v", err)
	}
	var nn *state.NotNumberError
	if _, err := st.Incr(op(time.Second), "c", "who", 1, 64, lim); !errors.As(err, &nn) || nn.Value != "small" {
		t.Errorf("incr of a string: %v", err)
	}
	if err := st.Set(op(time.Second), "c", "who", nil, 0, lim); err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{0.1, 0.30000000000000004, -1e300 + 0.30000000000000004} {
		add := []float64{0.1, 0.2, -1e300}[i]
		if v, err := st.Incr(op(time.Second), "c", "f", add, 64, lim); err != nil || v != want {
			t.Errorf("incr %v: %v %v, want %v as Lua adds", add, v, err, want)
		}
	}
	if err := st.Set(op(time.Second), "c", "n", 7.0, 64, lim); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Incr(op(time.Second), "c", "n", 2, 64, lim); err != nil || v != 9 {
		t.Errorf("incr of a number state.set stored: %v %v", v, err)
	}
}

// A script's cache.remember on two instances, 100 calls at once on each:
// one loader call for all 200.
func TestRememberIsOneLoadAcrossInstances(t *testing.T) {
	srv := redistest.Start(t)
	var loads atomic.Int64
	entered := make(chan struct{})
	release := make(chan struct{})
	crm := luavm.Module{Name: "crm", Loader: func(L *lua.LState) int {
		L.Push(L.NewFunction(func(L *lua.LState) int {
			if loads.Add(1) == 1 {
				close(entered)
			}
			<-release
			L.Push(lua.LString("Dana"))
			return 1
		}))
		return 1
	}}
	script := map[string]string{"r.lua": `local cache = require("cache") local crm = require("crm")
		return function(key)
		  local v, err = cache.remember(key, 60, function() return crm() end)
		  return tostring(v) .. "," .. tostring(err)
		end`}
	const calls = 100
	var engines []*luavm.Engine
	var stores []*redisstore.Store
	for range 2 {
		// 200 calls at once under -race: Redis is not slow, the machine is.
		s := open(t, srv.URL(), redisstore.Options{Timeout: 5 * time.Second})
		stores = append(stores, s)
		m := cache.New(cache.Options{Store: s.Cache()})
		engines = append(engines, luavmtest.Engine(t, script, luavm.Options{VMs: calls, Deadline: 4 * time.Second,
			Modules: []luavm.Module{{Name: "cache", Loader: m.Loader}, crm}}))
	}
	results := make(chan string, 2*calls)
	var wg sync.WaitGroup
	for i := range 2 * calls {
		wg.Go(func() {
			out, err := luavmtest.Run(engines[i%2], "r", fmt.Sprint("call-", i), "crm:phone:0501234567")
			if err != nil {
				out = err.Error()
			}
			results <- out
		})
	}
	// The first loader holds until the other instance waits for it.
	<-entered
	waitWaiting(t, stores[0], stores[1])
	close(release)
	wg.Wait()
	close(results)
	for out := range results {
		if out != "Dana,nil" {
			t.Errorf("a call got %q", out)
		}
	}
	if n := loads.Load(); n != 1 {
		t.Errorf("%d loader calls for 2 instances × %d concurrent misses, want 1", n, calls)
	}
	for _, s := range stores {
		if st := s.Stats(); st.Transitions != 0 || st.Errors["cache"]["down"] != 0 {
			t.Errorf("the store went down: %+v", st)
		}
	}
}

// waitWaiting waits, generously, until one of stores waits for another
// instance's load.
func waitWaiting(t *testing.T, stores ...*redisstore.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan error, len(stores))
	for _, s := range stores {
		go func() { got <- s.WaitWaiting(ctx, 1) }()
	}
	if err := <-got; err != nil {
		t.Fatal("no instance waited for another's load")
	}
	cancel()
}

// A loader that fails on one instance fails the other's waiting call too,
// which then gets the stale value, as a call waiting in the same process
// would.
func TestALoaderErrorReachesTheOtherInstance(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv.URL(), redisstore.Options{}), open(t, srv.URL(), redisstore.Options{})
	lead, err := a.Cache().Lead(op(3*time.Second), "k")
	if err != nil || lead.Done == nil {
		t.Fatalf("the first to ask leads: %+v %v", lead, err)
	}
	got := make(chan cache.Flight)
	go func() {
		f, err := b.Cache().Lead(op(3*time.Second), "k")
		if err != nil {
			t.Error(err)
		}
		got <- f
	}()
	waitWaiting(t, b)
	if err := lead.Done(op(time.Second), nil, errors.New("CRM answered 500")); err != nil {
		t.Fatal(err)
	}
	if f := <-got; f.Err == nil || f.Err.Error() != "CRM answered 500" {
		t.Errorf("the waiter: %+v", f)
	}
	// The lock is released: the next to ask leads, and its value lands
	// for the one after.
	lead, _ = b.Cache().Lead(op(3*time.Second), "k")
	if lead.Done == nil {
		t.Fatalf("after a failed load: %+v", lead)
	}
	if err := lead.Done(op(time.Second), &cache.Entry{Value: "v", Expires: time.Now().Add(time.Minute)}, nil); err != nil {
		t.Fatal(err)
	}
	if f, err := a.Cache().Lead(op(3*time.Second), "k"); err != nil || f.Landed == nil || f.Landed.Value != "v" {
		t.Errorf("after a load: %+v %v", f, err)
	}
}

// A leader that never says (its process died) holds its lock until its
// deadline; the waiter then asks again and leads, within its own deadline.
func TestAnExpiredLockIsTakenOver(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv.URL(), redisstore.Options{}), open(t, srv.URL(), redisstore.Options{})
	if lead, err := a.Cache().Lead(op(100*time.Millisecond), "k"); err != nil || lead.Done == nil {
		t.Fatalf("%+v %v", lead, err)
	}
	f, err := b.Cache().Lead(op(10*time.Second), "k")
	if err != nil || f.Done == nil {
		t.Errorf("after the lock expired: %+v %v", f, err)
	}
	// A waiter whose deadline comes first gives up, as a waiter in the
	// same process does.
	f, err = a.Cache().Lead(op(100*time.Millisecond), "k")
	if err != nil || !errors.Is(f.Err, cache.ErrLoaderTimeout) {
		t.Errorf("a waiter at its deadline: %+v %v", f, err)
	}
}

// Redis killed: operations fail, at once after the first; logged once each
// way; back by itself after a restart.
func TestRedisDownAndBack(t *testing.T) {
	srv := redistest.Start(t)
	var log syncBuffer
	s := open(t, srv.URL(), redisstore.Options{Timeout: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	lim := state.Limits{TTL: time.Minute, MaxCallBytes: 1 << 10}
	if _, err := s.State().Incr(op(time.Second), "c", "n", 1, 64, lim); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	for i := range 20 {
		began := time.Now()
		_, err := s.State().Incr(op(time.Second), "c", "n", 1, 64, lim)
		if err == nil {
			t.Fatalf("incr %d with Redis killed succeeded", i)
		}
		if i > 0 && !errors.Is(err, redisstore.ErrDown) {
			t.Errorf("incr %d: %v, want %v", i, err, redisstore.ErrDown)
		}
		if took := time.Since(began); took > 2*time.Second {
			t.Errorf("incr %d took %v with Redis down", i, took)
		}
		if _, ok, err := s.Cache().GetOp(op(time.Second), "k"); ok || err == nil {
			t.Errorf("cache read with Redis down: %v %v", ok, err)
		}
	}
	if s.Up() {
		t.Error("still up")
	}
	st := s.Stats()
	if st.Errors["state"]["down"] < 19 || st.Errors["cache"]["down"] < 19 || st.Up {
		t.Errorf("errors not counted: %+v", st)
	}
	srv.Restart()
	waitUp(t, s)
	if v, err := s.State().Incr(op(time.Second), "c", "n", 1, 64, lim); err != nil || v != 1 {
		t.Errorf("after the restart (an empty Redis): %v %v", v, err)
	}
	if down, back := log.count("store unreachable:"), log.count("store reachable again"); down != 1 || back != 1 {
		t.Errorf("transitions logged %d down and %d back, want once each:\n%s", down, back, log.String())
	}
	if st := s.Stats(); st.Transitions != 2 || !st.Up {
		t.Errorf("%+v", st)
	}
}

// Redis stopped (SIGSTOP): an operation gives up at the store's timeout,
// the next ones at once; SIGCONT and it is back.
func TestRedisSlow(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv.URL(), redisstore.Options{Timeout: 200 * time.Millisecond})
	lim := state.Limits{TTL: time.Minute, MaxCallBytes: 1 << 10}
	srv.Pause()
	began := time.Now()
	if _, err := s.State().Get(op(3*time.Second), "c", "n"); err == nil || !strings.Contains(err.Error(), "timed out after 200ms") {
		t.Errorf("with Redis stopped: %v", err)
	}
	if took := time.Since(began); took > 2*time.Second { // the store's timeout, not the call's 3 s
		t.Errorf("took %v", took)
	}
	if _, err := s.State().Incr(op(3*time.Second), "c", "n", 1, 64, lim); !errors.Is(err, redisstore.ErrDown) {
		t.Errorf("next: %v", err)
	}
	// A call with less time left than the store's timeout gives up at its
	// own deadline, and Redis is not blamed for it.
	srv.Resume()
	waitUp(t, s)
	srv.Pause()
	began = time.Now()
	if _, err := s.State().Get(op(50*time.Millisecond), "c", "n"); !errors.Is(err, redisstore.ErrDeadline) {
		t.Errorf("a call's deadline first: %v", err)
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("took %v", took)
	}
	if !s.Up() {
		t.Error("marked down for the call's own deadline")
	}
	srv.Resume()
	if _, err := s.State().Incr(op(3*time.Second), "c", "n", 1, 64, lim); err != nil {
		t.Errorf("after SIGCONT: %v", err)
	}
}

// A Redis not there at start is a Redis down: the store starts anyway and
// comes up when Redis does.
func TestStartsWithRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	srv.Kill()
	s, err := redisstore.New(redisstore.Options{URL: srv.URL(), Timeout: 100 * time.Millisecond, DialTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.State().Get(op(time.Second), "c", "k"); !errors.Is(err, redisstore.ErrDown) {
		t.Errorf("before Redis: %v", err)
	}
	srv.Restart()
	waitUp(t, s)
	if err := s.State().Set(op(time.Second), "c", "k", "v", 64, state.Limits{TTL: time.Minute, MaxCallBytes: 1 << 10}); err != nil {
		t.Error(err)
	}
}

// The same store through a Redis Cluster's nodes, a Sentinel, and TLS:
// state across instances, a load announced to the other instance, a flush
// over every node.
func TestClusterSentinelAndTLS(t *testing.T) {
	for name, url := range map[string]func(t *testing.T) (string, func(*rueidis.ClientOption)){
		"cluster": func(t *testing.T) (string, func(*rueidis.ClientOption)) { return redistest.StartCluster(t, 3), nil },
		"sentinel": func(t *testing.T) (string, func(*rueidis.ClientOption)) {
			return redistest.StartSentinel(t, redistest.Start(t)), nil
		},
		"tls": func(t *testing.T) (string, func(*rueidis.ClientOption)) {
			srv, roots := redistest.StartTLS(t)
			return srv.URL(), func(o *rueidis.ClientOption) { o.TLSConfig.RootCAs = roots }
		},
	} {
		t.Run(name, func(t *testing.T) {
			u, configure := url(t)
			o := redisstore.Options{Timeout: 5 * time.Second, Configure: configure}
			a, b := open(t, u, o), open(t, u, o)
			lim := state.Limits{TTL: time.Minute, MaxCallBytes: 1 << 16}
			var wg sync.WaitGroup
			for i := range 100 {
				wg.Go(func() {
					if _, err := []*redisstore.Store{a, b}[i%2].State().Incr(op(10*time.Second), fmt.Sprint("call-", i%5), "n", 1, 64, lim); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			for i := range 5 {
				if v, err := b.State().Get(op(time.Second), fmt.Sprint("call-", i), "n"); v != 20.0 || err != nil {
					t.Errorf("call-%d: %v %v", i, v, err)
				}
			}
			for i := range 20 {
				if err := a.Cache().SetOp(op(time.Second), fmt.Sprint("crm:", i), cache.Entry{Value: "v", Expires: time.Now().Add(time.Minute)}); err != nil {
					t.Fatal(err)
				}
			}
			lead, err := a.Cache().Lead(op(5*time.Second), "crm:lead")
			if err != nil || lead.Done == nil {
				t.Fatalf("%+v %v", lead, err)
			}
			got := make(chan cache.Flight, 1)
			go func() {
				f, err := b.Cache().Lead(op(5*time.Second), "crm:lead")
				if err != nil {
					t.Error(err)
				}
				got <- f
			}()
			waitWaiting(t, b)
			if err := lead.Done(op(time.Second), &cache.Entry{Value: "loaded", Expires: time.Now().Add(time.Minute)}, nil); err != nil {
				t.Fatal(err)
			}
			if f := <-got; f.Landed == nil || f.Landed.Value != "loaded" {
				t.Errorf("the other instance's load: %+v", f)
			}
			if n := b.Cache().Flush("crm:"); n != 21 {
				t.Errorf("flush removed %d of 21 entries", n)
			}
		})
	}
}
