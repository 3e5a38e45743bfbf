package scripttest_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
	"github.com/ivrouter/ivrouter/server"
	"github.com/ivrouter/ivrouter/server/scripttest"
	lua "github.com/yuin/gopher-lua"
)

// layer5 is the documentation's layer: 8 digits to 12, anything else to 13.
const layer5 = `
return function(call)
  if call.dtmf:match("^%d%d%d%d%d%d%d%d$") then return ivr.go_to_layer(12) end
  return ivr.go_to_layer(13)
end`

// lookup asks the CRM for the caller and shows what it got.
const lookup = `
local http = require("http")
local json = require("json")
local log = require("log")
local env = require("env")
local BASE = env.get("CRM_URL", "http://127.0.0.1:8081")

return function(call)
  local res, err = http.get(BASE .. "/contacts", { query = { phone = call.caller_id }, timeout = 1000 })
  if not res then
    log.warn("CRM lookup failed", { error = err })
    return ivr.go_to_layer(10, { custom_data = { err = err } })
  end
  local c = json.decode(res.body) or {}
  return ivr.go_to_layer(20, { caller_name = c.name,
    custom_data = { status = res.status, type = res.headers["content-type"] or "", base = BASE } })
end`

// idEntry sends the third wrong ID of a call to an agent; known IDs, from
// a cached CRM lookup, go to 12.
const idEntry = `
local state = require("state")
local cache = require("cache")
local http = require("http")
local json = require("json")
local log = require("log")

return function(call)
  local known = cache.remember("crm:id:" .. call.dtmf, 60, function()
    local res, err = http.get("http://crm.test/contacts?id=" .. call.dtmf)
    if not res then return nil, err end
    if res.status == 404 then return { found = false } end
    local c = json.decode(res.body)
    c.found = true
    return c
  end)
  if known and known.found then
    return ivr.go_to_layer(12, { caller_name = known.name })
  end
  local tries = state.incr("wrong_ids")
  if tries >= 3 then
    log.info("too many wrong IDs", { tries = tries })
    return ivr.go_to_layer(20)
  end
  log.info("wrong ID", { tries = tries })
  return ivr.go_to_layer(13)
end`

// run writes files into a scripts directory and runs its tests.
func run(t *testing.T, files map[string]string, base server.Config, o scripttest.Options) (*scripttest.Report, string) {
	t.Helper()
	dir := luavmtest.Dir(t, "", files)
	rep, err := scripttest.Run(context.Background(), dir, base, o)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out, true)
	return rep, out.String()
}

func only(t *testing.T, rep *scripttest.Report) scripttest.Result {
	t.Helper()
	if len(rep.Results) != 1 {
		t.Fatalf("got %d results, want 1: %+v", len(rep.Results), rep.Results)
	}
	return rep.Results[0]
}

func TestPassingCase(t *testing.T) {
	rep, out := run(t, map[string]string{
		"layers/5.lua": layer5,
		"layers/5.test.yaml": `
layer: 5
cases:
  - name: an 8-digit ID goes to 12
    request: {dtmf: "12345678"}
    expect:
      answer: {STATUS: 0, ACTION: GO_TO_LAYER, LAYER: 12}
      outcome: ok
      requests: []
`,
	}, server.Config{}, scripttest.Options{Verbose: true})
	if res := only(t, rep); !res.Passed || res.Line != 4 || res.Name != "an 8-digit ID goes to 12" || res.Duration <= 0 {
		t.Fatalf("%+v", res)
	}
	if rep.Failed() != 0 || !strings.HasSuffix(out, "PASS: 1 case in 1 file\n") {
		t.Fatalf("failed %d, output:\n%s", rep.Failed(), out)
	}
	for _, s := range []string{"--- PASS: ", "5.test.yaml:4: an 8-digit ID goes to 12\n",
		`    request: POST / {"METHOD":"IVR_LAYER_INPUT","DATA":{"DID":"0722776772","CALLER_ID":"0501234567","IVR_UNIQUE_ID":"ivrouter-test-call","DTMF":"12345678","LAYER_ID":"5"}}`,
		`    answer: {"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12}`} {
		if !strings.Contains(out, s) {
			t.Errorf("verbose output lacks %q:\n%s", s, out)
		}
	}
}

func TestChangedLayerFailsWithADiffNamingTheCase(t *testing.T) {
	rep, out := run(t, map[string]string{
		"layers/5.lua": layer5,
		"layers/5.test.yaml": `layer: 5
cases:
  - name: a short ID asks again
    request: {dtmf: "123"}
    expect:
      answer: {ACTION: GO_TO_LAYER, LAYER: 14}
`,
	}, server.Config{}, scripttest.Options{})
	res := only(t, rep)
	if res.Passed || rep.Failed() != 1 {
		t.Fatalf("passed: %+v", res)
	}
	want := filepath.Join("layers", "5.test.yaml") + ":3: a short ID asks again\n"
	for _, s := range []string{"--- FAIL: ", want, "answer differs (-expected +actual):",
		`-   "LAYER": 14`, `+   "LAYER": 13`, `    "ACTION": "GO_TO_LAYER"`, "outcome: ok", "FAIL: 1 of 1 case failed"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestUnstubbedRequestFailsAndIsNamed(t *testing.T) {
	rep, _ := run(t, map[string]string{
		"caller.lua": lookup,
		"caller.test.yaml": `route: caller
cases:
  - name: the script copes, the case still fails
    expect: {answer: {LAYER: 10}}
`,
	}, server.Config{}, scripttest.Options{})
	res := only(t, rep)
	const req = "GET http://127.0.0.1:8081/contacts?phone=0501234567"
	if res.Passed || !strings.Contains(res.Failure, req+": no stub matches") {
		t.Fatalf("failure:\n%s", res.Failure)
	}
	if !strings.Contains(res.Failure, `error="no stub for `+req+`"`) {
		t.Errorf("the script's log line is missing:\n%s", res.Failure)
	}
}

func TestStubsAreWhatTheScriptSees(t *testing.T) {
	rep, out := run(t, map[string]string{
		"caller.lua": lookup,
		"caller.test.yaml": `route: caller
env: {CRM_URL: "http://crm.test"}
http:
  - match: GET http://crm.test/*
    error: connection refused      # the file's stub: after each case's own
cases:
  - name: status and body
    http:
      - match: GET http://crm.test/contacts?phone=*
        status: 404
        headers: {Content-Type: text/plain}
        body: not found
    expect:
      answer: {LAYER: 20, CALLER_NAME: null, CUSTOM_DATA: {status: "404", type: text/plain, base: "http://crm.test"}}
      requests: ["GET http://crm.test/contacts?phone=0501234567"]
  - name: json
    http:
      - match: GET http://crm.test/contacts?phone=0501234567
        json: {name: Dana}
    expect:
      answer: {LAYER: 20, CALLER_NAME: Dana, CUSTOM_DATA: {status: "200", type: application/json}}
  - name: a network error
    expect:
      answer: {LAYER: 10, CUSTOM_DATA: {err: connection refused}}
      log: [WARN CRM lookup failed, connection refused]
  - name: a timeout
    http:
      - match: '* http://crm.test/contacts?*'
        timeout: true
    expect:
      answer: {LAYER: 10, CUSTOM_DATA: {err: timeout after 1s}}
`,
	}, server.Config{}, scripttest.Options{})
	if rep.Failed() != 0 || len(rep.Results) != 4 {
		t.Fatalf("%d of %d failed:\n%s", rep.Failed(), len(rep.Results), out)
	}
}

func TestCacheAndStateSeeds(t *testing.T) {
	rep, out := run(t, map[string]string{
		"id.lua": idEntry,
		"id.test.yaml": `route: id
cases:
  - name: the third wrong ID goes to an agent
    request: {dtmf: "11111111"}
    cache: {"crm:id:11111111": {found: false}}
    state: {wrong_ids: 2}
    expect:
      answer: {LAYER: 20}
      log: ["too many wrong IDs tries=3"]
      requests: []
  - name: without the seeds it is the first
    request: {dtmf: "11111111"}
    http:
      - {match: "GET http://crm.test/contacts?id=11111111", status: 404}
    expect:
      answer: {LAYER: 13}
      log: ["wrong ID tries=1"]
  - name: seeds are fresh for an hour of the frozen clock
    at: 2026-12-01T10:00:00+02:00
    cache: {"crm:id:11111111": {found: false}}
    http:
      - {match: "GET http://crm.test/contacts?id=11111111", json: {name: Dana}}
    steps:
      - request: {dtmf: "11111111"}
        expect: {answer: {LAYER: 13}, requests: []}
      - at: 2026-12-01T10:59:59+02:00
        request: {dtmf: "11111111"}
        expect: {answer: {LAYER: 13}, requests: []}
      - at: 2026-12-01T11:00:00+02:00
        request: {dtmf: "11111111"}
        expect: {answer: {LAYER: 12, CALLER_NAME: Dana}, requests: ["GET http://crm.test/contacts?id=11111111"]}
`,
	}, server.Config{}, scripttest.Options{})
	if rep.Failed() != 0 {
		t.Fatal(out)
	}
}

func TestStepsCarryStateAndCacheAcrossLayers(t *testing.T) {
	rep, out := run(t, map[string]string{
		"id.lua": idEntry,
		"layers/7.lua": `local state = require("state")
return function(call)
  return ivr.go_to_layer(8, { custom_data = { tries = state.get("wrong_ids") or 0 } })
end`,
		"id.test.yaml": `route: id
request: {ivr_unique_id: call-1}
cases:
  - name: one call through the layers
    http:
      - match: GET http://crm.test/contacts?id=12345678
        json: {name: Dana}
      - {match: GET http://crm.test/*, status: 404}
    steps:
      - request: {dtmf: "1"}
        expect: {answer: {LAYER: 13}, requests: ["GET http://crm.test/contacts?id=1"]}
      - request: {dtmf: "2"}
        expect: {answer: {LAYER: 13}}
      - layer: 7
        expect: {answer: {LAYER: 8, CUSTOM_DATA: {tries: "2"}}}
      - request: {dtmf: "12345678"}
        expect: {answer: {LAYER: 12, CALLER_NAME: Dana}, requests: ["GET http://crm.test/contacts?id=12345678"]}
      - request: {dtmf: "12345678"}
        expect: {answer: {LAYER: 12, CALLER_NAME: Dana}, requests: []}
      - request: {dtmf: "3"}
        expect: {answer: {LAYER: 20}, log: [too many wrong IDs]}
`,
	}, server.Config{}, scripttest.Options{})
	if rep.Failed() != 0 {
		t.Fatal(out)
	}
}

func TestRequestsAreComparedWhole(t *testing.T) {
	rep, _ := run(t, map[string]string{
		"caller.lua": lookup,
		"caller.test.yaml": `route: caller
http: [{match: GET *, json: {}}]
cases:
  - name: one request, not two
    expect:
      requests: ["GET http://127.0.0.1:8081/contacts?phone=0501234567", "GET http://127.0.0.1:8081/tickets"]
`,
	}, server.Config{}, scripttest.Options{})
	res := only(t, rep)
	if res.Passed || !strings.Contains(res.Failure, "requests differ (-expected +actual):\n"+
		"    GET http://127.0.0.1:8081/contacts?phone=0501234567\n"+
		"  - GET http://127.0.0.1:8081/tickets\n") {
		t.Fatalf("failure:\n%s", res.Failure)
	}
}

func TestAFailingStepIsNamed(t *testing.T) {
	rep, _ := run(t, map[string]string{
		"layers/5.lua": layer5,
		"5.test.yaml": `layer: 5
cases:
  - name: two tries
    steps:
      - request: {dtmf: "1"}
        expect: {answer: {LAYER: 13}}
      - request: {dtmf: "2"}
        expect: {answer: {LAYER: 12}}
`,
	}, server.Config{}, scripttest.Options{})
	if res := only(t, rep); res.Passed || !strings.HasPrefix(res.Failure, "step 2 of 2 (") ||
		!strings.Contains(res.Failure, "5.test.yaml:7):\n") {
		t.Fatalf("failure:\n%s", res.Failure)
	}
}

func TestLogExpectationsInOrder(t *testing.T) {
	files := map[string]string{
		"talk.lua": `local log = require("log")
return function(call)
  log.info("first", { n = 1 })
  print("second")
  log.debug("third")
  return ivr.go_to_layer(1)
end`,
	}
	for _, tc := range []struct {
		log  string
		pass bool
	}{
		{`[first, "n=1", second, DEBUG third]`, true},
		{`["INFO first n=1 (", "talk.lua:3)"]`, true},
		{`[second, first]`, false},
		{`[fourth]`, false},
	} {
		files["talk.test.yaml"] = "route: talk\ncases:\n  - name: x\n    expect: {log: " + tc.log + "}\n"
		rep, out := run(t, files, server.Config{}, scripttest.Options{})
		if res := only(t, rep); res.Passed != tc.pass {
			t.Errorf("log %s: passed %v, want %v:\n%s", tc.log, res.Passed, tc.pass, out)
		}
	}
}

func TestScriptErrorsFailUnlessExpected(t *testing.T) {
	rep, out := run(t, map[string]string{
		"bad.lua": `return { fallback = 13, handle = function(call)
  local contact = nil
  return ivr.go_to_layer(contact.layer)
end }`,
		"bad.test.yaml": `route: bad
cases:
  - name: the fallback answer alone does not pass
    expect: {answer: {LAYER: 13}}
  - name: an expected error
    expect: {answer: {LAYER: 13}, outcome: script_error, error: "bad.lua:3: attempt to index"}
  - name: an error implies a failed call
    expect: {error: attempt to index}
`,
	}, server.Config{}, scripttest.Options{})
	if rep.Results[0].Passed || !rep.Results[1].Passed || !rep.Results[2].Passed {
		t.Fatal(out)
	}
	if f := rep.Results[0].Failure; !strings.Contains(f, "outcome is script_error, want ok") ||
		!strings.Contains(f, "bad.lua:3: attempt to index") {
		t.Fatalf("failure:\n%s", f)
	}
}

// clockModule gives scripts clock.unix(): the call's instant, as the time
// module reads it.
var clockModule = luavm.Module{Name: "clock", Loader: func(L *lua.LState) int {
	t := L.NewTable()
	t.RawSetString("unix", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(luavm.Now(L).Unix()))
		return 1
	}))
	L.Push(t)
	return 1
}}

func TestTheClockIsFrozen(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("", 2*3600))
	rep, out := run(t, map[string]string{
		"now.lua": `local clock = require("clock")
return function(call) return ivr.go_to_layer(1, { custom_data = { now = clock.unix() } }) end`,
		"now.test.yaml": fmt.Sprintf(`route: now
cases:
  - name: the default instant
    expect: {answer: {CUSTOM_DATA: {now: "%d"}}}
  - name: the case's instant, then a step's own
    at: 2026-12-01T10:00:00+02:00
    steps:
      - expect: {answer: {CUSTOM_DATA: {now: "%d"}}}
      - at: 2026-12-01T18:30:00+02:00
        expect: {answer: {CUSTOM_DATA: {now: "%d"}}}
`, scripttest.DefaultAt.Unix(), at.Unix(), at.Add(8*time.Hour+30*time.Minute).Unix()),
	}, server.Config{Modules: []luavm.Module{clockModule}}, scripttest.Options{})
	if rep.Failed() != 0 {
		t.Fatal(out)
	}
}

func TestEnvIsTheFilesNotTheProcesss(t *testing.T) {
	t.Setenv("CRM_URL", "http://real-crm.example")
	rep, out := run(t, map[string]string{
		"caller.lua": lookup,
		"caller.test.yaml": `route: caller
cases:
  - name: unset, the script's default
    http: [{match: GET http://127.0.0.1:8081/*, json: {}}]
    expect: {answer: {CUSTOM_DATA: {base: "http://127.0.0.1:8081"}}}
`,
	}, server.Config{}, scripttest.Options{})
	if rep.Failed() != 0 {
		t.Fatal(out)
	}
}

func TestRunSelectsByFileAndCaseName(t *testing.T) {
	files := map[string]string{
		"layers/5.lua": layer5,
		"layers/5.test.yaml": `layer: 5
cases:
  - {name: eight digits, request: {dtmf: "12345678"}, expect: {answer: {LAYER: 12}}}
  - {name: three digits, request: {dtmf: "123"}, expect: {answer: {LAYER: 13}}}
`,
		"other.test.yaml": `layer: 5
cases:
  - {name: eight digits again, request: {dtmf: "87654321"}, expect: {answer: {LAYER: 12}}}
`,
	}
	for re, want := range map[string][]string{
		"eight":                  {"eight digits", "eight digits again"},
		"^layers/5.test.yaml/":   {"eight digits", "three digits"},
		"5.test.yaml/three":      {"three digits"},
		"^other.*again$":         {"eight digits again"},
		"no case is called this": nil,
	} {
		rep, _ := run(t, files, server.Config{}, scripttest.Options{Run: regexp.MustCompile(re)})
		var got []string
		for _, r := range rep.Results {
			got = append(got, r.Name)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || rep.Files != 2 {
			t.Errorf("-run %s: got %q in %d files, want %q", re, got, rep.Files, want)
		}
	}
}

func TestJUnit(t *testing.T) {
	rep, _ := run(t, map[string]string{
		"layers/5.lua": layer5,
		"a.test.yaml": `layer: 5
cases:
  - {name: passes, request: {dtmf: "12345678"}, expect: {answer: {LAYER: 12}}}
  - {name: fails <&>, request: {dtmf: "1"}, expect: {answer: {LAYER: 12}}}
`,
		"b.test.yaml": "layer: 5\ncases:\n  - name: broken\n    expect: {answr: {}}\n",
	}, server.Config{}, scripttest.Options{})
	var buf bytes.Buffer
	if err := rep.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, buf.String())
	}
	if doc.Tests != 3 || doc.Failures != 2 || len(doc.Suites) != 2 {
		t.Fatalf("tests %d failures %d suites %d:\n%s", doc.Tests, doc.Failures, len(doc.Suites), buf.String())
	}
	a, b := doc.Suites[0], doc.Suites[1]
	if !strings.HasSuffix(a.Name, "a.test.yaml") || a.Tests != 2 || a.Failures != 1 || a.Cases[0].Failure != nil ||
		a.Cases[1].Name != "fails <&>" || !strings.Contains(a.Cases[1].Failure.Text, `-   "LAYER": 12`) {
		t.Errorf("suite a: %+v", a)
	}
	if b.Tests != 1 || b.Failures != 1 || b.Cases[0].Name != "(test file)" ||
		!strings.Contains(b.Cases[0].Failure.Message, `b.test.yaml:4: unknown key "answr"`) {
		t.Errorf("suite b: %+v", b)
	}
}

func TestMalformedFilesNameFileAndLineAndOthersStillRun(t *testing.T) {
	rep, out := run(t, map[string]string{
		"layers/5.lua": layer5,
		"a.test.yaml":  "layer: 5\ncases:\n  - name: x\n    request: {dtmf: \"1\"\n",
		"b.test.yaml": `layer: 5
cases:
  - name: unknown keys
    request: {dtmf: "1", dmtf: "2"}
    expect: {answer: {LAYER: 13}, outcome: fine}
  - name: a bad stub
    http: [{match: GET, status: 200, error: refused}]
`,
		"c.test.yaml": "layer: 5\ncases:\n  - {name: fine, expect: {answer: {LAYER: 13}}}\n",
	}, server.Config{}, scripttest.Options{})
	if len(rep.Results) != 3 || rep.Failed() != 2 || !rep.Results[2].Passed {
		t.Fatal(out)
	}
	for _, s := range []string{
		"a.test.yaml:3: did not find expected ',' or '}'",
		`b.test.yaml:4: unknown key "dmtf" in request`,
		`b.test.yaml:5: outcome "fine" is not one of`,
		"b.test.yaml:7: match must be METHOD URL",
		"b.test.yaml:7: an http stub answers a response (status, headers, json, body), an error or a timeout: one of them",
		"FAIL: 2 test files could not be read",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if rep.Results[1].Line != 4 {
		t.Errorf("b.test.yaml's failure is at line %d, want its first problem's, 4", rep.Results[1].Line)
	}
}

func TestNoTestFiles(t *testing.T) {
	rep, out := run(t, map[string]string{"layers/5.lua": layer5, ".hidden/x.test.yaml": "nonsense: ["}, server.Config{}, scripttest.Options{})
	if rep.Files != 0 || len(rep.Results) != 0 || rep.Failed() != 0 || out != "no test files (*.test.yaml, *.test.yml)\n" {
		t.Fatalf("%+v %q", rep, out)
	}
}

func TestScriptsThatDoNotLoadAreReportedOnce(t *testing.T) {
	rep, _ := run(t, map[string]string{
		"layers/5.lua": "return function(call) return ivr.go_to_layer(",
		"a.test.yaml":  "layer: 5\ncases:\n  - {name: one}\n  - {name: two}\n",
	}, server.Config{}, scripttest.Options{})
	if rep.Failed() != 2 || !strings.Contains(rep.Results[0].Failure, "the scripts do not load: ") ||
		!strings.Contains(rep.Results[0].Failure, "5.lua") ||
		!strings.HasPrefix(rep.Results[1].Failure, "the scripts do not load: see ") {
		t.Fatalf("%+v", rep.Results)
	}
}

// TestSameOutputEveryRun runs cases in parallel and compares what two
// runs print.
func TestSameOutputEveryRun(t *testing.T) {
	files := map[string]string{"layers/5.lua": layer5, "id.lua": idEntry}
	for i := range 6 {
		var cases strings.Builder
		for j := range 8 {
			fmt.Fprintf(&cases, "  - {name: case %d, request: {dtmf: \"%d\"}, expect: {answer: {LAYER: %d}}}\n", j, j, 13+j%2)
		}
		files[fmt.Sprintf("f%d.test.yaml", i)] = "layer: 5\ncases:\n" + cases.String()
	}
	dir := luavmtest.Dir(t, "", files)
	var prints [2]string
	for i := range prints {
		rep, err := scripttest.Run(context.Background(), dir, server.Config{}, scripttest.Options{Parallel: 4})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Results) != 48 || rep.Failed() != 24 {
			t.Fatalf("%d results, %d failed", len(rep.Results), rep.Failed())
		}
		var b bytes.Buffer
		rep.Print(&b, false)
		prints[i] = b.String()
	}
	if prints[0] != prints[1] {
		t.Fatalf("two runs printed differently:\n%s\n----\n%s", prints[0], prints[1])
	}
	if !regexp.MustCompile(`^--- FAIL: \S+f0.test.yaml:4: case 1\n`).MatchString(prints[0]) {
		t.Errorf("results are not in file order:\n%.300s", prints[0])
	}
}
