package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Targets from the project's performance issue.
const (
	targetVsNginx    = 1.0  // requests/s, × nginx-luajit's
	stretchVsNginx   = 1.15 // the same, the stretch goal
	targetVsBare     = 0.9  // requests/s, × bare-gopher-lua's: what ivrouter's machinery may cost
	targetVsFasthttp = 0.75 // requests/s, × fasthttp-static's
	targetWorkload   = 0.85 // requests/s, × GO_TO_LAYER's: within 15%
	targetColdExtra  = time.Millisecond
	targetRSS        = 64 << 20
	targetReload     = 200 * time.Millisecond
	targetStart      = 200 * time.Millisecond
)

// report writes the markdown: how it was measured, then one table per part.
func (b *bench) report(w io.Writer) {
	c := b.cfg
	fmt.Fprintf(w, "\nMeasured with `%s` on %s.\n", command(), machine())
	fmt.Fprintf(w, "Each server alone on CPU %s (taskset, GOMAXPROCS=1, one nginx worker), wrk on CPU %s with %d connections. "+
		"The servers take turns over %d rounds, each started fresh in its turn: %d s warm-up, %d s measured, stopped. "+
		"Workload: the API docs' layer-5 request (DTMF 12345678 → GO_TO_LAYER 12) for %d callers.\n",
		c.serverCPU, c.loadCPU, c.conns, c.rounds, c.warmup, c.seconds, callers)
	fmt.Fprintf(w, "Each row is its median round by requests/s, with that round's p50 and p99; min–max is the spread of requests/s "+
		"over the rounds, non-2xx counts every round, peak RSS is the highest of any round, and ratios are of the medians.\n")
	if b.res.stub != nil {
		fmt.Fprintf(w, "ivrouter's other workloads run on the same process in its turn, after GO_TO_LAYER. "+
			"The CRM is bridge/http/crmstub with a lead for each caller, on CPU %s next to wrk both when ivrouter asks it "+
			"and when wrk asks it alone, both over %d connection, so that neither queues and the difference in p99 is "+
			"what ivrouter adds to a CRM round trip.\n", c.loadCPU, min(crmConns, c.conns))
	}
	if len(b.res.main) > 0 {
		b.mainTable(w)
	}
	if len(b.res.workloads) > 0 {
		b.workloadTable(w)
	}
	if len(b.res.bare) > 0 {
		b.bareTable(w)
	}
	if b.res.rssLoad > 0 || b.res.reload != nil || len(b.res.starts) > 0 {
		b.limitsTable(w)
	}
}

// summary is a row's rounds reduced to what the tables print.
type summary struct {
	// wrkResult is the median round by requests/s (of an even number of
	// rounds, the slower middle one), except Non2xx and SockErrors, which
	// count every round: a failure in any round shows.
	wrkResult
	min, max float64 // requests/s, over the rounds
}

// summarize reduces rounds to their median and spread; a median round
// rather than a median of each figure keeps a row's latencies consistent
// with its requests/s.
func summarize(runs []wrkResult) summary {
	if len(runs) == 0 {
		return summary{}
	}
	sorted := slices.SortedFunc(slices.Values(runs), func(a, b wrkResult) int { return cmp.Compare(a.RPS, b.RPS) })
	s := summary{wrkResult: sorted[(len(sorted)-1)/2], min: sorted[0].RPS, max: sorted[len(sorted)-1].RPS}
	s.Non2xx, s.SockErrors = 0, 0
	for _, r := range runs {
		s.Non2xx += r.Non2xx
		s.SockErrors += r.SockErrors
	}
	return s
}

// spread is min–max requests/s, or a dash for a single round.
func (s summary) spread(rounds int) string {
	if rounds < 2 {
		return "—"
	}
	return rate(s.min) + "–" + rate(s.max)
}

// failure is why a row has no figures, or "" when it has them.
func (r *row) failure() string {
	switch {
	case r.err != nil:
		return "failed: " + short(r.err)
	case len(r.runs) == 0:
		return "not measured"
	}
	return ""
}

func (b *bench) mainTable(w io.Writer) {
	fmt.Fprintf(w, "\n| server | requests/s | min–max | p50 | p99 | non-2xx | peak RSS | ivrouter ÷ server |\n")
	fmt.Fprintf(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	iv := b.find("ivrouter")
	for _, r := range b.res.main {
		if f := r.failure(); f != "" {
			fmt.Fprintf(w, "| %s | %s | | | | | | |\n", r.name, f)
			continue
		}
		s := summarize(r.runs)
		ratio := "—"
		if r.name != "ivrouter" && iv != nil && s.RPS > 0 {
			ratio = times(iv.RPS / s.RPS)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name, rate(s.RPS), s.spread(len(r.runs)),
			ms(s.P50), ms(s.P99), failed(s.wrkResult), mib(r.rss), ratio)
	}
	var checks [][4]string
	ng, fh := b.find("nginx-luajit"), b.find("fasthttp-static")
	if iv != nil && ng != nil {
		checks = append(checks, [4]string{"ivrouter requests/s", times(iv.RPS / ng.RPS),
			fmt.Sprintf("≥ %.2f× nginx-luajit (stretch %.2f×)", targetVsNginx, stretchVsNginx), met(iv.RPS >= targetVsNginx*ng.RPS)})
	}
	if iv != nil && fh != nil {
		checks = append(checks, [4]string{"ivrouter requests/s", times(iv.RPS / fh.RPS),
			fmt.Sprintf("≥ %.2f× fasthttp-static", targetVsFasthttp), met(iv.RPS >= targetVsFasthttp*fh.RPS)})
	}
	// bare-gopher-lua is ivrouter's design with none of its machinery, so
	// the ratio is what that machinery leaves of the rate.
	if bg := b.find("bare-gopher-lua"); iv != nil && bg != nil {
		checks = append(checks, [4]string{"ivrouter requests/s", times(iv.RPS / bg.RPS),
			fmt.Sprintf("≥ %.2f× bare-gopher-lua, the interpreter without ivrouter's machinery", targetVsBare), met(iv.RPS >= targetVsBare*bg.RPS)})
	}
	if iv != nil && ng != nil {
		checks = append(checks, [4]string{"ivrouter p99", ms(iv.P99), "≤ nginx-luajit's " + ms(ng.P99), met(iv.P99 <= ng.P99)})
	}
	b.othersNote(w, b.res.main)
	checkTable(w, checks)
}

// othersNote says how much of the server's CPU other work took during each
// run, round by round: the rows to distrust on a shared machine.
func (b *bench) othersNote(w io.Writer, rows []*row) {
	var parts []string
	for _, r := range rows {
		if r.failure() != "" || r.name == stubRow {
			continue
		}
		name, _, _ := strings.Cut(r.name, ":")
		var shares []string
		for _, run := range r.runs {
			shares = append(shares, fmt.Sprintf("%.0f", 100*run.Others))
		}
		parts = append(parts, fmt.Sprintf("%s %s%%", name, strings.Join(shares, "/")))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "\nCPU %s time taken by other work during each run, round by round: %s.\n", b.cfg.serverCPU, strings.Join(parts, ", "))
	}
}

// find is the summary of a main-table row that measured without error.
func (b *bench) find(name string) *summary {
	for _, r := range b.res.main {
		if r.name == name && r.failure() == "" {
			if s := summarize(r.runs); s.RPS > 0 {
				return &s
			}
		}
	}
	return nil
}

func (b *bench) workloadTable(w io.Writer) {
	fmt.Fprintf(w, "\n| ivrouter workload | requests/s | min–max | p50 | p99 | non-2xx | ÷ GO_TO_LAYER | target | met |\n")
	fmt.Fprintf(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n")
	var base *summary
	if r := b.res.workloads[0]; r.failure() == "" {
		if s := summarize(r.runs); s.RPS > 0 {
			base = &s
		}
	}
	var stub *summary
	rows := b.res.workloads
	if r := b.res.stub; r != nil {
		rows = append(slices.Clone(rows), r)
		if r.failure() == "" {
			s := summarize(r.runs)
			stub = &s
		}
	}
	for i, r := range rows {
		if f := r.failure(); f != "" {
			fmt.Fprintf(w, "| %s | %s | | | | | | | |\n", r.name, f)
			continue
		}
		s := summarize(r.runs)
		ratio, target, ok := "—", "", ""
		if base != nil && r.name != stubRow {
			ratio = times(s.RPS / base.RPS)
		}
		switch {
		case i == 0:
			target = "the baseline"
		case strings.HasPrefix(r.name, "CRM, cold"):
			if stub != nil {
				extra := s.P99 - stub.P99
				target = fmt.Sprintf("p99 ≤ stub's + %s: %s%s", roundMS(targetColdExtra), sign(extra), ms(extra))
				ok = met(extra <= targetColdExtra)
			}
		case r.name == stubRow:
			target = "the CRM's own latency"
		case base != nil:
			target = fmt.Sprintf("≥ %.2f×", targetWorkload)
			ok = met(s.RPS >= targetWorkload*base.RPS)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name, rate(s.RPS), s.spread(len(r.runs)),
			ms(s.P50), ms(s.P99), failed(s.wrkResult), ratio, target, ok)
	}
	b.othersNote(w, b.res.workloads)
}

// bareTable is bare-gopher-lua's SAY and DIAL beside its GO_TO_LAYER, with
// ivrouter's ratio for the same workload: the interpreter's share of a
// workload's cost, and what ivrouter's machinery adds to it.
func (b *bench) bareTable(w io.Writer) {
	fmt.Fprintf(w, "\n| bare-gopher-lua workload | requests/s | min–max | p50 | p99 | non-2xx | ÷ its GO_TO_LAYER | ivrouter's ÷ GO_TO_LAYER |\n")
	fmt.Fprintf(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	base := b.find("bare-gopher-lua")
	for _, r := range b.res.bare {
		if f := r.failure(); f != "" {
			fmt.Fprintf(w, "| %s | %s | | | | | | |\n", r.name, f)
			continue
		}
		s := summarize(r.runs)
		ratio := "—"
		if base != nil {
			ratio = times(s.RPS / base.RPS)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name, rate(s.RPS), s.spread(len(r.runs)),
			ms(s.P50), ms(s.P99), failed(s.wrkResult), ratio, b.ivrouterRatio(strings.SplitN(r.name, ":", 2)[0]))
	}
}

// ivrouterRatio is ivrouter's requests/s on the workload whose name starts
// with action, over its GO_TO_LAYER's.
func (b *bench) ivrouterRatio(action string) string {
	if len(b.res.workloads) == 0 || b.res.workloads[0].failure() != "" {
		return "—"
	}
	base := summarize(b.res.workloads[0].runs)
	for _, r := range b.res.workloads[1:] {
		if strings.HasPrefix(r.name, action+":") && r.failure() == "" && base.RPS > 0 {
			return times(summarize(r.runs).RPS / base.RPS)
		}
	}
	return "—"
}

func (b *bench) limitsTable(w io.Writer) {
	var checks [][4]string
	if b.res.rssLoad > 0 {
		checks = append(checks, [4]string{"ivrouter peak RSS, after every workload above", mib(b.res.rssLoad),
			fmt.Sprintf("≤ %d MiB", targetRSS>>20), met(b.res.rssLoad <= targetRSS)})
	}
	if r := b.res.reload; r != nil {
		if len(r.signalToLog) > 0 {
			worst, tk := slices.Max(r.signalToLog), "?"
			if len(r.took) > 0 {
				tk = ms(slices.Max(r.took))
			}
			checks = append(checks, [4]string{
				fmt.Sprintf("SIGHUP → \"scripts reloaded\", %d scripts, under load", reloadScripts),
				fmt.Sprintf("worst of %d: %s (took= %s)", len(r.signalToLog), ms(worst), tk),
				"≤ " + roundMS(targetReload), met(worst <= targetReload)})
		}
		if r.err != nil {
			checks = append(checks, [4]string{"reload run", "failed: " + short(r.err), "", "**no**"})
		} else {
			checks = append(checks, [4]string{"failed requests during the reloads", fmt.Sprintf("%s of %s", failed(r.load), rate(float64(r.load.Requests))),
				"0", met(r.load.Failed() == 0)})
		}
	}
	for _, s := range b.res.starts {
		what := "exec → first 200, " + s.label
		if s.err != nil {
			checks = append(checks, [4]string{what, "failed: " + short(s.err), "≤ " + roundMS(targetStart), "**no**"})
			continue
		}
		sorted := slices.Sorted(slices.Values(s.times))
		worst := sorted[len(sorted)-1]
		checks = append(checks, [4]string{what, fmt.Sprintf("worst of %d: %s (median %s)", len(sorted), ms(worst), ms(sorted[len(sorted)/2])),
			"≤ " + roundMS(targetStart), met(worst <= targetStart)})
	}
	checkTable(w, checks)
}

// checkTable prints measure | measured | target | met rows.
func checkTable(w io.Writer, checks [][4]string) {
	if len(checks) == 0 {
		return
	}
	fmt.Fprintf(w, "\n| measure | measured | target | met |\n| --- | --- | --- | --- |\n")
	for _, c := range checks {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", c[0], c[1], c[2], c[3])
	}
}

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func ms(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// roundMS is a target, which needs no decimals.
func roundMS(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

func sign(d time.Duration) string {
	if d < 0 {
		return "−"
	}
	return "+"
}

func times(f float64) string { return fmt.Sprintf("%.2f×", f) }

func mib(n int64) string {
	if n == 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// rate is requests/s with thousands separators, to the whole request.
func rate(f float64) string {
	s := fmt.Sprintf("%.0f", f)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// failed is the non-2xx count, with socket errors when there were any.
func failed(r wrkResult) string {
	if r.SockErrors > 0 {
		return fmt.Sprintf("%d + %d socket errors", r.Non2xx, r.SockErrors)
	}
	return fmt.Sprint(r.Non2xx)
}

// short is an error's first line, cut to fit a table cell.
func short(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return strings.ReplaceAll(s, "|", `\|`)
}

// command is how this run was started, to paste.
func command() string {
	args := []string{"go run ./cmd/loadbench"}
	for _, a := range os.Args[1:] {
		if strings.ContainsAny(a, " \t'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}

// machine is the CPU, cores, kernel, Go and the peers' versions.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "?"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	goVersion := runtime.Version()
	if out, err := exec.Command(goCmd(), "env", "GOVERSION").Output(); err == nil {
		goVersion = strings.TrimSpace(string(out)) // the toolchain that built ivrouter
	}
	tools := []string{version("wrk", "-v")}
	if p := nginxPath(); p != "" {
		tools = append(tools, version(p, "-v"))
	}
	tools = append(tools, version("node", "--version"))
	return fmt.Sprintf("%s (%d cores), Linux %s, %s; %s", cpu, runtime.NumCPU(), kernel, goVersion, strings.Join(slices.DeleteFunc(tools,
		func(s string) bool { return s == "" }), ", "))
}

// version is a tool's first line of -v output, reduced to name and version.
func version(tool string, flag string) string {
	out, _ := exec.Command(tool, flag).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	switch f := strings.Fields(line); {
	case strings.HasPrefix(line, "wrk ") && len(f) > 1:
		v, _, _ := strings.Cut(strings.TrimPrefix(f[1], "debian/"), "-") // drop the packaging revision
		return "wrk " + v
	case strings.HasPrefix(line, "nginx version: "):
		return strings.TrimPrefix(line, "nginx version: ")
	case strings.HasPrefix(line, "v"):
		return "node " + line
	}
	return ""
}
