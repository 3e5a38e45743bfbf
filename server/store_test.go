package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/bridge/redisstore/redistest"
)

// storeServers starts n servers of cfg sharing the Redis at url.
func storeServers(t *testing.T, n int, url string, cfg Config) ([]string, []*Server) {
	t.Helper()
	var urls []string
	var srvs []*Server
	for range n {
		c := cfg
		c.Store = url
		u, s := start(t, c)
		waitStore(t, s)
		urls, srvs = append(urls, u), append(srvs, s)
	}
	return urls, srvs
}

// waitStore waits, generously, until s's store is reachable and
// subscribed.
func waitStore(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.store.WaitUp(ctx); err != nil {
		t.Fatalf("store never came up: %v", err)
	}
}

// One call's layers alternate between two instances: the bundled ID
// desks count its wrong IDs across both and put the third through.
func TestStoreOneCallAcrossInstances(t *testing.T) {
	redis := redistest.Start(t)
	cfg := Config{Scripts: "../scripts", ScriptEnv: map[string]string{"CRM_URL": "http://127.0.0.1:1", "CRM_TOKEN": ""}}
	urls, _ := storeServers(t, 2, redis.URL(), cfg)
	for i, want := range []string{
		`{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":13}`,
		`{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":13}`,
		`{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":20,"CUSTOM_DATA":{"reason":"ID not recognised"}}`,
	} {
		got := string(post(t, urls[i%2]+"/id-entry", callerRequest("0509999999", "call-ids", strings.Repeat("9", i+1))).body)
		if got != want {
			t.Errorf("id-entry, wrong ID %d on instance %d:\n got %s\nwant %s", i+1, i%2, got, want)
		}
	}
	for i, want := range []string{"SAY_DIGITS", "SAY_DIGITS", "DIAL"} {
		got := parse(t, post(t, urls[(i+1)%2]+"/clinic-id", callerRequest("0509999999", "call-clinic", "12"+strings.Repeat("3", i))).body)
		if got["ACTION"] != want {
			t.Errorf("clinic-id, wrong ID %d on instance %d: %v, want %s", i+1, (i+1)%2, got, want)
		}
	}

	// The embedded store keeps each instance's count to itself: the third
	// wrong ID only asks again.
	var alone []string
	for range 2 {
		u, _ := start(t, cfg)
		alone = append(alone, u)
	}
	for i := range 3 {
		got := parse(t, post(t, alone[i%2]+"/id-entry", callerRequest("0509999999", "call-alone", "1")).body)
		if got["LAYER"] != 13.0 {
			t.Errorf("embedded store, wrong ID %d: %v", i+1, got)
		}
	}
}

// counterScript answers each call with the call's next count, from state.
var counterScript = map[string]string{"count.lua": `local state = require("state")
return function(call)
  local n, err = state.incr("n")
  if not n then return ivr.error(err) end
  return ivr.go_to_layer(n)
end`}

func TestStoreThousandIncrAcrossInstances(t *testing.T) {
	redis := redistest.Start(t)
	cfg := Config{Scripts: scriptsDir(t, counterScript), Deadline: 4 * time.Second, StoreTimeout: 4 * time.Second}
	urls, _ := storeServers(t, 2, redis.URL(), cfg)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 50, MaxIdleConnsPerHost: 50}}
	defer client.CloseIdleConnections()
	const n = 1000
	layers := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := client.Post(urls[i%2]+"/count", "application/json", strings.NewReader(string(callerRequest("0501234567", "call-1000", "1"))))
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var a struct{ LAYER int }
			if err := jsonDecode(res, &a); err != nil {
				t.Error(err)
			}
			layers[i] = a.LAYER
		})
	}
	wg.Wait()
	slices.Sort(layers)
	for i, l := range layers {
		if l != i+1 {
			t.Fatalf("%d concurrent state.incr over two instances: count %d is %d, want 1..%d, none lost or repeated", n, i, l, n)
		}
	}
}

// 2 instances × 100 concurrent misses of one key make one CRM request.
func TestStoreOneCRMRequestAcrossInstances(t *testing.T) {
	redis := redistest.Start(t)
	var requests atomic.Int64
	entered, release := make(chan struct{}), make(chan struct{})
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			close(entered)
		}
		<-release
		fmt.Fprint(w, `{"name":"Dana Levi","layer":21}`)
	}))
	defer crm.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	scripts := scriptsDir(t, map[string]string{"lookup.lua": `local cache, http, json, env = require("cache"), require("http"), require("json"), require("env")
return function(call)
  local c, err = cache.remember("crm:phone:" .. call.caller_id, 60, function()
    local res, err = http.get(env.get("CRM_URL") .. "/contacts", { query = { phone = call.caller_id }, timeout = 3500 })
    if not res then return nil, err end
    return json.decode(res.body)
  end)
  if not c then return ivr.error(err) end
  return ivr.go_to_layer(c.layer, { caller_name = c.name })
end`})
	const calls = 100
	cfg := Config{Scripts: scripts, VMs: calls, Deadline: 4 * time.Second, StoreTimeout: 4 * time.Second,
		ScriptEnv: map[string]string{"CRM_URL": crm.URL}}
	urls, srvs := storeServers(t, 2, redis.URL(), cfg)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: calls, MaxIdleConnsPerHost: calls}}
	defer client.CloseIdleConnections()
	answers := make(chan string, 2*calls)
	var wg sync.WaitGroup
	for i := range 2 * calls {
		wg.Go(func() {
			res, err := client.Post(urls[i%2]+"/lookup", "application/json", strings.NewReader(string(callerRequest("0501234567", fmt.Sprint("c", i), "1"))))
			if err != nil {
				answers <- err.Error()
				return
			}
			defer res.Body.Close()
			answers <- readAll(res)
		})
	}
	// The first CRM request holds until the other instance waits for it.
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waited := make(chan error, 2)
	for _, s := range srvs {
		go func() { waited <- s.store.WaitWaiting(ctx, 1) }()
	}
	if err := <-waited; err != nil {
		t.Fatal("no instance waited for the other's CRM request")
	}
	close(release)
	wg.Wait()
	close(answers)
	for a := range answers {
		if a != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":21,"CALLER_NAME":"Dana Levi"}` {
			t.Errorf("answer %s", a)
		}
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d CRM requests for 2 instances × %d concurrent misses, want 1", n, calls)
	}
	m := scrape(t, srvs[0])
	if m["ivrouter_store_up"] != 1 || m[`ivrouter_store_round_trips_total{module="cache"}`] == 0 {
		t.Errorf("store metrics: up %v, cache round trips %v", m["ivrouter_store_up"], m[`ivrouter_store_round_trips_total{module="cache"}`])
	}
}

func jsonDecode(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }

func readAll(res *http.Response) string {
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// mixed counts the call's layers in state and looks the caller up in the
// CRM through the cache: 21 when both worked, 22 when state failed (Redis
// down) and the CRM answered (directly), 98 when the lookup failed.
var mixed = map[string]string{"mixed.lua": `local cache, state, http, json, env = require("cache"), require("state"), require("http"), require("json"), require("env")
return {
  fallback = 99,
  handle = function(call)
    local n = state.incr("n")
    local c, err = cache.remember("crm:phone:" .. call.caller_id, 60, function()
      local res, err = http.get(env.get("CRM_URL") .. "/contacts", { query = { phone = call.caller_id }, timeout = 500 })
      if not res then return nil, err end
      return json.decode(res.body)
    end)
    if not c then return ivr.go_to_layer(98) end
    return ivr.go_to_layer(n and c.layer or 22, { custom_data = { n = n or 0 } })
  end,
}`}

// Redis killed, restarted, stopped and continued while calls keep coming
// to two instances: every call is answered within its deadline (plus
// 100 ms), by the script, not the fallback; the CRM answers directly while
// Redis is away; state works again once it is back, without a restart.
func TestStoreRedisDownOrSlowMidRun(t *testing.T) {
	redis := redistest.Start(t)
	var crmRequests atomic.Int64
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		crmRequests.Add(1)
		fmt.Fprint(w, `{"name":"Dana Levi","layer":21}`)
	}))
	defer crm.Close()
	const deadline = time.Second
	cfg := Config{Scripts: scriptsDir(t, mixed), Deadline: deadline, StoreTimeout: 200 * time.Millisecond,
		ScriptEnv: map[string]string{"CRM_URL": crm.URL}}
	urls, srvs := storeServers(t, 2, redis.URL(), cfg)

	type result struct {
		layer float64
		took  time.Duration
	}
	results := make(chan result)
	stop := make(chan struct{})
	var workers sync.WaitGroup
	for w := range 4 {
		workers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				began := time.Now()
				a := post(t, urls[(w+i)%2]+"/mixed", callerRequest("0501234567", fmt.Sprintf("w%d-%d", w, i), "1"))
				r := result{parse(t, a.body)["LAYER"].(float64), time.Since(began)}
				select {
				case results <- r:
				case <-stop:
					return
				}
			}
		})
	}
	bound := deadline + 100*time.Millisecond + raceSlack
	var all []result
	// next takes n answers and returns how many were of each layer.
	next := func(n int) map[float64]int {
		got := map[float64]int{}
		for range n {
			r := <-results
			all = append(all, r)
			got[r.layer]++
		}
		return got
	}
	if got := next(20); got[21] != 20 {
		t.Errorf("Redis up: %v", got)
	}
	redis.Kill()
	before := crmRequests.Load()
	next(8) // calls in flight at the kill, or blocked handing in their answers: either way
	if got := next(20); got[22] != 20 {
		t.Errorf("Redis killed: %v, want every call answered 22 (state failed, the CRM asked directly)", got)
	}
	if crmRequests.Load() == before { // each instance still asks once for its concurrent misses
		t.Error("Redis killed: the CRM was not asked")
	}
	m := scrape(t, srvs[0])
	if m["ivrouter_store_up"] != 0 || m[`ivrouter_store_errors_total{module="state",reason="down"}`] == 0 || m[`ivrouter_store_errors_total{module="cache",reason="down"}`] == 0 {
		t.Errorf("metrics with Redis down: up %v, errors %v / %v", m["ivrouter_store_up"],
			m[`ivrouter_store_errors_total{module="state",reason="down"}`], m[`ivrouter_store_errors_total{module="cache",reason="down"}`])
	}
	rec := httptest.NewRecorder()
	srvs[0].AdminHandler(false).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Errorf("/readyz with Redis down: %d, want 200: calls are still answered", rec.Code)
	}
	redis.Restart()
	waitStore(t, srvs[0])
	waitStore(t, srvs[1])
	next(8)
	if got := next(20); got[21] != 20 {
		t.Errorf("Redis restarted: %v", got)
	}
	redis.Pause()
	next(8)
	if got := next(20); got[22] != 20 {
		t.Errorf("Redis stopped: %v", got)
	}
	redis.Resume()
	waitStore(t, srvs[0])
	waitStore(t, srvs[1])
	next(8)
	if got := next(20); got[21] != 20 {
		t.Errorf("Redis continued: %v", got)
	}
	close(stop)
	workers.Wait()
	for i, r := range all {
		if r.took > bound || (r.layer != 21 && r.layer != 22) {
			t.Errorf("call %d: layer %v after %v (bound %v)", i, r.layer, r.took, bound)
		}
	}
	// State works again: one call's count goes on across both instances.
	for i := range 3 {
		got := parse(t, post(t, urls[i%2]+"/mixed", callerRequest("0501234567", "after", "1")).body)
		if cd, _ := got["CUSTOM_DATA"].(map[string]any); got["LAYER"] != 21.0 || cd["n"] != fmt.Sprint(i+1) {
			t.Errorf("after recovery, layer %d: %v", i+1, got)
		}
	}
	if m := scrape(t, srvs[1]); m["ivrouter_store_up"] != 1 {
		t.Errorf("store up %v after recovery", m["ivrouter_store_up"])
	}
}
