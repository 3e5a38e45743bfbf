package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	// Three rounds out of order: the median round is the 12,000 one, whose
	// p99 is not the median p99; failures add up over every round.
	runs := []wrkResult{
		{RPS: 15000, P50: 1 * time.Millisecond, P99: 9 * time.Millisecond},
		{RPS: 9000, P50: 3 * time.Millisecond, P99: 2 * time.Millisecond, Non2xx: 4},
		{RPS: 12000, P50: 2 * time.Millisecond, P99: 5 * time.Millisecond, Non2xx: 1, SockErrors: 2},
	}
	want := summary{wrkResult: wrkResult{RPS: 12000, P50: 2 * time.Millisecond, P99: 5 * time.Millisecond,
		Non2xx: 5, SockErrors: 2}, min: 9000, max: 15000}
	if got := summarize(runs); got != want {
		t.Errorf("three rounds: got %+v, want %+v", got, want)
	}
	if runs[0].RPS != 15000 || runs[1].Non2xx != 4 {
		t.Errorf("summarize changed its input: %+v", runs)
	}

	// Of an even number, the slower middle round.
	if got := summarize(runs[:2]); got.RPS != 9000 || got.min != 9000 || got.max != 15000 {
		t.Errorf("two rounds: got %+v", got)
	}
	if got := summarize(runs[2:]); got.wrkResult != runs[2] || got.min != 12000 || got.max != 12000 {
		t.Errorf("one round: got %+v", got)
	}
	if got := summarize(nil); got != (summary{}) {
		t.Errorf("no rounds: got %+v", got)
	}
	if got := (summary{min: 9000, max: 15000}).spread(3); got != "9,000–15,000" {
		t.Errorf("spread = %q", got)
	}
	if got := (summary{min: 9000, max: 9000}).spread(1); got != "—" {
		t.Errorf("spread of one round = %q", got)
	}
}

func TestPeerOrder(t *testing.T) {
	// bare-gopher-lua is the row after fasthttp-static: the transport
	// ceiling, then the interpreter's.
	if i := slices.Index(peerNames, "bare-gopher-lua"); i < 1 || peerNames[i-1] != "fasthttp-static" {
		t.Errorf("peerNames = %v, want bare-gopher-lua right after fasthttp-static", peerNames)
	}
	for _, c := range []struct {
		only string
		want bool
	}{{"bare-gopher-lua", true}, {"peers", true}, {"", true}, {"ivrouter", false}, {"fasthttp-static,ivrouter", false}} {
		cfg, err := parseFlags([]string{"-only", c.only})
		if err != nil {
			t.Fatalf("-only %q: %v", c.only, err)
		}
		if cfg.only["bare-gopher-lua"] != c.want {
			t.Errorf("-only %q selects bare-gopher-lua: %v, want %v", c.only, cfg.only["bare-gopher-lua"], c.want)
		}
	}
}

func TestMainTable(t *testing.T) {
	measured := func(name string, rps float64) *row {
		return &row{name: name, runs: []wrkResult{{RPS: rps, P50: time.Millisecond, P99: 3 * time.Millisecond}}, rss: 8 << 20}
	}
	b := &bench{cfg: &config{serverCPU: "0", rounds: 1}}
	b.res.main = []*row{
		measured("ivrouter", 30000),
		measured("fasthttp-static", 60000),
		measured("bare-gopher-lua", 40000),
		measured("nginx-luajit", 20000),
		{name: "nethttp-json", err: errors.New("exited")},
	}
	var out strings.Builder
	b.mainTable(&out)
	got := out.String()
	// The table's rows in order, each with ivrouter ÷ server.
	for _, want := range []string{
		"| ivrouter | 30,000 | — | 1.00 ms | 3.00 ms | 0 | 8.0 MiB | — |\n",
		"| fasthttp-static | 60,000 | — | 1.00 ms | 3.00 ms | 0 | 8.0 MiB | 0.50× |\n",
		"| bare-gopher-lua | 40,000 | — | 1.00 ms | 3.00 ms | 0 | 8.0 MiB | 0.75× |\n",
		"| nginx-luajit | 20,000 | — | 1.00 ms | 3.00 ms | 0 | 8.0 MiB | 1.50× |\n",
		"| nethttp-json | failed: exited | | | | | | |\n",
		"| ivrouter requests/s | 1.50× | ≥ 1.00× nginx-luajit (stretch 1.15×) | yes |\n",
		"| ivrouter requests/s | 0.50× | ≥ 0.75× fasthttp-static | **no** |\n",
		"| ivrouter requests/s | 0.75× | ≥ 0.90× bare-gopher-lua, the interpreter without ivrouter's machinery | **no** |\n",
		"| ivrouter p99 | 3.00 ms | ≤ nginx-luajit's 3.00 ms | yes |\n",
	} {
		i := strings.Index(got, want)
		if i < 0 {
			t.Fatalf("no %q in\n%s", want, got)
		}
		got = got[i+len(want):]
	}

	// Without bare-gopher-lua's figures, no row compares with it.
	b.res.main[2] = &row{name: "bare-gopher-lua", err: errors.New("exited")}
	out.Reset()
	b.mainTable(&out)
	if strings.Contains(out.String(), "× bare-gopher-lua") {
		t.Errorf("a failed bare-gopher-lua is compared with:\n%s", out.String())
	}
}

// bare-gopher-lua's SAY and DIAL rows: the ratio to its own GO_TO_LAYER,
// beside ivrouter's ratio for the same action.
func TestBareTable(t *testing.T) {
	measured := func(name string, rps float64) *row {
		return &row{name: name, runs: []wrkResult{{RPS: rps, P50: time.Millisecond, P99: 3 * time.Millisecond}}}
	}
	b := &bench{cfg: &config{serverCPU: "0", rounds: 1}}
	b.res.main = []*row{measured("ivrouter", 30000), measured("bare-gopher-lua", 40000)}
	b.res.workloads = []*row{measured("GO_TO_LAYER: layers/5.lua", 30000), measured("SAY_DIGITS: announce.lua", 15000), measured("DIAL: night.lua", 24000)}
	b.res.bare = []*row{measured(bareWorkloads[0].name, 30000), {name: bareWorkloads[1].name, err: errors.New("exited")}}
	var out strings.Builder
	b.bareTable(&out)
	for _, want := range []string{
		"| SAY_DIGITS: announce.lua's say.lua | 30,000 | — | 1.00 ms | 3.00 ms | 0 | 0.75× | 0.50× |\n",
		"| DIAL: night.lua's dial.lua | failed: exited | | | | | | |\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
}
