package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/bridge/cache"
)

// adminPost posts body to path on srv's admin handler from the client
// address from ("127.0.0.1:5000", "192.0.2.1:5000"), with the headers h.
func adminPost(t *testing.T, srv *Server, from, path, body string, h map[string]string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.RemoteAddr = from
	for k, v := range h {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	srv.AdminHandler(false).ServeHTTP(rec, req)
	var m map[string]any
	if rec.Code != http.StatusMethodNotAllowed {
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("POST %s: %d, not JSON: %v %s", path, rec.Code, err, rec.Body)
		}
	}
	return rec.Code, m
}

const loopbackClient, remoteClient = "127.0.0.1:5000", "192.0.2.1:5000"

// TestAdminReloadIsSIGHUPsReload: POST /-/reload swaps in the edited
// scripts and answers their version; a broken edit answers 500 with the
// problems, and the scripts loaded before keep serving.
func TestAdminReloadIsSIGHUPsReload(t *testing.T) {
	dir := scriptsDir(t, map[string]string{"layers/5.lua": `return function() return ivr.go_to_layer(12) end`})
	url, srv := start(t, Config{Scripts: dir})
	before := srv.Engine().Current().Version()
	scriptsDir2(t, dir, "layers/5.lua", `return function() return ivr.go_to_layer(14) end`)
	code, res := adminPost(t, srv, loopbackClient, "/-/reload", "", nil)
	if code != 200 || res["ok"] != true || res["version"] == before || res["version"] != srv.Engine().Current().Version() || res["scripts"] != 1.0 {
		t.Fatalf("reload: %d %v (version before %s)", code, res, before)
	}
	if got := parse(t, post(t, url, request("5", "1")).body); got["LAYER"] != 14.0 {
		t.Errorf("after the reload: %v", got)
	}
	good := res["version"]
	scriptsDir2(t, dir, "layers/5.lua", `return function(`)
	code, res = adminPost(t, srv, loopbackClient, "/-/reload", "", nil)
	errs, _ := res["errors"].([]any)
	if code != 500 || res["ok"] != false || res["version"] != good || len(errs) == 0 || !strings.Contains(errs[0].(string), filepath.Join("layers", "5.lua")) {
		t.Fatalf("a broken reload: %d %v", code, res)
	}
	if got := parse(t, post(t, url, request("5", "1")).body); got["LAYER"] != 14.0 {
		t.Errorf("after a broken reload: %v", got)
	}
	req := httptest.NewRequest("GET", "/-/reload", nil)
	req.RemoteAddr = loopbackClient
	rec := httptest.NewRecorder()
	srv.AdminHandler(false).ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d, want 405", rec.Code)
	}
}

// TestAdminWriteEndpointsNeedTheTokenOrLoopback: without a token the
// write endpoints answer loopback only; with one they need it from
// anywhere; --admin-token replaces --token there.
func TestAdminWriteEndpointsNeedTheTokenOrLoopback(t *testing.T) {
	dir := scriptsDir(t, map[string]string{"layers/5.lua": `return function() return ivr.go_to_layer(12) end`})
	for _, tc := range []struct {
		name    string
		cfg     Config
		from    string
		headers map[string]string
		query   string
		want    int
	}{
		{"no token, loopback", Config{}, loopbackClient, nil, "", 200},
		{"no token, ::1", Config{}, "[::1]:5000", nil, "", 200},
		{"no token, remote", Config{}, remoteClient, nil, "", 403},
		{"token, none sent", Config{Token: "s3cret"}, loopbackClient, nil, "", 401},
		{"token, wrong", Config{Token: "s3cret"}, remoteClient, map[string]string{"Authorization": "Bearer nope"}, "", 401},
		{"token, bearer", Config{Token: "s3cret"}, remoteClient, map[string]string{"Authorization": "Bearer s3cret"}, "", 200},
		{"token, query", Config{Token: "s3cret"}, remoteClient, nil, "?token=s3cret", 200},
		{"admin token beats token", Config{Token: "s3cret", AdminToken: "adm"}, loopbackClient, map[string]string{"Authorization": "Bearer s3cret"}, "", 401},
		{"admin token", Config{Token: "s3cret", AdminToken: "adm"}, remoteClient, map[string]string{"Authorization": "bearer adm"}, "", 200},
	} {
		tc.cfg.Scripts = dir
		srv, err := New(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/-/reload", "/-/cache/flush"} {
			code, res := adminPost(t, srv, tc.from, path+tc.query, "", tc.headers)
			if code != tc.want {
				t.Errorf("%s: %s: %d %v, want %d", tc.name, path, code, res, tc.want)
			}
		}
		rec := httptest.NewRecorder()
		srv.AdminHandler(false).ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		if rec.Code != 200 {
			t.Errorf("%s: /healthz from a remote client: %d; reads need no token", tc.name, rec.Code)
		}
	}
}

// TestAdminCacheFlush: POST /-/cache/flush drops the entries under
// ?prefix= or the JSON body's prefix, or all, and says how many.
func TestAdminCacheFlush(t *testing.T) {
	store := cache.NewMemoryStore(100, time.Minute)
	dir := scriptsDir(t, map[string]string{"layers/5.lua": `return function() return ivr.go_to_layer(12) end`})
	srv, err := New(Config{Scripts: dir, CacheStore: store})
	if err != nil {
		t.Fatal(err)
	}
	fill := func() {
		for _, k := range []string{"contact:1", "contact:2", "contact:3", "route:1"} {
			store.Set(k, cache.Entry{Value: "v", Expires: time.Now().Add(time.Hour)})
		}
	}
	fill()
	for _, tc := range []struct {
		path, body, ctype string
		code, removed     int
		left              int
	}{
		{"/-/cache/flush?prefix=contact:", "", "", 200, 3, 1},
		{"/-/cache/flush", `{"prefix": "route:"}`, "application/json", 200, 1, 3},
		{"/-/cache/flush", "", "", 200, 4, 0},
		{"/-/cache/flush", `{"prefix": 3}`, "application/json", 400, 0, 4},
		{"/-/cache/flush", `{"prefx": "a"}`, "application/json", 400, 0, 4},
		{"/-/cache/flush", `prefix=a`, "application/x-www-form-urlencoded", 400, 0, 4},
	} {
		fill()
		code, res := adminPost(t, srv, loopbackClient, tc.path, tc.body, map[string]string{"Content-Type": tc.ctype})
		if code != tc.code || (code == 200 && (res["removed"] != float64(tc.removed) || res["ok"] != true)) || store.Len() != tc.left {
			t.Errorf("%s %s: %d %v, %d left; want %d, %d removed, %d left", tc.path, tc.body, code, res, store.Len(), tc.code, tc.removed, tc.left)
		}
		if code != 200 && (res["error"] == nil || res["error"] == "") {
			t.Errorf("%s %s: %d without an error", tc.path, tc.body, code)
		}
	}
}

// TestServingLineNamesThePID: the start-up line carries pid=, so an
// operator who ran it with go run can find the process to signal.
func TestServingLineNamesThePID(t *testing.T) {
	serving := make(chan string, 1)
	dir := scriptsDir(t, map[string]string{"layers/5.lua": `return function() return ivr.go_to_layer(12) end`})
	start(t, Config{Scripts: dir, Logger: slog.New(slog.NewTextHandler(lineWatch{"msg=serving", serving}, nil))})
	select {
	case line := <-serving:
		if !strings.Contains(line, " pid=") {
			t.Errorf("no pid= in the serving line: %s", line)
		}
	case <-time.After(10 * time.Second): // bounds a failure only
		t.Fatal("no serving line")
	}
}

// lineWatch hands the log lines holding want to seen while it has room (a
// slog handler writes a record at a time), and drops the others.
type lineWatch struct {
	want string
	seen chan string
}

func (w lineWatch) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.want) {
		select {
		case w.seen <- string(p):
		default:
		}
	}
	return len(p), nil
}
