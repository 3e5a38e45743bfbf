package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk --latency run measured.
type wrkResult struct {
	Requests   int64
	RPS        float64
	P50, P99   time.Duration
	Non2xx     int64 // wrk's "Non-2xx or 3xx responses"
	SockErrors int64 // connect + read + write + timeout
	// Others is the share of the server's CPU that other work took during
	// the run (set by measure, not wrk).
	Others float64
}

// Failed is every request that did not get a 2xx or 3xx answer.
func (r wrkResult) Failed() int64 { return r.Non2xx + r.SockErrors }

// runWrk runs one wrk thread on cpu against url with the given wrk script.
// One thread is enough: a thread drives far more than one server core answers,
// and more threads would only compete with each other on wrk's core.
func runWrk(ctx context.Context, cpu string, conns int, d time.Duration, script, url string) (wrkResult, error) {
	secs := int(d.Round(time.Second) / time.Second)
	secs = max(secs, 1)
	out, err := exec.CommandContext(ctx, "taskset", "-c", cpu, "wrk", "-t1",
		"-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(secs)+"s", "--latency", "-s", script, url).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %v: %s", url, err, strings.TrimSpace(string(out)))
	}
	return parseWrk(string(out))
}

var (
	wrkPct      = regexp.MustCompile(`(?m)^\s*(50|99)%\s+(\S+)\s*$`)
	wrkRequests = regexp.MustCompile(`(?m)^\s*(\d+) requests in `)
	wrkRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkSock     = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// parseWrk reads the figures out of wrk's --latency report. The socket error
// and non-2xx lines appear only when there were some.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk output: %q", out)
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkRequests.FindStringSubmatch(out); m != nil {
		r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	pcts := wrkPct.FindAllStringSubmatch(out, -1)
	if len(pcts) != 2 {
		return r, fmt.Errorf("no latency distribution in wrk output (run with --latency): %q", out)
	}
	for _, p := range pcts {
		d, err := time.ParseDuration(p[2]) // wrk prints us, ms, s, m: all time.ParseDuration units
		if err != nil {
			return r, fmt.Errorf("wrk latency %q: %v", p[2], err)
		}
		if p[1] == "50" {
			r.P50 = d
		} else {
			r.P99 = d
		}
	}
	if m := wrkSock.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.SockErrors += n
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	return r, nil
}
