package scripttest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ivrouter/ivrouter/server"
	"github.com/valyala/fasthttp"
)

// runCase runs one case on a Harness of its own.
func runCase(base server.Config, dir string, f *testFile, c *testCase, verbose bool) (res Result) {
	start := time.Now()
	res = Result{File: f.path, Line: c.line, Name: c.name}
	defer func() { res.Duration = time.Since(start) }() // server.New included: it is part of what a case costs
	h, err := newCaseHarness(base, dir, c)
	if err != nil {
		res.Failure, res.loadErr = "the scripts do not load: "+err.Error(), true
		return res
	}
	defer h.Close()
	var out strings.Builder
	for i, st := range c.steps {
		o := observe(h.Do(st.request()))
		problems := st.expect.check(o)
		head := ""
		if len(c.steps) > 1 {
			head = fmt.Sprintf("step %d of %d (%s:%d):\n", i+1, len(c.steps), f.path, st.line)
		}
		details := st.sent() + "\n" + describe(o)
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

// newCaseHarness builds the case's server: the scripts as served, with the
// case's clock, zone, stubs, seeded stores and environment.
func newCaseHarness(base server.Config, dir string, c *testCase) (*Harness, error) {
	cfg := base
	cfg.Scripts = dir
	cfg.Timezone = zone(c.zone, base.Timezone)
	cfg.ScriptEnv = scriptEnv(base.ScriptEnv, c.env)
	return NewHarness(Setup{Config: cfg, At: c.steps[0].at, Stubs: &Stubs{lists: c.stubs},
		Cache: c.cache, State: c.state, Call: c.call})
}

// observe is what a case checks of an exchange.
func observe(x *Exchange) *observed {
	o := &observed{status: x.Status, body: string(x.Body), outcome: x.Outcome, err: x.Error,
		logs: x.Log, unstubbed: x.Unstubbed, noAnswer: x.Status == 0}
	if json.Unmarshal(x.Body, &o.answer) != nil {
		o.answer = nil
	}
	for _, r := range x.HTTP {
		o.requests = append(o.requests, r.String())
	}
	return o
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

// describe is what a step did, as a failure (or -v) shows it.
func describe(o *observed) string {
	var b strings.Builder
	if !o.noAnswer {
		if o.status != fasthttp.StatusOK {
			fmt.Fprintf(&b, "status: %d\n", o.status)
		}
		fmt.Fprintf(&b, "answer: %s\n", o.body)
	}
	fmt.Fprintf(&b, "outcome: %s\n", orNone(o.outcome))
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
