package scripttest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/server"
	"github.com/ivrouter/ivrouter/server/cdr"
	"github.com/ivrouter/ivrouter/server/scripttest"
)

// writeBack is an events/cdr.lua that writes the call back to the CRM
// and says what it saw.
const writeBack = `
local http = require("http")
local log = require("log")
local state = require("state")

return function(cdr)
  if cdr.status == "FAIL" then error("cannot write back " .. cdr.ivruniqueid) end
  local ids = {}
  for _, st in ipairs(cdr.ivr) do table.insert(ids, st.layer_id .. ":" .. st.dtmf) end
  log.info("call ended", { call = cdr.ivruniqueid, status = cdr.status, duration = cdr.duration,
    caller = cdr.caller, did = cdr.did, type = cdr.type, at = cdr.time, layers = table.concat(ids, ","),
    tries = state.get("wrong_ids") or 0 })
  local res, err = http.post("http://crm.test/calls/" .. cdr.ivruniqueid, { body = cdr.status })
  if not res then log.warn("write-back failed", { error = err }) end
  return ivr.go_to_layer(1) -- ignored
end`

func TestCDRCasePasses(t *testing.T) {
	rep, out := run(t, map[string]string{
		"layers/5.lua":   idEntry,
		"events/cdr.lua": writeBack,
		"events/cdr.test.yaml": `route: events/cdr
request: {caller_id: "0521111111"}
at: 2026-12-01T10:05:00+02:00
http:
  - {match: POST http://crm.test/calls/*, status: 204}
  - {match: "GET http://crm.test/contacts?id=*", status: 404}
cases:
  - name: an answered call is written back
    cdr:
      duration: 38
      ivr: [{layer_id: 5, layer_name: ID, dtmf: 0123}, {layer_id: 12, layer_name: Known}]
    expect:
      outcome: ok
      log: [call ended, at=1796112300, call=ivrouter-test-call, caller=0521111111, did=0722776772, duration=38,
        "layers=5:0123,12:", status=ANSWER, tries=0, "type=\"Incoming Call\""]
      requests: ["POST http://crm.test/calls/ivrouter-test-call"]
  - name: the CRM down is the script's business
    cdr: {ivruniqueid: "1580846139.7", status: NOANSWER}
    http: [{match: POST http://crm.test/calls/*, error: connection refused}]
    expect:
      log: [call ended, status=NOANSWER, WARN write-back failed, connection refused]
      requests: ["POST http://crm.test/calls/1580846139.7"]
  - name: a failing script is its outcome
    cdr: {status: FAIL}
    expect: {outcome: script_error, error: "events/cdr.lua:7: cannot write back ivrouter-test-call", requests: []}
  - name: a call's steps, then its CDR, which sees the call's state
    steps:
      - {layer: 5, request: {dtmf: "1"}, expect: {answer: {LAYER: 13}}}
      - {layer: 5, request: {dtmf: "2"}, expect: {answer: {LAYER: 13}}}
      - route: events/cdr
        cdr: {duration: 61}
        expect: {log: [duration=61, tries=2], requests: ["POST http://crm.test/calls/ivrouter-test-call"]}
`,
	}, server.Config{}, scripttest.Options{Verbose: true})
	if rep.Failed() != 0 || len(rep.Results) != 4 {
		t.Fatalf("failed %d of %d:\n%s", rep.Failed(), len(rep.Results), out)
	}
	for _, s := range []string{
		`    cdr: events/cdr {"caller":"0521111111","did":"0722776772","duration":38,"ivr":[{"dtmf":"0123","layer_id":5,"layer_name":"ID"},{"layer_id":12,"layer_name":"Known"}],"ivruniqueid":"ivrouter-test-call","status":"ANSWER","time":1796112300,"type":"Incoming Call"}`,
		"    outcome: script_error\n    error: ",
		"    step 3 of 3 (",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("verbose output lacks %q:\n%s", s, out)
		}
	}
	// A CDR has no answer: none is shown, nor a status.
	for _, res := range rep.Results[:3] {
		if strings.Contains(res.Output, "answer:") || strings.Contains(res.Output, "status:") {
			t.Errorf("%s shows an answer:\n%s", res.Name, res.Output)
		}
	}
}

func TestCDRCaseFailingExpectationsAreNamed(t *testing.T) {
	rep, out := run(t, map[string]string{
		"events/cdr.lua": writeBack,
		"layers/5.lua":   layer5,
		"events/cdr.test.yaml": `route: events/cdr
cases:
  - name: the wrong status
    cdr: {status: BUSY}
    http: [{match: POST http://crm.test/*, status: 200}]
    expect:
      outcome: script_error
      log: [status=ANSWER]
      requests: ["POST http://crm.test/calls/other"]
`,
	}, server.Config{}, scripttest.Options{})
	res := only(t, rep)
	if res.Passed {
		t.Fatalf("passed:\n%s", out)
	}
	for _, s := range []string{
		"--- FAIL: ", "cdr.test.yaml:3: the wrong status\n",
		"outcome is ok, want script_error",
		`log: no line contains "status=ANSWER" (in the expected order)`,
		"requests differ (-expected +actual):", "- POST http://crm.test/calls/other", "+ POST http://crm.test/calls/ivrouter-test-call",
		`    cdr: events/cdr {"caller":"0501234567"`, `"status":"BUSY"`,
		"    outcome: ok\n", "INFO call ended", "events/cdr.lua:10)",
		"FAIL: 1 of 1 case failed",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(res.Failure, "answer:") {
		t.Errorf("a CDR's failure shows an answer:\n%s", res.Failure)
	}
}

func TestCDRCaseUnstubbedRequestFails(t *testing.T) {
	rep, _ := run(t, map[string]string{
		"events/cdr.lua": writeBack,
		"layers/5.lua":   layer5,
		"events/cdr.test.yaml": `route: events/cdr
cases:
  - name: the script copes, the case still fails
    expect: {log: [write-back failed]}
`,
	}, server.Config{}, scripttest.Options{})
	res := only(t, rep)
	const req = "POST http://crm.test/calls/ivrouter-test-call"
	if res.Passed || !strings.Contains(res.Failure, req+": no stub matches") ||
		!strings.Contains(res.Failure, `error="no stub for `+req+`"`) {
		t.Fatalf("failure:\n%s", res.Failure)
	}
}

func TestCDRCaseWithoutTheScript(t *testing.T) {
	rep, out := run(t, map[string]string{
		"layers/5.lua": layer5,
		"events/cdr.test.yaml": `route: events/cdr
cases:
  - {name: no script, expect: {outcome: not_found, error: no script answers events/cdr}}
  - {name: expected to run, expect: {outcome: ok}}
`,
	}, server.Config{}, scripttest.Options{})
	if len(rep.Results) != 2 || !rep.Results[0].Passed || rep.Results[1].Passed ||
		!strings.Contains(rep.Results[1].Failure, "outcome is not_found, want ok") {
		t.Fatal(out)
	}
}

func TestCDRCaseMistakesAreErrorsWithTheirLine(t *testing.T) {
	rep, out := run(t, map[string]string{
		"events/cdr.lua": writeBack,
		"layers/5.lua":   layer5,
		"events/cdr.test.yaml": `route: events/cdr
cdr: {status: ANSWER}
cases:
  - name: an answer
    expect:
      answer: {LAYER: 12}
      exact: true
  - name: a request
    request: {dtmf: "1"}
  - name: a misspelled field
    cdr: {stauts: ANSWER, duration: long, ivr: [{layer: 5}], time: yesterday, ivruniqueid: ""}
  - name: cdr on a layer
    layer: 5
    cdr: {status: ANSWER}
  - name: another events script
    route: events/hangup
  - name: a step's CDR of another call
    steps:
      - {cdr: {ivruniqueid: other}}
`,
	}, server.Config{}, scripttest.Options{})
	if len(rep.Results) != 1 || rep.Failed() != 1 {
		t.Fatal(out)
	}
	for _, s := range []string{
		"cdr.test.yaml:6: a CDR has no answer (the events script's return value is ignored): expect its outcome, error, log or requests",
		"cdr.test.yaml:7: a CDR has no answer",
		"cdr.test.yaml:9: a CDR is no IVR request: give its fields under cdr:, not request:",
		`cdr.test.yaml:11: unknown key "stauts" in cdr (keys: caller, caller_country,`,
		`cdr.test.yaml:11: cdr duration must be a whole number from 0 to 2147483647, got "long"`,
		`cdr.test.yaml:11: unknown key "layer" in an ivr step (keys: dtmf, dtmf_order, layer_id, layer_name, layer_number)`,
		`cdr.test.yaml:11: cdr time must be unix seconds or an RFC 3339 instant`,
		"cdr.test.yaml:11: cdr ivruniqueid must not be empty",
		"cdr.test.yaml:14: cdr: is for route: events/cdr (a CDR), and this request goes to layer 5",
		"cdr.test.yaml:16: route events/hangup: the events script a test can run is events/cdr",
		`cdr.test.yaml:19: a step's CDR is its case's call: its ivruniqueid "other" is not the case's ivr_unique_id "ivrouter-test-call"`,
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestCaseEnvIsOverTheFiles(t *testing.T) {
	rep, out := run(t, map[string]string{
		"caller.lua": lookup,
		"caller.test.yaml": `route: caller
env: {CRM_URL: "http://crm.test"}
http: [{match: GET http://*, error: refused}]
cases:
  - name: the file's
    expect: {answer: {CUSTOM_DATA: {err: refused}}, requests: ["GET http://crm.test/contacts?phone=0501234567"]}
  - name: the case's
    env: {CRM_URL: "http://other.test"}
    expect: {answer: {CUSTOM_DATA: {err: refused}}, requests: ["GET http://other.test/contacts?phone=0501234567"]}
  - name: unset
    env: {CRM_URL: ""}
    expect: {answer: {CUSTOM_DATA: {err: refused}}, requests: ["GET http://127.0.0.1:8081/contacts?phone=0501234567"]}
`,
	}, server.Config{}, scripttest.Options{})
	if rep.Failed() != 0 {
		t.Fatal(out)
	}
	path := filepath.Join(t.TempDir(), "x.test.yaml")
	if err := os.WriteFile(path, []byte("env: {A: a, B: b}\ncases: [{name: x, route: r, env: {B: c}}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stubs, err := scripttest.ReadStubs(path, "x")
	if err != nil || stubs.Env["A"] != "a" || stubs.Env["B"] != "c" {
		t.Fatalf("%v %v", stubs, err)
	}
}

// crmRecorder is a CRM that keeps what is posted to it.
type crmRecorder struct {
	mu     sync.Mutex
	posted []string
}

func (c *crmRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.posted = append(c.posted, r.Method+" "+r.URL.String()+" "+string(b))
	c.mu.Unlock()
	return &http.Response{StatusCode: 204, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

// The bundled events/cdr.lua writes what the CRM is told in its README:
// checked here because stubs do not match request bodies.
func TestBundledCDRScriptWritesBack(t *testing.T) {
	crm := &crmRecorder{}
	h, err := scripttest.NewHarness(scripttest.Setup{
		Config:    server.Config{Scripts: "../../scripts", ScriptEnv: map[string]string{"CRM_URL": "http://crm.test", "CRM_TOKEN": ""}},
		At:        scripttest.DefaultAt,
		Transport: crm,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, body := range []string{
		`{"ivruniqueid":"u1","caller":"0501234567","status":"ANSWER","duration":"38","IVR":"[{\"layer_id\":5,\"Dtmf\":1},{\"layer_id\":12}]"}`,
		`{"ivruniqueid":"u2","caller":"","status":"NOANSWER"}`,
	} {
		rec, _, err := cdr.Parse("application/json", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		x := h.Do(scripttest.Request{CDR: rec, At: scripttest.DefaultAt.Add(time.Minute)})
		if x.Outcome != "ok" || x.Error != "" || x.Script != server.CDRScript || x.Status != 0 || x.Body != nil ||
			len(x.HTTP) != 1 || x.HTTP[0].String() != "POST http://crm.test/calls" || x.HTTP[0].Status != 204 {
			t.Fatalf("%+v", x)
		}
		if len(x.Log) != 1 || !strings.HasPrefix(x.Log[0], "INFO call ended") {
			t.Errorf("log: %q", x.Log)
		}
	}
	if len(crm.posted) != 2 {
		t.Fatalf("posted: %q", crm.posted)
	}
	for i, want := range []string{
		`{"caller":"0501234567","duration":38,"ivruniqueid":"u1","layers":[5,12],"status":"ANSWER"}`,
		`{"caller":"","duration":0,"ivruniqueid":"u2","layers":[],"status":"NOANSWER"}`,
	} {
		method, body, _ := strings.Cut(crm.posted[i], "http://crm.test/calls ")
		if method != "POST " || !jsonEqual(body, want) {
			t.Errorf("write-back %d: %s, want POST http://crm.test/calls %s", i+1, crm.posted[i], want)
		}
	}
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
