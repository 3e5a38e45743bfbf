package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/server/console"
)

// cdrCRM answers the scripts' requests and keeps what events/cdr.lua
// wrote back.
type cdrCRM struct {
	mu     sync.Mutex
	posted []string
}

func (c *cdrCRM) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == "POST" {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.posted = append(c.posted, string(b))
		c.mu.Unlock()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"name":"Dana"}`)), Request: r}, nil
}

func (c *cdrCRM) writes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.posted...)
}

var cdrScripts = map[string]string{
	"layers/5.lua": `local http, json, cache = require("http"), require("json"), require("cache")
return function(call)
  local c = cache.remember("contact:" .. call.caller_id, 60, function()
    local res = http.get("https://crm.example.com/contacts", {query = {phone = call.caller_id}})
    return json.decode(res.body)
  end)
  return ivr.go_to_layer(13, {caller_name = c.name})
end`,
	"layers/13.lua": `return function(call) return ivr.dial({ivr.extension("101")}, {next_vo_id = 20}) end`,
	"events/cdr.lua": `local http, json, log = require("http"), require("json"), require("log")
return {
  deadline = 2000,
  handle = function(cdr)
    if cdr.status == "FAIL" then error("the CRM refused " .. cdr.ivruniqueid) end
    log.info("call ended", {status = cdr.status, layers = #cdr.ivr})
    http.post("https://crm.example.com/calls/" .. cdr.ivruniqueid, {body = json.encode({status = cdr.status, duration = cdr.duration})})
    return "ignored"
  end,
}`,
}

// sampleCDR is Voicenter's sample CDR (its SDK's CdrRequest.json) for
// call id.
func sampleCDR(id, status string) []byte {
	return fmt.Appendf(nil, `{"caller":"0501234567","target":"972702246666","time":1580846139,"duration":38,"ivruniqueid":%q,
"type":"Incoming Call","status":%q,"did":"0722776772","queueid":0,"queuename":"","record":"https://rec.example.com/%s-0501234567.mp3",
"price":0.0,"dialtime":33,"representative_name":"Noa","targetextension_name":"","target_country":"Israel","caller_country":"Israel",
"IVR":"[{\"layer_id\":5,\"layer_name\":\"ID\",\"layer_number\":1,\"Dtmf\":0,\"dtmf_order\":1},{\"layer_id\":13,\"layer_name\":\"Clerks\",\"layer_number\":2,\"Dtmf\":0,\"dtmf_order\":2}]"}`, id, status, id)
}

// waitCDR waits, on the console's own notifications, until call id's CDR
// script has an outcome.
func waitCDR(t *testing.T, srv *Server, ch chan string, id string) *console.CDR {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		if c, ok := srv.Console().Get(id); ok && c.CDR != nil && c.CDR.ScriptOutcome != "pending" {
			return c.CDR
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("call %s: no CDR script outcome", id)
		}
	}
}

// A CDR posted to /events/cdr is acknowledged as Voicenter expects, joined
// to its call's journey, and handed to events/cdr.lua, whose CRM request
// and log line show in the journey too; the call's cache lookups show
// there, with the caller masked.
func TestACDRJoinsTheJourneyAndReachesTheEventsScript(t *testing.T) {
	crm := &cdrCRM{}
	u, srv := start(t, Config{Scripts: scriptsDir(t, cdrScripts), MaskCaller: true, HTTPTransport: crm,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ch, _ := srv.Console().Subscribe(4)
	defer srv.Console().Unsubscribe(ch)
	post(t, u, request("5", "1234"))
	post(t, u, []byte(strings.Replace(string(request("13", "")), "u-13-", "u-5-1234", 1)))
	post(t, u, []byte(strings.Replace(string(request("5", "")), "u-5-", "u-other", 1))) // a second caller, from the cache

	a := post(t, u+CDRPath, sampleCDR("u-5-1234", "ANSWER"))
	if a.status != 200 || string(a.body) != `{"Err":0,"Errdesc":"OK"}` || !strings.HasPrefix(a.ctype, "application/json") {
		t.Fatalf("CDR answer: %d %s %s", a.status, a.ctype, a.body)
	}
	cdr := waitCDR(t, srv, ch, "u-5-1234")
	if cdr.ScriptOutcome != "ok" || cdr.Status != "ANSWER" || cdr.Duration != 38 || len(cdr.Layers) != 2 || cdr.Answered != "Noa" {
		t.Errorf("the journey's CDR: %+v", cdr)
	}
	if w := crm.writes(); len(w) != 1 || w[0] != `{"duration":38,"status":"ANSWER"}` {
		t.Errorf("events/cdr.lua wrote back %q", w)
	}
	admin := srv.AdminHandler(false)
	_, body := adminGet(t, admin, "/console/call/"+url.PathEscape("u-5-1234"))
	for _, want := range []string{"How it ended", "ANSWER", "38 s", "Noa", "events/cdr", "https://crm.example.com/calls/u-5-1234",
		"call ended", "cache.remember", "contact:******4567", "loaded", "5 <q>ID</q>", "13 <q>Clerks</q>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the journey lacks %q", want)
		}
	}
	if strings.Contains(body, "0501234567") {
		t.Error("the journey shows the caller's number")
	}
	_, body = adminGet(t, admin, "/console/call/"+url.PathEscape("u-other"))
	if !strings.Contains(body, "contact:******4567") || !strings.Contains(body, ">hit<") {
		t.Errorf("the second call's cache hit is not shown:\n%s", body)
	}
	_, body = adminGet(t, admin, "/console/")
	if !strings.Contains(body, "ANSWER 38 s") {
		t.Error("the calls page lacks the CDR's outcome")
	}

	// A CDR for a call ivrouter never saw is acknowledged, handed to the
	// script, and kept out of the console's ring.
	a = post(t, u+CDRPath, sampleCDR("never-seen", "NOANSWER"))
	if a.status != 200 || string(a.body) != `{"Err":0,"Errdesc":"OK"}` {
		t.Fatalf("unjoined CDR answer: %d %s", a.status, a.body)
	}
	// The failing script is logged and counted once, never retried.
	post(t, u+CDRPath, sampleCDR("u-5-1234", "FAIL"))
	cdr = waitCDR(t, srv, ch, "u-5-1234")
	if cdr.ScriptOutcome != "script_error" || !strings.Contains(cdr.ScriptError, "the CRM refused u-5-1234") {
		t.Errorf("failed script: %+v", cdr)
	}
	if _, ok := srv.Console().Get("never-seen"); ok {
		t.Error("an unknown call's CDR took a place in the ring")
	}
	srv.stopEvents() // every queued CDR has run: the counters are final
	m := scrape(t, srv)
	if m[`ivrouter_cdr_total{result="joined"}`] != 2 || m[`ivrouter_cdr_total{result="unjoined"}`] != 1 ||
		m[`ivrouter_cdr_script_total{outcome="script_error"}`] != 1 || m[`ivrouter_cdr_script_total{outcome="ok"}`] != 2 {
		t.Errorf("CDR metrics: %v", m)
	}
	if w := crm.writes(); len(w) != 2 {
		t.Errorf("the CRM got %d write-backs, want 2 (the failed one is not retried)", len(w))
	}
}

// The three encodings Voicenter may use are each acknowledged in kind,
// and what cannot be read gets a clear error in the encoding it came in.
func TestCDREncodings(t *testing.T) {
	u, srv := start(t, Config{Scripts: scriptsDir(t, consoleScripts), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	post(t, u, request("5", "1234"))
	id := "u-5-1234"
	form := url.Values{"ivruniqueid": {id}, "status": {"ANSWER"}, "duration": {"12"}, "caller": {"0501234567"}}
	xmlrpc := `<?xml version="1.0"?><methodCall><methodName>cdr</methodName><params><param><value><struct>
<member><name>ivruniqueid</name><value><string>` + id + `</string></value></member>
<member><name>status</name><value><string>BUSY</string></value></member>
<member><name>duration</name><value><int>7</int></value></member>
</struct></value></param></params></methodCall>`
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		answer            string
		ended             string
	}{
		{"json", "application/json", string(sampleCDR(id, "ANSWER")), 200, `{"Err":0,"Errdesc":"OK"}`, "ANSWER 38 s"},
		{"form", "application/x-www-form-urlencoded", form.Encode(), 200, `{"Err":0,"Errdesc":"OK"}`, "ANSWER 12 s"},
		{"xml-rpc", "text/xml", xmlrpc, 200, "<methodResponse>", "BUSY 7 s"},
		{"broken json", "application/json", `{"ivruniqueid":`, 400, `{"Err":1,"Errdesc":"cdr: `, ""},
		{"no call id", "application/json", `{"status":"ANSWER"}`, 400, `"Err":1`, ""},
		{"broken xml", "text/xml", `<methodCall><params>`, 400, "<methodResponse>", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := http.Post(u+CDRPath, tc.ctype, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status || !strings.Contains(string(b), tc.answer) {
				t.Fatalf("%d %s, want %d with %s", res.StatusCode, b, tc.status, tc.answer)
			}
			if tc.ended == "" {
				return
			}
			c, _ := srv.Console().Get(id)
			if c.CDR == nil || c.CDR.Status+" "+fmt.Sprint(c.CDR.Duration)+" s" != tc.ended || c.CDR.Encoding != tc.name {
				t.Errorf("the journey's CDR: %+v", c.CDR)
			}
			if c.CDR.Script != "" {
				t.Errorf("no events script, yet the CDR names %q", c.CDR.Script)
			}
		})
	}
	res, err := http.Get(u + CDRPath)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET %s: %d", CDRPath, res.StatusCode)
	}
}

// The CDR endpoint keeps the main listener's token rule.
func TestCDRNeedsTheToken(t *testing.T) {
	u, _ := start(t, Config{Scripts: scriptsDir(t, consoleScripts), Token: "s3cret"})
	a := post(t, u+CDRPath, sampleCDR("x", "ANSWER"))
	if a.status != http.StatusUnauthorized {
		t.Errorf("no token: %d %s", a.status, a.body)
	}
	a = post(t, u+CDRPath+"?token=s3cret", sampleCDR("x", "ANSWER"))
	if a.status != 200 {
		t.Errorf("with the token: %d %s", a.status, a.body)
	}
}

// An events script is no route: a directory with only one is refused,
// as an empty one is.
func TestAnEventsScriptAloneIsNoRoutingTable(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "events"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "events", "cdr.lua"), []byte(cdrScripts["events/cdr.lua"]), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Scripts: dir}); err == nil || !strings.Contains(err.Error(), "no route scripts") {
		t.Errorf("a directory with only events/cdr.lua: %v", err)
	}
}
