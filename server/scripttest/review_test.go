package scripttest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/luavm/luavmtest"
	"github.com/ivrouter/ivrouter/server"
	"github.com/ivrouter/ivrouter/server/scripttest"
)

// bomb is a test file whose cache seed nests aliases levels deep: 10^levels
// values once expanded, from a few hundred bytes.
func bomb(levels int) string {
	var b strings.Builder
	b.WriteString("layer: 5\ncases:\n  - name: bomb\n    cache:\n")
	b.WriteString("      x0: &a0 [z, z, z, z, z, z, z, z, z, z]\n")
	for i := 1; i <= levels; i++ {
		p := fmt.Sprintf("*a%d", i-1)
		fmt.Fprintf(&b, "      k%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(p+", ", 10), ", "))
	}
	b.WriteString("    expect: {answer: {LAYER: 13}}\n")
	return b.String()
}

func TestNestedAliasesAreBounded(t *testing.T) {
	for _, levels := range []int{5, 8} {
		t.Run(fmt.Sprint(levels), func(t *testing.T) {
			rep, _ := run(t, map[string]string{"layers/5.lua": layer5, "bomb.test.yaml": bomb(levels)},
				server.Config{}, scripttest.Options{})
			res := only(t, rep)
			if res.Passed || res.Name != "" {
				t.Fatalf("a file of 10^%d values ran: %+v", levels, res)
			}
			// k1 to k4 (lines 6 to 9) expand to 111,110 values: k4 passes the bound.
			want := "bomb.test.yaml:9: the test file expands to more than 100000 values here"
			if !strings.Contains(res.Failure, want) {
				t.Errorf("failure:\n%s", res.Failure)
			}
			if strings.Count(res.Failure, "\n") > 0 {
				t.Errorf("one problem, not a cascade:\n%s", res.Failure)
			}
		})
	}
}

func TestAnAliasInsideItsOwnValueIsAnError(t *testing.T) {
	for _, yaml := range []string{
		"    cache: {loop: &a [1, *a]}\n",
		"    cache: {loop: &a {x: *a}}\n",
		"    cache: {loop: &a {<<: *a, x: 1}}\n",
		"    request: &r {<<: *r, dtmf: \"1\"}\n",
	} {
		rep, _ := run(t, map[string]string{"layers/5.lua": layer5,
			"loop.test.yaml": "layer: 5\ncases:\n  - name: loop\n" + yaml},
			server.Config{}, scripttest.Options{})
		res := only(t, rep)
		if res.Passed || !strings.Contains(res.Failure, "loop.test.yaml:4: alias *") ||
			!strings.Contains(res.Failure, "is inside its own value") {
			t.Errorf("%s: %+v", yaml, res)
		}
	}
}

func TestLargeTestFilesAreRefused(t *testing.T) {
	big := "layer: 5\ncases:\n  - name: big\n    expect: {answer: {LAYER: 13}}\n# " + strings.Repeat("x", scripttest.MaxFileBytes) + "\n"
	rep, _ := run(t, map[string]string{"layers/5.lua": layer5, "big.test.yaml": big}, server.Config{}, scripttest.Options{})
	if res := only(t, rep); res.Passed || !strings.Contains(res.Failure, "big.test.yaml:1: the test file is larger than 4 MiB") {
		t.Fatalf("%+v", res)
	}
}

// A test file that is not a regular file (a FIFO, a symlink to a device)
// would block or never end: it is refused.
func TestTestFilesMustBeRegularFiles(t *testing.T) {
	dir := luavmtest.Dir(t, "", map[string]string{"layers/5.lua": layer5})
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.test.yaml"), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.test.yaml")); err != nil {
		t.Fatal(err)
	}
	done := make(chan *scripttest.Report, 1)
	go func() {
		rep, _ := scripttest.Run(context.Background(), dir, server.Config{}, scripttest.Options{})
		done <- rep
	}()
	select {
	case rep := <-done:
		if len(rep.Results) != 2 || rep.Failed() != 2 ||
			!strings.Contains(rep.Results[0].Failure, "fifo.test.yaml: not a regular file") ||
			!strings.Contains(rep.Results[1].Failure, "zero.test.yaml: not a regular file") {
			t.Fatalf("%+v", rep.Results)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run is stuck reading a FIFO")
	}
}

// manyProblems is a test file with a problem on every case's line.
func manyProblems() string {
	var b strings.Builder
	b.WriteString("layer: 5\ncases:\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "  - {name: c%d, expct: {}}\n", i)
	}
	return b.String()
}

// A file with a problem on every line reports the first ones (how quickly
// is BenchmarkRefusedTestFiles's).
func TestManyProblemsAreCapped(t *testing.T) {
	rep, _ := run(t, map[string]string{"layers/5.lua": layer5, "many.test.yaml": manyProblems()}, server.Config{}, scripttest.Options{})
	res := only(t, rep)
	lines := strings.Split(res.Failure, "\n")
	if res.Passed || len(lines) != scripttest.MaxProblems+1 ||
		!strings.HasSuffix(res.Failure, fmt.Sprintf("many.test.yaml: and %d more problems", 20000-scripttest.MaxProblems)) {
		t.Fatalf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
}

// BenchmarkRefusedTestFiles times refusing the hostile test files above:
// a speed target, kept out of the tests, whose verdicts cannot depend on
// the machine's load.
func BenchmarkRefusedTestFiles(b *testing.B) {
	for name, src := range map[string]string{"many-problems": manyProblems(), "alias-bomb": bomb(8)} {
		b.Run(name, func(b *testing.B) {
			dir := luavmtest.Dir(b, "", map[string]string{"layers/5.lua": layer5, "x.test.yaml": src})
			for b.Loop() {
				rep, err := scripttest.Run(context.Background(), dir, server.Config{}, scripttest.Options{})
				if err != nil || len(rep.Results) != 1 || rep.Results[0].Passed {
					b.Fatalf("%v %+v", err, rep)
				}
			}
		})
	}
}

// Each case must not hold its own copy of the file's stubs: a file of
// many stubs and many cases would multiply them.
func TestFileStubsAreSharedByCases(t *testing.T) {
	var b strings.Builder
	b.WriteString("layer: 5\nhttp:\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "  - {match: GET http://crm.test/%d, body: x}\n", i)
	}
	b.WriteString("cases:\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "  - {name: c%d, request: {dtmf: \"1\"}, expect: {answer: {LAYER: 13}}}\n", i)
	}
	dir := luavmtest.Dir(t, "", map[string]string{"layers/5.lua": layer5, "stubs.test.yaml": b.String()})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rep, err := scripttest.Run(context.Background(), dir, server.Config{}, scripttest.Options{Run: regexp.MustCompile("/c0$")})
	runtime.ReadMemStats(&after)
	if err != nil || rep.Failed() != 0 || len(rep.Results) != 1 {
		t.Fatalf("%v %+v", err, rep.Results)
	}
	if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 150 {
		t.Errorf("reading the file allocated %d MiB", mb)
	}
}

// zone shows the zone the time module is in when a script names none.
const zone = `local time = require("time")
return function(call)
  local now = time.now()
  return ivr.go_to_layer(1, { custom_data = { zone = now.zone, hour = now.hour } })
end`

func TestTheZoneIsNotTheMachines(t *testing.T) {
	jerusalem, err := time.LoadLocation("Asia/Jerusalem")
	if err != nil {
		t.Fatal(err)
	}
	local := time.Local
	time.Local = jerusalem
	defer func() { time.Local = local }()
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	for _, tc := range []struct {
		base       *time.Location
		zone, hour string
	}{{nil, "UTC", "8"}, {tokyo, "JST", "17"}} {
		rep, out := run(t, map[string]string{
			"zone.lua": zone,
			"zone.test.yaml": `route: zone
at: 2026-12-01T08:00:00Z
cases:
  - name: UTC unless the base config says
    expect: {answer: {CUSTOM_DATA: {zone: ` + tc.zone + `, hour: "` + tc.hour + `"}}}
`,
		}, server.Config{Timezone: tc.base}, scripttest.Options{})
		if rep.Failed() != 0 {
			t.Errorf("base zone %v:\n%s", tc.base, out)
		}
	}
}

func TestTimezoneKey(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	rep, out := run(t, map[string]string{
		"zone.lua": zone,
		"zone.test.yaml": `route: zone
at: 2026-12-01T08:00:00Z
timezone: Asia/Jerusalem
cases:
  - name: the file's zone, over the base's
    expect: {answer: {CUSTOM_DATA: {zone: IST, hour: "10"}}}
  - name: the case's, over the file's
    timezone: America/New_York
    expect: {answer: {CUSTOM_DATA: {zone: EST, hour: "3"}}}
  - name: every step of a case is in its zone
    timezone: UTC
    steps:
      - expect: {answer: {CUSTOM_DATA: {zone: UTC, hour: "8"}}}
      - at: 2026-12-01T09:00:00Z
        expect: {answer: {CUSTOM_DATA: {zone: UTC, hour: "9"}}}
`,
	}, server.Config{Timezone: tokyo}, scripttest.Options{})
	if rep.Failed() != 0 || len(rep.Results) != 3 {
		t.Fatal(out)
	}
	rep, out = run(t, map[string]string{
		"zone.lua": zone,
		"zone.test.yaml": `route: zone
timezone: Mars/Olympus
cases:
  - name: a
    timezone: Local
  - name: b
    timezone: ""
  - name: c
    steps:
      - timezone: UTC
`,
	}, server.Config{}, scripttest.Options{})
	for _, s := range []string{
		`zone.test.yaml:2: timezone must be an IANA zone like Asia/Jerusalem or UTC, got "Mars/Olympus"`,
		`zone.test.yaml:5: timezone must be an IANA zone like Asia/Jerusalem or UTC, got "Local"`,
		`zone.test.yaml:7: timezone must be an IANA zone like Asia/Jerusalem or UTC, got ""`,
		`zone.test.yaml:10: timezone is the server's, one for the whole call: set it on the case or the file`,
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestYmlFilesAreTestFiles(t *testing.T) {
	rep, out := run(t, map[string]string{
		"layers/5.lua":       layer5,
		"a.test.yml":         "layer: 5\ncases:\n  - {name: yml, request: {dtmf: \"1\"}, expect: {answer: {LAYER: 13}}}\n",
		"b.test.yaml":        "layer: 5\ncases:\n  - {name: yaml, request: {dtmf: \"1\"}, expect: {answer: {LAYER: 13}}}\n",
		"c.yml":              "not: a test file",
		".hidden/d.test.yml": "nonsense: [",
	}, server.Config{}, scripttest.Options{})
	if rep.Files != 2 || len(rep.Results) != 2 || rep.Failed() != 0 || rep.Results[0].Name != "yml" {
		t.Fatalf("%+v\n%s", rep, out)
	}
	rep, out = run(t, map[string]string{"layers/5.lua": layer5}, server.Config{}, scripttest.Options{})
	if rep.Files != 0 || out != "no test files (*.test.yaml, *.test.yml)\n" {
		t.Fatalf("%q", out)
	}
}

func TestMergeKeys(t *testing.T) {
	rep, out := run(t, map[string]string{
		"id.lua": idEntry,
		"layers/5.lua": `return function(call)
  return ivr.go_to_layer(1, { custom_data = { dtmf = call.dtmf, caller = call.caller_id, did = call.did } })
end`,
		"m.test.yaml": `layer: 5
cases:
  - &first
    name: first
    request: &req {dtmf: "1", caller_id: "0521111111"}
    expect: &ok {outcome: ok, requests: []}
  - <<: *first
    name: explicit keys win over merged ones
    request: {<<: *req, dtmf: "2"}
    expect:
      <<: *ok
      answer: {CUSTOM_DATA: {dtmf: "2", caller: "0521111111"}}
  - name: earlier mappings win over later ones, merges nest
    request:
      <<: [{dtmf: "3"}, {<<: *req, did: "039999999"}]
    expect: {answer: {CUSTOM_DATA: {dtmf: "3", caller: "0521111111", did: "039999999"}}}
  - name: merges in data
    route: id
    request: {dtmf: "11111111"}
    cache: {"crm:id:11111111": {<<: {found: true, name: Old}, name: Dana}}
    expect: {answer: {LAYER: 12, CALLER_NAME: Dana}}
  - name: a quoted << is a key like any
    route: id
    request: {dtmf: "11111111"}
    cache: {"crm:id:11111111": {"<<": x, found: true, name: Dana}}
    expect: {answer: {LAYER: 12, CALLER_NAME: Dana}}
`,
	}, server.Config{}, scripttest.Options{})
	if rep.Failed() != 0 || len(rep.Results) != 5 {
		t.Fatal(out)
	}
	rep, out = run(t, map[string]string{
		"layers/5.lua": layer5,
		"m.test.yaml": `layer: 5
cases:
  - name: a
    request: {<<: [1, 2]}
  - name: b
    request: {<<: x}
  - name: c
    request: &r {ivr_unique_id: other}
    steps:
      - request: {<<: *r}
  - name: d
    request: {<<: {dmtf: "1"}}
`,
	}, server.Config{}, scripttest.Options{})
	for _, s := range []string{
		"m.test.yaml:4: << merges a mapping or a list of mappings",
		"m.test.yaml:6: << merges a mapping or a list of mappings",
		"m.test.yaml:10: a step cannot change ivr_unique_id",
		`m.test.yaml:12: unknown key "dmtf" in request`,
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestExactAnswer(t *testing.T) {
	rep, out := run(t, map[string]string{
		"caller.lua": lookup,
		"caller.test.yaml": `route: caller
env: {CRM_URL: "http://crm.test"}
http: [{match: GET http://crm.test/*, json: {name: Dana}}]
cases:
  - name: the whole answer
    expect:
      exact: true
      answer: {STATUS: 0, ACTION: GO_TO_LAYER, LAYER: 20, CALLER_NAME: Dana, DIAL_TIMEOUT: null,
        CUSTOM_DATA: {status: "200", type: application/json, base: "http://crm.test"}}
  - name: a key left out
    expect:
      exact: true
      answer: {STATUS: 0, ACTION: GO_TO_LAYER, LAYER: 20,
        CUSTOM_DATA: {status: "200", type: application/json, base: "http://crm.test"}}
  - name: a nested key left out
    expect:
      exact: true
      answer: {STATUS: 0, ACTION: GO_TO_LAYER, LAYER: 20, CALLER_NAME: Dana, CUSTOM_DATA: {status: "200"}}
  - name: exact false is the default
    expect: {exact: false, answer: {LAYER: 20}}
`,
	}, server.Config{}, scripttest.Options{})
	if len(rep.Results) != 4 || !rep.Results[0].Passed || rep.Results[1].Passed || rep.Results[2].Passed || !rep.Results[3].Passed {
		t.Fatal(out)
	}
	if f := rep.Results[1].Failure; !strings.Contains(f, "answer differs (-expected +actual):") ||
		!strings.Contains(f, `+   "CALLER_NAME": "Dana",`) || strings.Contains(f, `DIAL_TIMEOUT`) {
		t.Errorf("failure:\n%s", f)
	}
	if f := rep.Results[2].Failure; !strings.Contains(f, `+     "base": "http://crm.test",`) {
		t.Errorf("failure:\n%s", f)
	}
	rep, out = run(t, map[string]string{
		"layers/5.lua": layer5,
		"x.test.yaml":  "layer: 5\ncases:\n  - name: x\n    expect: {exact: true, outcome: ok}\n",
	}, server.Config{}, scripttest.Options{})
	if !strings.Contains(out, "x.test.yaml:4: exact compares the whole answer: give it with answer:") {
		t.Fatal(out)
	}
}

// Entries the scripts set are judged by the frozen clock alone: whether
// an expired entry is still served stale must not depend on the day the
// tests run.
func TestScriptEntriesExpireByTheFrozenClock(t *testing.T) {
	rep, out := run(t, map[string]string{
		"stale.lua": `local cache = require("cache")
return function(call)
  local v, err = cache.remember("k", 60, function()
    if call.dtmf == "fail" then return nil, "down" end
    return "fresh"
  end)
  return ivr.go_to_layer(1, { custom_data = { v = v or "none", err = err or "" } })
end`,
		"stale.test.yaml": `route: stale
cases:
  - name: stale within the grace, gone after it
    at: 2099-06-01T10:00:00Z
    steps:
      - expect: {answer: {CUSTOM_DATA: {v: fresh}}}
      - at: 2099-06-01T10:04:00Z
        request: {dtmf: fail}
        expect: {answer: {CUSTOM_DATA: {v: fresh}}}
      - at: 2099-06-01T11:00:00Z
        request: {dtmf: fail}
        expect: {answer: {CUSTOM_DATA: {v: none}}}
`,
	}, server.Config{}, scripttest.Options{})
	if rep.Failed() != 0 {
		t.Fatal(out)
	}
}

// The cache and state keep serve's bounds (--cache-entries, --cache-bytes,
// --state-bytes): a script that fills them in production fills them here.
func TestStoresKeepServesBounds(t *testing.T) {
	rep, out := run(t, map[string]string{
		"fill.lua": `local cache = require("cache")
local state = require("state")
return function(call)
  local a = cache.set("a", 1, 60)
  local b = cache.set("b", 2, 60)
  local c, err = cache.set("c", 3, 60)
  local s, serr = state.set("big", string.rep("x", 2000))
  return ivr.go_to_layer(1, { custom_data = { ok = tostring(a and b and c), err = err or "", serr = serr or "" } })
end`,
		"fill.test.yaml": `route: fill
cases:
  - name: full
    expect: {answer: {CUSTOM_DATA: {ok: "nil", err: cache full, serr: state full}}}
`,
	}, server.Config{CacheEntries: 2, StateBytes: 1000}, scripttest.Options{})
	if rep.Failed() != 0 {
		t.Fatal(out)
	}
	// A full store drops the entries expired on the frozen clock first.
	rep, out = run(t, map[string]string{
		"fill.lua": `local cache = require("cache")
return function(call)
  local ok, err = cache.set(call.dtmf, 1, 60)
  return ivr.go_to_layer(1, { custom_data = { err = err or "" } })
end`,
		"fill.test.yaml": `route: fill
cases:
  - name: room again once the first has expired
    steps:
      - request: {dtmf: a}
        expect: {answer: {CUSTOM_DATA: {err: ""}}}
      - request: {dtmf: b}
        expect: {answer: {CUSTOM_DATA: {err: cache full}}}
      - at: 2026-01-05T10:06:01+02:00   # past a's minute and the 5-minute grace
        request: {dtmf: b}
        expect: {answer: {CUSTOM_DATA: {err: ""}}}
`,
	}, server.Config{CacheEntries: 1}, scripttest.Options{})
	if rep.Failed() != 0 {
		t.Fatal(out)
	}
}
