package scripttest

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ivrouter/ivrouter/bridge/cache"
	"github.com/ivrouter/ivrouter/bridge/state"
	"github.com/ivrouter/ivrouter/server"
	"github.com/valyala/fasthttp"
)

// caseRun is one case's server and what it is wired to.
type caseRun struct {
	srv   *server.Server
	at    atomic.Pointer[time.Time]
	http  *transport
	cache *store
	state *store
	log   *capture
}

// clientAddr is where the in-memory requests come from.
var clientAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}

func runCase(base server.Config, dir string, f *testFile, c *testCase, verbose bool) (res Result) {
	start := time.Now()
	res = Result{File: f.path, Line: c.line, Name: c.name}
	defer func() { res.Duration = time.Since(start) }() // server.New included: it is part of what a case costs
	r, err := newCaseRun(base, dir, c)
	if err != nil {
		res.Failure, res.loadErr = "the scripts do not load: "+err.Error(), true
		return res
	}
	defer r.srv.Engine().Close()
	var out strings.Builder
	for i, st := range c.steps {
		o := r.do(st)
		problems := st.expect.check(o)
		head := ""
		if len(c.steps) > 1 {
			head = fmt.Sprintf("step %d of %d (%s:%d):\n", i+1, len(c.steps), f.path, st.line)
		}
		details := "request: POST " + st.path() + " " + string(st.body()) + "\n" + describe(o)
		if len(problems) > 0 {
			res.Failure = head + strings.Join(problems, "\n") + "\n" + details
			return res
		}
		if verbose {
			out.WriteString(head + details)
		}
	}
	res.Passed, res.Output = true, out.String()
	return res
}

// newCaseRun builds the case's server: the scripts as served, with the
// case's clock, stubs, seeded stores and environment, logging into the
// case's capture.
func newCaseRun(base server.Config, dir string, c *testCase) (*caseRun, error) {
	r := &caseRun{http: &transport{stubs: c.stubs}, log: &capture{}}
	r.at.Store(&c.steps[0].at)
	now := func() time.Time { return *r.at.Load() }
	// The stores keep serve's bounds, as the modules' own stores would.
	r.cache = newStore(now, cache.DefaultGrace, orDefault(base.CacheEntries, cache.DefaultMaxEntries),
		orDefault(base.CacheBytes, cache.DefaultMaxBytes))
	r.state = newStore(now, 0, state.DefaultMaxCalls, orDefault(base.StateBytes, state.DefaultMaxBytes))
	for k, v := range c.cache {
		r.cache.seed(k, v)
	}
	if len(c.state) > 0 {
		r.state.seed(c.call, c.state)
	}
	cfg := base
	cfg.Scripts, cfg.VMs, cfg.Clock = dir, 1, now
	cfg.Timezone = zone(c.zone, base.Timezone)
	cfg.HTTPTransport, cfg.CacheStore, cfg.StateStore = r.http, r.cache, r.state
	cfg.ScriptEnv = scriptEnv(base.ScriptEnv, c.env)
	cfg.Logger = slog.New(handler{c: r.log})
	cfg.CallLog, cfg.CallLogJSON, cfg.MaskCaller = r.log, true, false
	// Who may call is the front door's business, not the scripts': the
	// in-memory requests carry no token and come from nowhere in particular.
	cfg.Token, cfg.AllowIPs, cfg.TrustProxies, cfg.TLSCert, cfg.TLSKey = "", nil, nil, "", ""
	var err error
	r.srv, err = server.New(cfg)
	return r, err
}

// zone is the time module's zone: the test's, else the base config's (the
// CLI's --timezone), else UTC; never the machine's, so that a test passes
// the same in CI as on a laptop.
func zone(test, base *time.Location) *time.Location {
	switch {
	case test != nil:
		return test
	case base != nil:
		return base
	}
	return time.UTC
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// scriptEnv is what env.get sees: the names the operator allows (base's,
// or the server's defaults), unset, and the test file's values, never the
// real environment's.
func scriptEnv(allowed map[string]string, file map[string]string) map[string]string {
	env := map[string]string{}
	if allowed == nil {
		for _, name := range server.DefaultScriptEnv {
			env[name] = ""
		}
	}
	for name := range allowed {
		env[name] = ""
	}
	for name, v := range file {
		env[name] = v
	}
	return env
}

// do sends one step's request through the server's handler, in memory.
func (r *caseRun) do(st *step) *observed {
	r.at.Store(&st.at)
	var req fasthttp.Request
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(st.path())
	req.Header.SetContentType("application/json")
	req.SetBody(st.body())
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, clientAddr, nil)
	r.srv.Handler(&ctx)
	o := &observed{status: ctx.Response.StatusCode(), body: string(ctx.Response.Body())}
	if json.Unmarshal(ctx.Response.Body(), &o.answer) != nil {
		o.answer = nil
	}
	o.requests, o.unstubbed = r.http.take()
	logs, calls := r.log.take()
	o.logs = logs
	if len(calls) > 0 {
		o.outcome, o.err = calls[len(calls)-1].outcome, calls[len(calls)-1].err
	}
	return o
}

// describe is what a step did, as a failure (or -v) shows it.
func describe(o *observed) string {
	var b strings.Builder
	if o.status != fasthttp.StatusOK {
		fmt.Fprintf(&b, "status: %d\n", o.status)
	}
	fmt.Fprintf(&b, "answer: %s\noutcome: %s\n", o.body, orNone(o.outcome))
	if o.err != "" {
		fmt.Fprintf(&b, "error: %s\n", o.err)
	}
	writeList(&b, "log", o.logs)
	writeList(&b, "requests", o.requests)
	return b.String()
}

func writeList(b *strings.Builder, name string, lines []string) {
	if len(lines) == 0 {
		fmt.Fprintf(b, "%s: (none)\n", name)
		return
	}
	fmt.Fprintf(b, "%s:\n", name)
	for _, l := range lines {
		fmt.Fprintf(b, "  %s\n", l)
	}
}
