package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/bridge/ivr"
)

// STATUS 1 has one name: action=STATUS_1 in the call log, action="status_1"
// in ivrouter_requests_total, as every other action is named in both.
func TestStatus1IsNamedAlikeInTheLogAndTheMetrics(t *testing.T) {
	for k := ivr.GoToLayer; k <= ivr.Fail; k++ {
		if actionLabel(k) != strings.ToLower(k.String()) {
			t.Errorf("kind %d: metrics say %q, the log %q", k, actionLabel(k), k.String())
		}
	}
	dir := scriptsDir(t, map[string]string{"layers/5.lua": `return function() return ivr.go_to_layer(12) end`})
	var mu sync.Mutex
	var buf bytes.Buffer
	url, srv := start(t, Config{Scripts: dir, Logger: slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, nil))})
	post(t, url+"/", request("7", "1")) // no script for layer 7, no fallback layer: STATUS 1
	mu.Lock()
	var rec map[string]any
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.Contains(line, `"msg":"call"`) {
			json.Unmarshal([]byte(line), &rec)
		}
	}
	mu.Unlock()
	if rec["action"] != "STATUS_1" || rec["outcome"] != "fallback" {
		t.Errorf("call line: %v", rec)
	}
	if m := scrape(t, srv); m[`ivrouter_requests_total{action="status_1",outcome="fallback",script="none"}`] != 1 {
		t.Errorf("no status_1 request counted")
	}
}

func TestScriptsGaugeCountsRoutesNotLibModules(t *testing.T) {
	dir := scriptsDir(t, map[string]string{
		"layers/5.lua":   `local f = require("lib.fmt") return function() return ivr.go_to_layer(f.layer) end`,
		"caller.lua":     `return function() return ivr.go_to_layer(12) end`,
		"lib/fmt.lua":    `return { layer = 12 }`,
		"lib/crm/id.lua": `return {}`,
	})
	_, srv := start(t, Config{Scripts: dir})
	if got := scrape(t, srv)["ivrouter_scripts"]; got != 2 {
		t.Errorf("ivrouter_scripts = %v, want 2: layers/5 and caller, not the lib/ modules", got)
	}
}

// The start-up and reload lines name the scripts' hash scripts_version,
// not version (which reads as the router's own).
func TestServingLineNamesTheScriptsVersion(t *testing.T) {
	dir := scriptsDir(t, map[string]string{"layers/5.lua": `return function() return ivr.go_to_layer(12) end`})
	lines := make(chan string, 64)
	srv, err := New(Config{Scripts: dir, Logger: slog.New(slog.NewTextHandler(lineWatch{"msg=", lines}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(t.Context())
	if err := srv.Reload(); err != nil {
		t.Fatal(err)
	}
	version := srv.Engine().Current().Version()
	var serving, reloaded string
	timeout := time.After(10 * time.Second) // bounds a failure only
	for serving == "" || reloaded == "" {
		select {
		case line := <-lines:
			if serving == "" {
				serving = regexp.MustCompile(`msg=serving addr=\S+ .*\n`).FindString(line)
			}
			if reloaded == "" {
				reloaded = regexp.MustCompile(`msg="scripts reloaded" .*\n`).FindString(line)
			}
		case <-timeout:
			t.Fatalf("no serving or reload line: %q, %q", serving, reloaded)
		}
	}
	for _, line := range []string{serving, reloaded} {
		if !strings.Contains(line, " scripts_version="+version+" ") || strings.Contains(line, " version=") {
			t.Errorf("want scripts_version=%s, no version=:\n%s", version, line)
		}
	}
}
