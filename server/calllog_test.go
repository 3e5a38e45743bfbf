package server

import (
	"bytes"
	"io"
	"log/slog"
	nethttp "net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// callLines serves dir and returns a function that posts a request and
// returns the call log line it wrote.
func callLines(t *testing.T, cfg Config) func(path string, body []byte) string {
	t.Helper()
	var mu sync.Mutex
	var buf bytes.Buffer
	w := lockedWriter{&mu, &buf}
	switch {
	case cfg.Logger != nil: // the test's own
	case cfg.CallLog != nil:
		cfg.CallLog = w
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	default: // through slog
		cfg.Logger = slog.New(slog.NewTextHandler(w, nil))
	}
	url, _ := start(t, cfg)
	return func(path string, body []byte) string {
		t.Helper()
		mu.Lock()
		buf.Reset()
		mu.Unlock()
		post(t, url+path, body)
		mu.Lock()
		defer mu.Unlock()
		for _, line := range strings.Split(buf.String(), "\n") {
			if strings.Contains(line, "msg=call ") || strings.Contains(line, `"msg":"call"`) {
				return line
			}
		}
		t.Fatalf("no call line in:\n%s", buf.String())
		return ""
	}
}

// crmScript makes as many requests as the caller typed digits (each
// answered 200), then one that times out, and answers GO_TO_LAYER 13; "0"
// makes none.
func crmScript(t *testing.T) (dir, host string) {
	t.Helper()
	crm := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		}
	}))
	t.Cleanup(crm.Close)
	dir = scriptsDir(t, map[string]string{"crm.lua": `local http = require("http")
		return function(call)
		  if call.dtmf == "0" then return ivr.go_to_layer(12) end
		  for i = 1, tonumber(call.dtmf) do http.get("` + crm.URL + `/contacts?token=s3cret") end
		  local res, err = http.get("` + crm.URL + `/slow", { timeout = 50 })
		  return ivr.go_to_layer(13)
		end`})
	return dir, strings.TrimPrefix(crm.URL, "http://")
}

func TestCallLineShowsTheCallsHTTPRequests(t *testing.T) {
	dir, host := crmScript(t)
	ms := `\d+(\.\d)?ms`
	one := regexp.QuoteMeta(host) + " 200 " + ms
	timeout := regexp.QuoteMeta(host) + " error=timeout " + ms
	for _, mode := range []struct {
		name string
		cfg  Config
		want func(n, calls string) string
	}{
		{"call log", Config{CallLog: io.Discard}, func(n, calls string) string { return ` http=` + n + ` http_calls="` + calls + `" ms=` }},
		{"call log JSON", Config{CallLog: io.Discard, CallLogJSON: true}, func(n, calls string) string { return `,"http":` + n + `,"http_calls":"` + calls + `","ms":` }},
		{"slog", Config{}, func(n, calls string) string { return ` http=` + n + ` http_calls="` + calls + `" ms=` }},
	} {
		t.Run(mode.name, func(t *testing.T) {
			mode.cfg.Scripts = dir
			call := callLines(t, mode.cfg)
			line := call("/crm", request("5", "1"))
			if !regexp.MustCompile(mode.want("2", one+", "+timeout)).MatchString(line) || !strings.Contains(line, "outcome") {
				t.Errorf("a call with a CRM timeout:\n%s", line)
			}
			if strings.Contains(line, "s3cret") {
				t.Errorf("the request's query is in the log:\n%s", line)
			}
			// The next call on the same server made none: nothing carried over.
			if line := call("/crm", request("5", "0")); strings.Contains(line, "http") {
				t.Errorf("a call with no requests:\n%s", line)
			}
			// 40 requests: the count says 41, the list stops at 32.
			line = call("/crm", request("5", "40"))
			if !regexp.MustCompile(mode.want("41", "("+one+", ){31}"+one+`, \+9 more`)).MatchString(line) {
				t.Errorf("a call with 41 requests:\n%s", line)
			}
		})
	}
}

func TestCallLineShowsCallerNameAndCustomDataMaskedWithMaskCaller(t *testing.T) {
	dir := scriptsDir(t, map[string]string{"crm.lua": `return function(call)
		  return ivr.go_to_layer(13, { caller_name = "Dana Levi", custom_data = { reason = "open lead", crm_id = "c-7781" } })
		end`})
	for _, tc := range []struct {
		mask bool
		json bool
		want string
	}{
		{false, false, ` target=13 caller_name="Dana Levi" custom_data="crm_id=c-7781,reason=open lead" ms=`},
		{true, false, ` target=13 caller_name=*** custom_data="crm_id=***,reason=***" ms=`},
		{false, true, `"target":"13","caller_name":"Dana Levi","custom_data":"crm_id=c-7781,reason=open lead","ms":`},
		{true, true, `"target":"13","caller_name":"***","custom_data":"crm_id=***,reason=***","ms":`},
	} {
		line := callLines(t, Config{Scripts: dir, MaskCaller: tc.mask, CallLog: io.Discard, CallLogJSON: tc.json})("/crm", request("5", "1"))
		if !strings.Contains(line, tc.want) {
			t.Errorf("mask %v, JSON %v:\n got %s\nwant %s", tc.mask, tc.json, line, tc.want)
		}
		if tc.mask && (strings.Contains(line, "Dana") || strings.Contains(line, "c-7781")) {
			t.Errorf("masked, yet:\n%s", line)
		}
	}
	// An answer with neither has neither field.
	line := callLines(t, Config{Scripts: "../scripts", CallLog: io.Discard})("/", request("5", "12345678"))
	if strings.Contains(line, "caller_name") || strings.Contains(line, "custom_data") {
		t.Errorf("a plain GO_TO_LAYER:\n%s", line)
	}
}
