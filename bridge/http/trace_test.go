package http_test

import (
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	bhttp "github.com/ivrouter/ivrouter/bridge/http"
	"github.com/ivrouter/ivrouter/luavm/calltrace"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
)

// tracedCall is a call that keeps a trace, as the server's calls do.
type tracedCall struct {
	luavmtest.Call
	trace calltrace.Trace
}

func (c *tracedCall) Trace() *calltrace.Trace { return &c.trace }

// Every request a script makes lands in its call's trace, answered or not,
// with its URL stripped of what may be secret and a failure code the call
// log can show.
func TestRequestsAreRecordedInTheCallsTrace(t *testing.T) {
	crm := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		switch r.URL.Path {
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		case "/big":
			w.Write([]byte(strings.Repeat("x", 100)))
		default:
			w.WriteHeader(404)
		}
	}))
	defer crm.Close()
	host := strings.TrimPrefix(crm.URL, "http://")
	refused := closedPort(t)
	m := bhttp.New(bhttp.Options{MaxBody: 10, Failures: 2, Cooldown: time.Hour})
	e := engine(t, m, map[string]string{"crm.lua": `local http = require("http")
		return function(base)
		  local refused = "` + refused + `"
		  http.get("http://user:pw@` + host + `/contacts/0501234567?token=s3cret#frag")
		  http.get(base .. "/slow", { timeout = 50 })
		  http.post(base .. "/big", { json = { a = 1 } })
		  http.get("http://169.254.169.254/latest")
		  http.get(refused)
		  http.get(refused)
		  http.get(refused)
		  return "done"
		end`})
	c := &tracedCall{Call: luavmtest.Call{In: crm.URL, CallID: "c1"}}
	if _, err := e.Run("crm", 0, time.Now(), c); err != nil || c.Out != "done" {
		t.Fatalf("%q %v", c.Out, err)
	}
	reqs, n := c.trace.Requests(nil)
	if n != 7 || len(reqs) != 7 {
		t.Fatalf("%d requests recorded of %d: %+v", len(reqs), n, reqs)
	}
	refusedHost := strings.TrimSuffix(strings.TrimPrefix(refused, "http://"), "/contacts")
	for i, want := range []calltrace.Request{
		{Method: "GET", URL: crm.URL + "/contacts/0501234567", Host: host, Status: 404},
		{Method: "GET", URL: crm.URL + "/slow", Host: host, Failure: calltrace.Timeout},
		{Method: "POST", URL: crm.URL + "/big", Host: host, Status: 200, Failure: calltrace.TooLarge},
		{Method: "GET", URL: "http://169.254.169.254/latest", Host: "169.254.169.254", Failure: calltrace.Denied},
		{Method: "GET", URL: refused, Host: refusedHost, Failure: calltrace.Failed},
		{Method: "GET", URL: refused, Host: refusedHost, Failure: calltrace.Failed}, // opens its circuit (Failures: 2)
		{Method: "GET", URL: refused, Host: refusedHost, Failure: calltrace.CircuitOpen},
	} {
		got := reqs[i]
		if got.Method != want.Method || got.URL != want.URL || got.Host != want.Host || got.Status != want.Status || got.Failure != want.Failure {
			t.Errorf("request %d: got %+v\nwant %+v", i, got, want)
		}
		if (got.Failure == "") != (got.Error == "") {
			t.Errorf("request %d: failure %q with error %q", i, got.Failure, got.Error)
		}
		if sent := i != 3 && i != 6; sent != (got.Took > 0) {
			t.Errorf("request %d took %v", i, got.Took)
		}
	}
	if took := reqs[1].Took; took < 40*time.Millisecond || took > time.Second {
		t.Errorf("the timed-out request took %v, its timeout 50ms", took)
	}

	// A call that keeps no trace is served the same.
	out, err := luavmtest.Run(e, "crm", "c2", crm.URL)
	if err != nil || out != "done" {
		t.Errorf("untraced call: %q %v", out, err)
	}
}
