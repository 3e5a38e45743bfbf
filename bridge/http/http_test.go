package http_test

import (
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	bhttp "github.com/ivrouter/ivrouter/bridge/http"
	"github.com/ivrouter/ivrouter/bridge/http/crmstub"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
)

func engine(t *testing.T, m *bhttp.Module, files map[string]string) *luavm.Engine {
	t.Helper()
	return luavmtest.Engine(t, files, luavm.Options{VMs: 2, Modules: []luavm.Module{{Name: "http", Loader: m.Loader}}})
}

// get is a script that reports what http.get returned.
const get = `local http = require("http")
return { deadline = 300, handle = function(url)
  local res, err = http.get(url, { timeout = 5000 })
  if not res then return "err:" .. err end
  return "ok:" .. res.status .. ":" .. #res.body
end }`

func TestRequestsCarryWhatTheScriptSays(t *testing.T) {
	var seen *nethttp.Request
	var body string
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		seen = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.Header().Set("X-Answer", "42")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.WriteHeader(201)
		w.Write([]byte("created"))
	}))
	defer srv.Close()
	e := engine(t, bhttp.New(bhttp.Options{}), map[string]string{"post.lua": `local http = require("http")
		return function(url)
		  local res = assert(http.post(url .. "/contacts?x=1", {
		    headers = { Authorization = "Bearer t0k", ["X-Num"] = 7 },
		    query = { phone = "050 123", id = 9 },
		    json = { name = "Dana", tags = { "a", "b" } },
		  }))
		  return res.status .. "|" .. res.headers["x-answer"] .. "|" .. res.headers["x-multi"] .. "|" .. res.body
		end`})
	out, err := luavmtest.Run(e, "post", "c1", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if out != "201|42|a, b|created" {
		t.Errorf("script saw %q", out)
	}
	if seen.Method != "POST" || seen.URL.Path != "/contacts" || seen.URL.Query().Get("phone") != "050 123" ||
		seen.URL.Query().Get("id") != "9" || seen.URL.Query().Get("x") != "1" {
		t.Errorf("request %s %s", seen.Method, seen.URL)
	}
	if seen.Header.Get("Authorization") != "Bearer t0k" || seen.Header.Get("X-Num") != "7" || seen.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", seen.Header)
	}
	if body != `{"name":"Dana","tags":["a","b"]}` {
		t.Errorf("body %s", body)
	}
}

func TestABadCRMCostsNoMoreThanTheDeadline(t *testing.T) {
	crm := crmstub.New(map[string]crmstub.Contact{"0501234567": {Name: "Dana", Type: "lead"}})
	srv := httptest.NewServer(crm)
	defer srv.Close()
	refused := closedPort(t)
	e := engine(t, bhttp.New(bhttp.Options{Failures: 1000}), map[string]string{"get.lua": get})
	for _, tc := range []struct {
		name string
		mode crmstub.Mode
		url  string
		want string
	}{
		{"ok", crmstub.OK, srv.URL + "/contacts?phone=0501234567", "ok:200:"},
		{"slow", crmstub.Slow, srv.URL + "/contacts", "err:timeout"},
		{"slow headers", crmstub.SlowHeaders, srv.URL + "/contacts", "err:timeout"},
		{"refused", crmstub.OK, refused, "err:"},
		{"500", crmstub.Fail, srv.URL + "/contacts", "ok:500:"},
		{"malformed json", crmstub.BadJSON, srv.URL + "/contacts", "ok:200:"},
		{"huge body", crmstub.Huge, srv.URL + "/contacts", "err:response body over 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crm.Fault(tc.mode, 3*time.Second)
			start := time.Now()
			out, err := luavmtest.Run(e, "get", "c", tc.url)
			took := time.Since(start)
			if err != nil || !strings.HasPrefix(out, tc.want) {
				t.Errorf("got %q, %v; want %q...", out, err, tc.want)
			}
			if took > 400*time.Millisecond {
				t.Errorf("answered after %v, deadline 300ms", took)
			}
		})
	}
}

func TestTheBreakerStopsCallingAFailingCRM(t *testing.T) {
	crm := crmstub.New(nil)
	crm.Fault(crmstub.Fail, 0)
	srv := httptest.NewServer(crm)
	defer srv.Close()
	m := bhttp.New(bhttp.Options{Failures: 3, Cooldown: time.Hour})
	e := engine(t, m, map[string]string{"get.lua": get})
	var outs []string
	for i := 0; i < 10; i++ {
		out, err := luavmtest.Run(e, "get", "c", srv.URL+"/contacts")
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	if n := crm.Requests(); n != 3 {
		t.Errorf("the CRM saw %d requests, want the threshold of 3", n)
	}
	if outs[2] != "ok:500:21" || outs[3] != "err:circuit open" || outs[9] != "err:circuit open" {
		t.Errorf("answers %q", outs)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	if got := m.State(host); got != "open" {
		t.Errorf("state %q", got)
	}
	if got := m.Circuits(); len(got) != 1 || got[host] != "open" {
		t.Errorf("circuits %v, want only %s open", got, host)
	}
}

func TestHostsAndURLsAreChecked(t *testing.T) {
	allowed := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		nethttp.Redirect(w, r, "http://elsewhere.invalid/", nethttp.StatusFound)
	}))
	defer allowed.Close()
	host := strings.TrimPrefix(allowed.URL, "http://")
	m := bhttp.New(bhttp.Options{AllowHosts: []string{host, "*.example.com"}})
	if m.AnyHost() {
		t.Error("AnyHost with an allowlist")
	}
	e := engine(t, m, map[string]string{
		"get.lua": get,
		"raw.lua": `local http = require("http") return function(url) http.get(url) return "reached" end`,
		"opt.lua": `local http = require("http") return function(url) http.get(url, { retries = 3 }) return "reached" end`,
	})
	for _, tc := range []struct{ script, url, want string }{
		{"raw", "http://crm.other.com/x", "host crm.other.com is not allowed"},
		{"raw", "ftp://" + host + "/", "must be an absolute http or https URL"},
		{"raw", "/relative", "must be an absolute http or https URL"},
		{"opt", allowed.URL, `unknown option "retries"`},
	} {
		if _, err := luavmtest.Run(e, tc.script, "c", tc.url); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: got %v, want %q", tc.script, tc.url, err, tc.want)
		}
	}
	out, err := luavmtest.Run(e, "get", "c", allowed.URL)
	if err != nil || !strings.Contains(out, "not an allowed host") {
		t.Errorf("redirect off the allowlist: %q %v", out, err)
	}
}

func TestTimeoutIsCappedByTheDeadline(t *testing.T) {
	crm := crmstub.New(nil)
	crm.Fault(crmstub.Slow, 10*time.Second)
	srv := httptest.NewServer(crm)
	defer srv.Close()
	e := engine(t, bhttp.New(bhttp.Options{}), map[string]string{"late.lua": `local http = require("http")
		return { deadline = 200, handle = function(url)
		  local res, err = http.get(url, { timeout = 60000 })
		  return "answered:" .. tostring(err)
		end }`})
	start := time.Now()
	out, err := luavmtest.Run(e, "late", "c", srv.URL)
	if err != nil || !strings.HasPrefix(out, "answered:timeout after") {
		t.Errorf("got %q %v: the script should get the error and still answer", out, err)
	}
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Errorf("answered after %v, deadline 200ms", took)
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return fmt.Sprintf("http://%s/contacts", addr)
}
