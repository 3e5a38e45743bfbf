// Command loadbench measures ivrouter under load next to five peers on the
// same workload, in one run, and prints a markdown table for the README.
//
//	go run ./cmd/loadbench [-rounds N] [-seconds N] [-conns N] [-only LIST]
//	go run ./cmd/loadbench -soak 10m [-soak-rate 100] [-soak-bad 0.01]
//
// The workload is the Voicenter API docs' layer-5 case: IVR_LAYER_INPUT with
// DTMF 12345678 on layer 5 for 1000 distinct callers, answered GO_TO_LAYER 12
// (testdata/bench/post.lua). The peers, one rule each and no framework:
//
//	fasthttp-static  fasthttp answering a fixed body: the transport ceiling
//	bare-gopher-lua  fasthttp + fastjson + the rule in Lua, in pooled gopher-lua
//	                 LStates run on the connection's goroutine: no sandbox,
//	                 deadline, log or metrics, the bare limit of ivrouter's
//	                 design, so its ratio is what ivrouter's machinery costs
//	nginx-luajit     nginx + lua-nginx-module + cjson: the OpenResty model
//	nethttp-json     net/http + encoding/json, routing hard-coded
//	node-http        Node's http module, routing hard-coded
//
// Each server runs alone on one CPU (taskset, GOMAXPROCS=1, one nginx worker)
// and wrk on another, so the figures compare a core against a core. ivrouter
// is built from this checkout and started with its shipped defaults: only
// --listen, --scripts and (when it has one) --admin-listen are set.
//
// A shared machine's noise drifts over tens of seconds, enough to move one
// server's single run by half against another's. So the servers take turns
// over -rounds rounds: in each, every server is started, warmed up, measured
// for -seconds and stopped before the next one starts. A row reports the
// median round by requests/s, with that round's latencies, and the spread of
// requests/s over the rounds; ratios are of the medians.
//
// In ivrouter's turn, on the same process, loadbench also measures the other
// workloads: SAY_DIGITS, DIAL, and a cached and an uncached CRM lookup
// against bridge/http/crmstub. After the rounds it measures a SIGHUP reload
// of 200 scripts under load, and the time from exec to the first answer.
//
// loadbench installs nothing. It needs taskset, wrk, nginx with the lua
// module, lua-cjson and node: on Debian
//
//	apt-get install wrk nginx-light libnginx-mod-http-lua lua-cjson nodejs
//
// With -soak, loadbench instead serves testdata/hostile (the hostile-script
// suite's attacks and its healthy layer-5 script) at a fixed rate for the
// given time, a fraction of the calls going to the attacks in turn, and
// prints RSS, goroutines, and late, wrong and unanswered calls every 30 s.
//
// The machine's other work shows in the figures: compare the ratios within
// one run, not absolute numbers across runs or machines.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// config is loadbench's flags.
type config struct {
	rounds      int
	seconds     int
	warmup      int
	conns       int
	only        map[string]bool
	serverCPU   string
	loadCPU     string
	adminListen string
	keep        bool
	serveCRM    string
	soak        time.Duration
	soakRate    int
	soakBad     float64
}

// peerNames are the peers, in table order.
var peerNames = []string{"fasthttp-static", "bare-gopher-lua", "nginx-luajit", "nethttp-json", "node-http"}

// parts are what -only selects from; "peers" stands for every peer.
var parts = append(slices.Clone(peerNames), "ivrouter", "workloads", "reload", "start")

func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.IntVar(&c.rounds, "rounds", 3, "times each server and workload is measured, taking turns")
	fs.IntVar(&c.seconds, "seconds", 5, "measured seconds per wrk run")
	fs.IntVar(&c.warmup, "warmup", 2, "seconds of unmeasured load before each run")
	fs.IntVar(&c.conns, "conns", 64, "wrk connections")
	only := fs.String("only", "", "comma-separated parts to run, of: peers, "+strings.Join(parts, ", ")+" (default all)")
	fs.StringVar(&c.serverCPU, "server-cpu", "0", "CPU the server under test runs on")
	fs.StringVar(&c.loadCPU, "load-cpu", "1", "CPU wrk (and the CRM stub) run on")
	fs.StringVar(&c.adminListen, "admin-listen", "127.0.0.1:0", "ivrouter's --admin-listen, passed only if ivrouter has that flag")
	fs.BoolVar(&c.keep, "keep", false, "keep the temp dir with the servers' logs")
	fs.DurationVar(&c.soak, "soak", 0, "instead of the comparison, soak ivrouter for this long on testdata/hostile (e.g. 10m)")
	fs.IntVar(&c.soakRate, "soak-rate", 100, "calls per second in a soak, sent on a clock")
	fs.Float64Var(&c.soakBad, "soak-bad", 0.01, "fraction of a soak's calls sent to the attacks")
	fs.StringVar(&c.serveCRM, "serve-crm", "", "internal: serve the CRM stub on this address (loadbench runs itself so)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	c.only = map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		switch p = strings.TrimSpace(p); {
		case p == "":
		case p == "peers":
			for _, n := range peerNames {
				c.only[n] = true
			}
		case slices.Contains(parts, p):
			c.only[p] = true
		default:
			return nil, fmt.Errorf("-only: unknown part %q, want peers or one of %s", p, strings.Join(parts, ", "))
		}
	}
	if len(c.only) == 0 {
		for _, p := range parts {
			c.only[p] = true
		}
	}
	if c.only["workloads"] {
		c.only["ivrouter"] = true // the workloads are compared with its layer-5 row
	}
	if c.soak < 0 || c.soakRate < 1 || c.soakBad <= 0 || c.soakBad > 1 {
		return nil, fmt.Errorf("-soak must not be negative, -soak-rate positive, -soak-bad in (0, 1]")
	}
	if c.rounds < 1 || c.seconds < 1 || c.warmup < 0 || c.conns < 1 {
		return nil, fmt.Errorf("-rounds, -seconds and -conns must be positive, -warmup not negative")
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if err != flag.ErrHelp {
			fmt.Fprintln(os.Stderr, "loadbench:", err)
		}
		os.Exit(2)
	}
	if cfg.serveCRM != "" {
		if err := serveCRM(cfg.serveCRM); err != nil {
			fmt.Fprintln(os.Stderr, "loadbench: CRM stub:", err)
			os.Exit(1)
		}
		return
	}
	if cfg.soak > 0 {
		os.Exit(runSoak(cfg))
	}
	// An interrupted run must not leave servers pinned to the CPUs.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		stopAll()
		os.Exit(130)
	}()
	start := time.Now()
	code := run(cfg)
	stopAll()
	progress("done in %v", time.Since(start).Round(time.Second))
	os.Exit(code)
}

// progress reports on stderr, so stdout is only the tables.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadbench: "+format+"\n", args...)
}
