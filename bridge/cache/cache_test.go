package cache_test

import (
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/bridge/cache"
	bhttp "github.com/ivrouter/ivrouter/bridge/http"
	"github.com/ivrouter/ivrouter/bridge/http/crmstub"
	bjson "github.com/ivrouter/ivrouter/bridge/json"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
)

// clock is a settable time for expiry tests.
type clock struct{ ns atomic.Int64 }

func newClock() *clock               { c := &clock{}; c.ns.Store(time.Now().UnixNano()); return c }
func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

func engine(t *testing.T, m *cache.Module, vms int, files map[string]string, extra ...luavm.Module) *luavm.Engine {
	t.Helper()
	mods := append([]luavm.Module{{Name: "cache", Loader: m.Loader}}, extra...)
	return luavmtest.Engine(t, files, luavm.Options{VMs: vms, Modules: mods})
}

func TestGetSetDeleteRoundTripPlainData(t *testing.T) {
	m := cache.New(cache.Options{})
	e := engine(t, m, 2, map[string]string{
		"set.lua": `local cache = require("cache") return function(k)
			assert(cache.set(k, { name = "Dana", n = 42, ok = true, list = { 1, "two", 3.5 }, nested = { deep = { x = "y" } } }, 60))
			return "set" end`,
		"get.lua": `local cache = require("cache") return function(k)
			local v, err = cache.get(k)
			if not v then return "nil:" .. err end
			v.name = "changed in this VM only"
			return table.concat({ v.n, tostring(v.ok), v.list[1], v.list[2], v.list[3], #v.list, v.nested.deep.x }, ",")
		end`,
		"del.lua": `local cache = require("cache") return function(k) cache.delete(k) return "deleted" end`,
		"bad.lua": `local cache = require("cache") return function(k) cache.set(k, { f = print }, 60) return "stored" end`,
	})
	run := func(name, key string) string {
		out, err := luavmtest.Run(e, name, "c", key)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return out
	}
	if got := run("get", "k"); got != "nil:miss" {
		t.Errorf("before set: %q", got)
	}
	run("set", "k")
	for i := 0; i < 3; i++ { // each get is a fresh copy
		if got := run("get", "k"); got != "42,true,1,two,3.5,3,y" {
			t.Errorf("get %d: %q", i, got)
		}
	}
	run("del", "k")
	if got := run("get", "k"); got != "nil:miss" {
		t.Errorf("after delete: %q", got)
	}
	if _, err := luavmtest.Run(e, "bad", "c", "k"); err == nil || !strings.Contains(err.Error(), "cache.set: value cannot be cached: f: a function is not plain data") {
		t.Errorf("a function value: %v", err)
	}
	if s := m.Stats(); s.Hits != 3 || s.Misses != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestThousandConcurrentMissesMakeOneCRMRequest(t *testing.T) {
	crm := crmstub.New(map[string]crmstub.Contact{"0501234567": {Name: "Dana", Type: "lead"}})
	crm.Fault(crmstub.Slow, 200*time.Millisecond) // every miss overlaps the first
	srv := httptest.NewServer(crm)
	defer srv.Close()
	m := cache.New(cache.Options{})
	h := bhttp.New(bhttp.Options{})
	e := engine(t, m, 64, map[string]string{"contact.lua": `local cache, http = require("cache"), require("http")
		return { deadline = 4000, handle = function(url)
		  local body, err = cache.remember("contact:0501234567", 60, function()
		    local res, err = http.get(url, { query = { phone = "0501234567" } })
		    if not res then return nil, err end
		    return res.body
		  end)
		  return body or ("err:" .. err)
		end }`}, luavm.Module{Name: "http", Loader: h.Loader})
	var wg sync.WaitGroup
	outs := make([]string, 1000)
	errs := make([]error, 1000)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = luavmtest.Run(e, "contact", fmt.Sprint(i), srv.URL+"/contacts")
		}()
	}
	wg.Wait()
	for i := range outs {
		if errs[i] != nil || !strings.Contains(outs[i], `"name":"Dana"`) {
			t.Fatalf("call %d: %q %v", i, outs[i], errs[i])
		}
	}
	if n := crm.Requests(); n != 1 {
		t.Errorf("1000 concurrent misses made %d CRM requests, want 1", n)
	}
	if s := m.Stats(); s.Loads != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestStaleValueStandsInWhenTheLoaderFails(t *testing.T) {
	clk := newClock()
	m := cache.New(cache.Options{Now: clk.Now, Grace: time.Minute})
	e := engine(t, m, 1, map[string]string{"r.lua": `local cache = require("cache")
		return function(mode)
		  local v, err = cache.remember("k", 10, function()
		    if mode == "fail" then return nil, "CRM down" end
		    if mode == "raise" then error("CRM exploded") end
		    return "fresh:" .. mode
		  end)
		  return tostring(v) .. "|" .. tostring(err)
		end`})
	run := func(mode string) string {
		out, err := luavmtest.Run(e, "r", "c", mode)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := run("fail"); got != "nil|CRM down" {
		t.Errorf("nothing held, loader fails: %q", got)
	}
	if got := run("raise"); !strings.HasPrefix(got, "nil|loader failed:") || !strings.Contains(got, "CRM exploded") {
		t.Errorf("nothing held, loader raises: %q", got)
	}
	if got := run("a"); got != "fresh:a|nil" {
		t.Errorf("first load: %q", got)
	}
	if got := run("b"); got != "fresh:a|nil" {
		t.Errorf("within ttl: %q", got)
	}
	clk.Add(15 * time.Second) // expired, within grace
	if got := run("fail"); got != "fresh:a|nil" {
		t.Errorf("expired, loader fails: %q, want the stale value", got)
	}
	if got := run("c"); got != "fresh:c|nil" {
		t.Errorf("expired, loader works: %q", got)
	}
	if s := m.Stats(); s.Stale != 1 || s.LoadErrors != 3 {
		t.Errorf("stats %+v", s)
	}
}

// A call waiting for another call's loader gives up when its budget
// (deadline less the reserve) runs out, and its script still answers. The
// reserve is seconds here, so that the wait's end cannot race the deadline
// on a loaded machine: an answer at all shows the waiter gave up in time.
func TestWaitersGiveUpAtTheirDeadline(t *testing.T) {
	block, entered := make(chan struct{}), make(chan struct{})
	m := cache.New(cache.Options{})
	mods := []luavm.Module{{Name: "cache", Loader: m.Loader}, luavmtest.Gate("gate", block, entered)}
	e := luavmtest.Engine(t, map[string]string{
		"slow.lua": `local cache, gate = require("cache"), require("gate") return { deadline = 4000, handle = function()
			return cache.remember("k", 60, function() gate.wait() return "v" end) end }`,
		"quick.lua": `local cache = require("cache") return { deadline = 4000, handle = function()
			local v, err = cache.remember("k", 60, function() return "mine" end)
			return tostring(v) .. "|" .. tostring(err) end }`,
	}, luavm.Options{VMs: 4, Modules: mods, Reserve: 3800 * time.Millisecond})
	slow := make(chan string)
	go func() {
		out, _ := luavmtest.Run(e, "slow", "a", "")
		slow <- out
	}()
	<-entered // the slow call's loader holds the flight for "k" until block closes
	out, err := luavmtest.Run(e, "quick", "b", "")
	if err != nil || out != "nil|timeout waiting for another call's loader" {
		t.Errorf("waiter: %q %v", out, err)
	}
	close(block)
	if got := <-slow; got != "v" {
		t.Errorf("the loader's own call: %q", got)
	}
}

func TestBoundedStoreRefusesNewKeysWhenFull(t *testing.T) {
	s := cache.NewMemoryStore(2, 0)
	exp := time.Now().Add(time.Minute)
	for i, want := range []error{nil, nil, cache.ErrFull} {
		if err := s.Set(fmt.Sprint("k", i), cache.Entry{Value: "v", Expires: exp}); err != want {
			t.Errorf("set %d: %v, want %v", i, err, want)
		}
	}
	if err := s.Set("k0", cache.Entry{Value: "v2", Expires: exp}); err != nil {
		t.Errorf("replacing a held key when full: %v", err)
	}
	if s.Len() != 2 {
		t.Errorf("len %d", s.Len())
	}
}

func TestValuesRoundTripThroughJSONAndCache(t *testing.T) {
	m := cache.New(cache.Options{})
	e := engine(t, m, 2, map[string]string{"rt.lua": `local cache, json = require("cache"), require("json")
		return function(doc)
		  assert(cache.set("doc", json.decode(doc), 60))
		  return json.encode((cache.get("doc")))
		end`}, luavm.Module{Name: "json", Loader: bjson.New().Loader})
	for _, doc := range []string{
		`{"a":1,"b":[1,2,{"c":null}],"d":[],"e":{},"f":"ünï\"code","g":true,"h":-0.5,"i":12345678901}`,
		`[null,[],{},"x"]`,
		`"just a string"`,
	} {
		if got, err := luavmtest.Run(e, "rt", "c", doc); err != nil || got != doc {
			t.Errorf("round trip of %s: %s %v", doc, got, err)
		}
	}
}

func TestTTLMustBeFiniteAndBounded(t *testing.T) {
	e := engine(t, cache.New(cache.Options{}), 1, map[string]string{"ttl.lua": `local cache = require("cache")
		return function(ttl) cache.set("k", "v", tonumber(ttl)) return "stored" end`})
	for _, ttl := range []string{"0", "-1", "1/0", "1e300", "86401"} {
		in := ttl
		if ttl == "1/0" {
			in = "inf"
		}
		if _, err := luavmtest.Run(e, "ttl", "c", in); err == nil || !strings.Contains(err.Error(), "ttl must be seconds") {
			t.Errorf("ttl %s: %v", ttl, err)
		}
	}
	if out, err := luavmtest.Run(e, "ttl", "c", "60"); err != nil || out != "stored" {
		t.Errorf("ttl 60: %q %v", out, err)
	}
}

func TestValuesOverTheCapAreNotCached(t *testing.T) {
	m := cache.New(cache.Options{MaxValueBytes: 1000})
	e := engine(t, m, 2, map[string]string{
		"set.lua": `local cache = require("cache") return function(n)
			local ok, err = cache.set("k", string.rep("x", tonumber(n)), 60)
			return tostring(ok) .. "|" .. tostring(err) end`,
		"tbl.lua": `local cache = require("cache") return function(n)
			local ok, err = cache.set("t", { big = string.rep("x", tonumber(n)) }, 60)
			return tostring(ok) .. "|" .. tostring(err) end`,
		"get.lua": `local cache = require("cache") return function(k)
			local v, err = cache.get(k) return type(v) .. "|" .. tostring(err) end`,
		"remember.lua": `local cache = require("cache") return function(n)
			local v, err = cache.remember("r", 60, function() return { body = string.rep("y", tonumber(n)) } end)
			return #v.body .. "|" .. tostring(err) end`,
	})
	run := func(name, in string) string {
		out, err := luavmtest.Run(e, name, "c", in)
		if err != nil {
			t.Fatalf("%s %s: %v", name, in, err)
		}
		return out
	}
	// A string counts its length and a 16-byte header; a table 48 bytes,
	// and 48 a key besides the key's length.
	for _, tc := range []struct{ script, in, want string }{
		{"set", "900", "true|nil"},
		{"set", "2000", "nil|value too large: 2016 bytes (cache values up to 1000)"},
		{"get", "k", "string|nil"}, // the value it held is kept
		{"tbl", "2000", "nil|value too large: 2115 bytes (cache values up to 1000)"},
		{"get", "t", "nil|miss"},
		{"remember", "5000", "5000|value too large: 5116 bytes (cache values up to 1000)"},
		{"get", "r", "nil|miss"},
		{"remember", "10", "10|nil"},
		{"get", "r", "table|nil"},
	} {
		if got := run(tc.script, tc.in); got != tc.want {
			t.Errorf("%s(%s): %q, want %q", tc.script, tc.in, got, tc.want)
		}
	}
	if s := m.Stats(); s.TooLarge != 3 || s.Full != 0 || s.LoadErrors != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestTheStoreIsBoundedInBytes(t *testing.T) {
	// Three 1000-byte strings fit in 4000 bytes with their keys and
	// overhead; a fourth does not.
	m := cache.New(cache.Options{MaxBytes: 4000})
	e := engine(t, m, 2, map[string]string{
		"set.lua": `local cache = require("cache") return function(arg)
			local k, n = arg:match("^(%w+)=(%d+)$")
			local ok, err = cache.set(k, string.rep("x", tonumber(n)), 60)
			return tostring(ok) .. "|" .. tostring(err) end`,
		"del.lua":      `local cache = require("cache") return function(k) cache.delete(k) return "deleted" end`,
		"remember.lua": `local cache = require("cache") return function(k) return cache.remember(k, 60, function() return string.rep("z", 1000) end) end`,
		"get.lua":      `local cache = require("cache") return function(k) local v, err = cache.get(k) return v and #v or err end`,
	})
	run := func(name, in string) string {
		out, err := luavmtest.Run(e, name, "c", in)
		if err != nil {
			t.Fatalf("%s %s: %v", name, in, err)
		}
		return out
	}
	entry := func(key string, n int) int64 { // the value, its Prepared form, the key and the entry
		v := strings.Repeat("x", n)
		return int64(luavm.SizeOf(v) + luavm.Prepare(v).Size() + len(key) + cache.EntryOverhead)
	}
	for _, k := range []string{"a", "b", "c"} {
		if got := run("set", k+"=1000"); got != "true|nil" {
			t.Fatalf("set %s: %q", k, got)
		}
	}
	if got, want := m.Bytes(), 3*entry("a", 1000); got != want {
		t.Errorf("bytes %d, want %d", got, want)
	}
	if got := run("set", "d=1000"); got != "nil|cache full" {
		t.Errorf("a new key past the bound: %q", got)
	}
	if got := run("set", "a=1600"); got != "nil|cache full" {
		t.Errorf("a held key grown past the bound: %q", got)
	}
	if got := run("get", "a"); got != "1000" {
		t.Errorf("the refused value replaced the held one: %s", got)
	}
	if got := run("remember", "d"); got != strings.Repeat("z", 1000) {
		t.Errorf("remember with a full store still returns the value: %q", got)
	}
	if got := run("get", "d"); got != "miss" {
		t.Errorf("remember stored past the bound: %s", got)
	}
	// Overwriting with a smaller value and deleting give bytes back.
	if got := run("set", "a=10"); got != "true|nil" {
		t.Errorf("a smaller value for a held key: %q", got)
	}
	if got, want := m.Bytes(), 2*entry("a", 1000)+entry("a", 10); got != want {
		t.Errorf("bytes after overwriting: %d, want %d", got, want)
	}
	run("del", "b")
	if got, want := m.Bytes(), entry("a", 1000)+entry("a", 10); got != want {
		t.Errorf("bytes after delete: %d, want %d", got, want)
	}
	if got := run("set", "d=1000"); got != "true|nil" {
		t.Errorf("a new key once there is room: %q", got)
	}
	if s := m.Stats(); s.Full != 3 || s.Bytes != m.Bytes() {
		t.Errorf("stats %+v", s)
	}
}

func TestExpiredEntriesGiveTheirBytesBack(t *testing.T) {
	s := cache.NewMemoryStoreWith(cache.MemoryOptions{MaxBytes: 1000})
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if err := s.Set("old", cache.Entry{Value: strings.Repeat("x", 500), Expires: past}); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("live", cache.Entry{Value: "v", Expires: future, Size: 100}); err != nil {
		t.Fatal(err)
	}
	// Size 0 is worked out from the value.
	want := int64(16+500+3+cache.EntryOverhead) + int64(100+4+cache.EntryOverhead)
	if got := s.Bytes(); got != want {
		t.Errorf("bytes %d, want %d", got, want)
	}
	// "old" is past its expiry and kept a millisecond at most: once the
	// clock is past that, a sweep drops it. The 10 s only bounds a failure.
	gone := time.Now().Add(10 * time.Second)
	for s.Bytes() != int64(100+4+cache.EntryOverhead) && time.Now().Before(gone) {
		s.DeleteExpired()
		runtime.Gosched()
	}
	if got := s.Bytes(); got != int64(100+4+cache.EntryOverhead) || s.Len() != 1 {
		t.Errorf("after expiry: %d bytes, %d entries", got, s.Len())
	}
	// Expired entries are dropped before a new key is refused.
	if err := s.Set("x", cache.Entry{Value: "v", Expires: past, Size: 500}); err != nil {
		t.Fatal(err)
	}
	for dead := time.Now().Add(2 * time.Millisecond); time.Now().Before(dead); { // past its millisecond
		runtime.Gosched()
	}
	if err := s.Set("y", cache.Entry{Value: "v", Expires: future, Size: 500}); err != nil {
		t.Errorf("a full store with an expired entry: %v", err)
	}
	if got, want := s.Bytes(), int64(100+4+500+1+2*cache.EntryOverhead); got != want {
		t.Errorf("bytes %d, want %d", got, want)
	}
}

func TestConcurrentWritersKeepTheCountExact(t *testing.T) {
	s := cache.NewMemoryStoreWith(cache.MemoryOptions{})
	exp := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				k := fmt.Sprint("k", i%20)
				switch i % 3 {
				case 0, 1:
					s.Set(k, cache.Entry{Value: "v", Expires: exp, Size: (w + i) % 50})
				case 2:
					s.Delete(k)
				}
			}
		}()
	}
	wg.Wait()
	var want int64
	for i := 0; i < 20; i++ {
		k := fmt.Sprint("k", i)
		if e, ok := s.Get(k); ok {
			want += int64(e.Size + len(k) + cache.EntryOverhead)
		}
	}
	if got := s.Bytes(); got != want {
		t.Errorf("bytes %d, want %d: the sum of what is held", got, want)
	}
}

// TestFlushDropsByPrefixAndGivesBytesBack: Flush("contact:") drops those
// keys only, expired ones too, and their bytes; Flush("") drops the rest.
func TestFlushDropsByPrefixAndGivesBytesBack(t *testing.T) {
	s := cache.NewMemoryStoreWith(cache.MemoryOptions{MaxEntries: 10, MaxBytes: 1 << 20, Grace: time.Minute})
	now := time.Now()
	for _, k := range []string{"contact:1", "contact:2", "route:1"} {
		if err := s.Set(k, cache.Entry{Value: "v", Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// Expired, still held for its grace period.
	if err := s.Set("contact:3", cache.Entry{Value: "v", Expires: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	kept := int64(luavm.SizeOf("v") + len("route:1") + cache.EntryOverhead)
	if n := s.Flush("contact:"); n != 3 {
		t.Errorf("Flush(contact:) dropped %d, want 3", n)
	}
	if _, ok := s.Get("contact:1"); ok {
		t.Error("contact:1 survived its flush")
	}
	if _, ok := s.Get("route:1"); !ok {
		t.Error("route:1 was flushed with contact:")
	}
	if s.Len() != 1 || s.Bytes() != kept {
		t.Errorf("after the flush: %d entries, %d bytes; want 1, %d", s.Len(), s.Bytes(), kept)
	}
	if n := s.Flush("nothing:"); n != 0 {
		t.Errorf("Flush of an unused prefix dropped %d", n)
	}
	if n := s.Flush(""); n != 1 || s.Len() != 0 || s.Bytes() != 0 {
		t.Errorf("Flush(\"\") dropped %d, left %d entries, %d bytes", n, s.Len(), s.Bytes())
	}

	// Through the module; a store that cannot flush says so.
	m := cache.New(cache.Options{Store: s})
	s.Set("a", cache.Entry{Value: 1, Expires: now.Add(time.Hour)})
	if n, err := m.Flush(""); n != 1 || err != nil {
		t.Errorf("Module.Flush: %d, %v", n, err)
	}
	if _, err := cache.New(cache.Options{Store: noFlush{}}).Flush(""); err != cache.ErrNoFlush {
		t.Errorf("a store without Flush: %v", err)
	}
}

type noFlush struct{ cache.Store }
