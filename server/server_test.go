package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/luavm/luavmtest"
)

// start serves cfg on a random loopback port.
func start(t testing.TB, cfg Config) (string, *Server) {
	t.Helper()
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		// On a loaded machine Serve may not have begun yet: fasthttp's
		// Shutdown closes only the listeners it serves, and a later Serve
		// would accept forever. Closed here, its first Accept fails.
		ln.Close()
		<-done
	})
	return "http://" + ln.Addr().String(), srv
}

func scriptsDir(t testing.TB, files map[string]string) string {
	t.Helper()
	return luavmtest.Dir(t, "", files)
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "voicenter", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type answer struct {
	status int
	ctype  string
	body   []byte
}

func post(t testing.TB, url string, body []byte) answer {
	t.Helper()
	res, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{res.StatusCode, res.Header.Get("Content-Type"), b}
}

func parse(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, b)
	}
	for k, v := range m {
		if v == nil { // the docs' case example sends nulls for absent fields
			delete(m, k)
		}
	}
	return m
}

func request(layer, dtmf string) []byte {
	return []byte(fmt.Sprintf(`{"METHOD":"IVR_LAYER_INPUT","DATA":{"DID":"0722776772","CALLER_ID":"0501234567","IVR_UNIQUE_ID":"u-%s-%s","DTMF":%q,"LAYER_ID":%s,"PREVIOUS_LAYER_ID":"5"}}`, strings.Trim(layer, `"`), dtmf, dtmf, layer))
}

func TestBundledScriptsAnswerTheDocsExamples(t *testing.T) {
	url, _ := start(t, Config{Scripts: "../scripts"})
	for _, tc := range []struct {
		path, req, want string
	}{
		{"/", "case-request.json", "case-response.json"}, // 8-digit ID → 12
		{"/announce", "request.json", "say-response.json"},
	} {
		a := post(t, url+tc.path, testdata(t, tc.req))
		if a.status != 200 || a.ctype != "application/json; charset=utf-8" {
			t.Errorf("%s: status %d, content type %q", tc.path, a.status, a.ctype)
		}
		if got, want := parse(t, a.body), parse(t, testdata(t, tc.want)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s:\n got %s\nwant %s", tc.path, tc.req, a.body, testdata(t, tc.want))
		}
	}
	// The docs' first request presses 1234: not an ID, so layer 13.
	if got := string(post(t, url+"/", testdata(t, "request.json")).body); got != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":13}` {
		t.Errorf("short DTMF: %s", got)
	}
	got := parse(t, post(t, url+"/night", testdata(t, "request.json")).body)
	want := parse(t, testdata(t, "dial-response.json"))
	delete(got, "CUSTOM_DATA")
	delete(want, "CUSTOM_DATA")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("/night: got %v, want %v", got, want)
	}
}

func TestRoutes(t *testing.T) {
	dir := scriptsDir(t, map[string]string{
		"layers/7.lua": `return function(call) return ivr.go_to_layer(70) end`,
		"default.lua":  `return function(call) return ivr.go_to_layer(call.layer_id + 1000) end`,
		"identify.lua": `return function(call) return ivr.go_to_layer(call.previous_layer_id or 0) end`,
	})
	url, _ := start(t, Config{Scripts: dir})
	for _, tc := range []struct {
		path, layer string
		want        int
	}{
		{"/", `"7"`, 70},
		{"/", `7`, 70},
		{"/", `"8"`, 1008},
		{"/identify", `"7"`, 5},
		{"/identify/", `"7"`, 5},
	} {
		a := post(t, url+tc.path, request(tc.layer, "1"))
		if m := parse(t, a.body); a.status != 200 || m["LAYER"] != float64(tc.want) {
			t.Errorf("%s layer %s: %d %s, want layer %d", tc.path, tc.layer, a.status, a.body, tc.want)
		}
	}
}

func TestNoScriptAnswersTheFallback(t *testing.T) {
	dir := scriptsDir(t, map[string]string{"layers/7.lua": `return function() return ivr.go_to_layer(70) end`})
	url, _ := start(t, Config{Scripts: dir})
	if got := string(post(t, url+"/", request("8", "1")).body); got != `{"STATUS":1}` {
		t.Errorf("no script, no fallback: %s", got)
	}
	url, _ = start(t, Config{Scripts: dir, Fallback: 99, HasFallback: true})
	if got := string(post(t, url+"/", request("8", "1")).body); got != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":99}` {
		t.Errorf("no script, fallback 99: %s", got)
	}
}

// Every answer says its charset, and every rejection, whoever sends it,
// reads as a STATUS 1 answer too: a client that reads the body whatever the
// status hands the call to the layer's failover.
func TestEveryAnswerIsJSONAndEveryRejectionAFailover(t *testing.T) {
	dir := scriptsDir(t, map[string]string{
		"default.lua": `return function() return ivr.go_to_layer(1) end`,
		"boom.lua":    `return function() error("boom") end`,
	})
	url, _ := start(t, Config{Scripts: dir, Token: "s3cret", MaxHeaderBytes: 4096})
	for _, tc := range []struct {
		name, path string
		header     string // a header line's value, of X-Big
		status     int
		body       string // a prefix of the body
	}{
		{"answer", "/?token=s3cret", "", 200, `{"STATUS":0,`},
		{"script error, no fallback", "/boom?token=s3cret", "", 200, `{"STATUS":1}`},
		{"no token", "/", "", 401, `{"STATUS":1,"error":"`},
		{"headers too large", "/?token=s3cret", strings.Repeat("x", 8192), 431, `{"STATUS":1,"error":"headers over 4096 bytes"}`},
	} {
		req, _ := http.NewRequest("POST", url+tc.path, bytes.NewReader(request("5", "1")))
		if tc.header != "" {
			req.Header.Set("X-Big", tc.header)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status || !strings.HasPrefix(string(b), tc.body) || !json.Valid(b) {
			t.Errorf("%s: %d %s, want %d %s...", tc.name, res.StatusCode, b, tc.status, tc.body)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", tc.name, ct)
		}
	}
}

func TestBadInputIsRejectedBeforeAnyScriptRuns(t *testing.T) {
	var runs atomic.Int64
	dir := scriptsDir(t, map[string]string{
		"default.lua": `local spy = require("spy") return function() spy.ran() return ivr.go_to_layer(1) end`,
	})
	url, _ := start(t, Config{Scripts: dir, MaxBody: 1024, Modules: spyModule(&runs)})
	for _, tc := range []struct {
		method, path, body string
		status             int
		msg                string
	}{
		{"POST", "/", `{not json`, 400, "not JSON"},
		{"POST", "/", `[]`, 400, "want an object"},
		{"POST", "/", `{"METHOD":"OTHER","DATA":{}}`, 400, "METHOD"},
		{"POST", "/", `{"METHOD":"IVR_LAYER_INPUT"}`, 400, "DATA is missing"},
		{"POST", "/", `{"METHOD":"IVR_LAYER_INPUT","DATA":{"LAYER_ID":"five"}}`, 400, "LAYER_ID"},
		{"POST", "/", ``, 400, "not JSON"},
		{"POST", "/nothere", string(request("5", "1")), 404, "no script answers /nothere"},
		{"POST", "/Bad%20Name", string(request("5", "1")), 404, "no script"},
		{"POST", "/a/b", string(request("5", "1")), 404, "no script"},
		{"GET", "/", "", 405, "method GET not allowed"},
		{"PUT", "/", string(request("5", "1")), 405, "not allowed"},
		{"POST", "/", `{"METHOD":"IVR_LAYER_INPUT","DATA":{"LAYER_ID":"5","X":"` + strings.Repeat("x", 2000) + `"}}`, 413, "body over 1024 bytes"},
	} {
		req, _ := http.NewRequest(tc.method, url+tc.path, strings.NewReader(tc.body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var m struct {
			Status *int `json:"STATUS"`
			Error  string
		}
		if res.StatusCode != tc.status || json.Unmarshal(b, &m) != nil || !strings.Contains(m.Error, tc.msg) {
			t.Errorf("%s %s %.30q: %d %s, want %d with an error about %q", tc.method, tc.path, tc.body, res.StatusCode, b, tc.status, tc.msg)
		}
		// Read as an answer whatever its status, the body hands the call to
		// the layer's failover.
		if m.Status == nil || *m.Status != 1 || !strings.HasPrefix(string(b), `{"STATUS":1,"error":`) {
			t.Errorf("%s %s: body %s is not a STATUS 1 answer", tc.method, tc.path, b)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
		if tc.status == 405 && res.Header.Get("Allow") != "POST" {
			t.Errorf("405 without Allow: POST")
		}
	}
	if n := runs.Load(); n != 0 {
		t.Errorf("the script ran %d times for bad input", n)
	}
	if a := post(t, url+"/", request("5", "1")); a.status != 200 || runs.Load() != 1 {
		t.Errorf("a good request after the bad ones: %d %s, runs %d", a.status, a.body, runs.Load())
	}
}

// The looping script runs into its 250 ms deadline; the others fail on
// their own, under the server's deadline of seconds, so that on a loaded
// machine they cannot run into it instead (and log a timeout).
func TestFailingScriptsAnswerTheFallbackWithinTheDeadline(t *testing.T) {
	const deadline = 250 * time.Millisecond
	dir := scriptsDir(t, map[string]string{
		"loop.lua":       `return { fallback = 40, deadline = 250, handle = function() while true do end end }`,
		"error.lua":      `return { fallback = 41, handle = function(call) return call.nothing.x end }`,
		"wrong.lua":      `return { fallback = 42, handle = function() return { LAYER = 3 } end }`,
		"badarg.lua":     `return { fallback = 43, handle = function() return ivr.go_to_layer(1.5) end }`,
		"panic.lua":      `local spy = require("spy") return { fallback = 44, handle = function() spy.panic() end }`,
		"rep.lua":        `return { fallback = 45, handle = function() return string.rep("x", 1e12) end }`,
		"global.lua":     `return function() while true do end end`,
		"nofallback.lua": `return function() error("no fallback anywhere") end`,
		"ok.lua":         `return function() return ivr.go_to_layer(1) end`,
	})
	var runs atomic.Int64
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	url, _ := start(t, Config{Scripts: dir, Deadline: 4 * time.Second, Modules: spyModule(&runs), Logger: log})
	for _, tc := range []struct {
		name string
		want string
	}{
		{"loop", `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":40}`},
		{"error", `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":41}`},
		{"wrong", `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":42}`},
		{"badarg", `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":43}`},
		{"panic", `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":44}`},
		{"rep", `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":45}`},
		{"nofallback", `{"STATUS":1}`},
	} {
		began := time.Now()
		a := post(t, url+"/"+tc.name, request("5", "1"))
		took := time.Since(began)
		if a.status != 200 || string(a.body) != tc.want {
			t.Errorf("%s: %d %s, want %s", tc.name, a.status, a.body, tc.want)
		}
		if took > deadline+2*time.Second { // answered, not left to run; generous for loaded machines
			t.Errorf("%s: answered after %v, deadline %v", tc.name, took, deadline)
		}
		if got := string(post(t, url+"/ok", request("5", "1")).body); got != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":1}` {
			t.Errorf("after %s the next request got %s", tc.name, got)
		}
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	for _, want := range []string{
		"error.lua:1:", "badarg.lua:1: ivr.go_to_layer: layer must be a layer number", "panic.lua:1: Go panic: spy panics",
		"wrong.lua:1: handler returned table", "script overran its deadline", "ivr_unique_id=u-5-1", "script=loop action=GO_TO_LAYER target=40",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "outcome=script_error") + strings.Count(out, "outcome=timeout"); n != 7 {
		t.Errorf("%d failure lines for 7 failures:\n%s", n, out)
	}
}

func TestConfiguredFallbackWhenTheScriptHasNone(t *testing.T) {
	dir := scriptsDir(t, map[string]string{"loop.lua": `return { deadline = 100, handle = function() while true do end end }`})
	url, _ := start(t, Config{Scripts: dir, Fallback: 77, HasFallback: true, Deadline: 4 * time.Second})
	began := time.Now()
	if got := string(post(t, url+"/loop", request("5", "1")).body); got != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":77}` {
		t.Errorf("got %s", got)
	}
	// Generous: the script's 100 ms, not the server's 4 s, on a loaded machine.
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("the script's 100 ms deadline was not used: answered after %v", took)
	}
}

func TestReloadUnderHTTPLoad(t *testing.T) {
	dir := scriptsDir(t, map[string]string{"layers/5.lua": `return function() return ivr.go_to_layer(12) end`})
	url, srv := start(t, Config{Scripts: dir, VMs: 4})
	var ok, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := client.Post(url+"/", "application/json", bytes.NewReader(request("5", "1")))
				if err != nil {
					failed.Add(1)
					continue
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || (string(b) != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12}` && string(b) != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":13}`) {
					failed.Add(1)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		layer := 12 + i%2
		scriptsDir2(t, dir, "layers/5.lua", fmt.Sprintf(`return function() return ivr.go_to_layer(%d) end`, layer))
		if err := srv.Reload(); err != nil {
			t.Error(err)
		}
		if got := parse(t, post(t, url+"/", request("5", "1")).body)["LAYER"]; got != float64(layer) {
			t.Errorf("reload %d: answer layer %v, want %d", i, got, layer)
		}
	}
	// A broken script leaves the last good set serving.
	scriptsDir2(t, dir, "layers/5.lua", `return function(`)
	if err := srv.Reload(); err == nil {
		t.Error("a broken script reloaded")
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || ok.Load() == 0 {
		t.Fatalf("%d requests failed, %d succeeded during 20 reloads", failed.Load(), ok.Load())
	}
	if got := parse(t, post(t, url+"/", request("5", "1")).body)["LAYER"]; got != float64(13) {
		t.Errorf("after a broken reload: layer %v, want the last good script's 13", got)
	}
}

func scriptsDir2(t testing.TB, dir, name, src string) {
	t.Helper()
	luavmtest.Dir(t, dir, map[string]string{name: src})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
