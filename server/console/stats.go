package console

import (
	"math"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// ScriptStats are one script's counts and latency, read from the metrics
// (ivrouter_requests_total, ivrouter_script_duration_seconds): since the
// process started, whatever the console's ring still holds.
type ScriptStats struct {
	Script                              string
	OK, Fallback, Timeout, Error, Other uint64
	Total                               uint64
	P50, P90, P99                       time.Duration
	HasLatency                          bool
}

// HostStats are one CRM host's requests and circuit state, read from the
// metrics (ivrouter_http_*).
type HostStats struct {
	Host       string
	Circuit    string // closed, half-open, open; "" when unknown
	Requests   uint64
	Errors     uint64 // status "error" or "circuit_open"
	P50, P99   time.Duration
	HasLatency bool
}

// gatherStats reads the per-script and per-host figures the metrics
// already compute.
func gatherStats(g prometheus.Gatherer) ([]ScriptStats, []HostStats, error) {
	if g == nil {
		return nil, nil, nil
	}
	fams, err := g.Gather()
	scripts := map[string]*ScriptStats{}
	hosts := map[string]*HostStats{}
	script := func(name string) *ScriptStats {
		s := scripts[name]
		if s == nil {
			s = &ScriptStats{Script: name}
			scripts[name] = s
		}
		return s
	}
	host := func(name string) *HostStats {
		h := hosts[name]
		if h == nil {
			h = &HostStats{Host: name}
			hosts[name] = h
		}
		return h
	}
	for _, fam := range fams {
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			switch fam.GetName() {
			case "ivrouter_requests_total":
				name := labels["script"]
				if name == "none" && labels["outcome"] != "fallback" {
					continue // rejected requests: no script saw them
				}
				s := script(name)
				n := uint64(m.GetCounter().GetValue())
				s.Total += n
				switch labels["outcome"] {
				case "ok":
					s.OK += n
				case "fallback":
					s.Fallback += n
				case "timeout":
					s.Timeout += n
				case "script_error":
					s.Error += n
				default:
					s.Other += n
				}
			case "ivrouter_script_duration_seconds":
				h := m.GetHistogram()
				if h.GetSampleCount() == 0 {
					continue
				}
				s := script(labels["script"])
				s.P50, s.P90, s.P99 = quantile(h, 0.5), quantile(h, 0.9), quantile(h, 0.99)
				s.HasLatency = true
			case "ivrouter_http_requests_total":
				h := host(labels["host"])
				n := uint64(m.GetCounter().GetValue())
				h.Requests += n
				if st := labels["status"]; st == "error" || st == "circuit_open" {
					h.Errors += n
				}
			case "ivrouter_http_request_duration_seconds":
				hist := m.GetHistogram()
				if hist.GetSampleCount() == 0 {
					continue
				}
				h := host(labels["host"])
				h.P50, h.P99, h.HasLatency = quantile(hist, 0.5), quantile(hist, 0.99), true
			case "ivrouter_http_circuit_state":
				if m.GetGauge().GetValue() == 1 {
					host(labels["host"]).Circuit = labels["state"]
				}
			}
		}
	}
	ss := make([]ScriptStats, 0, len(scripts))
	for _, s := range scripts {
		ss = append(ss, *s)
	}
	sort.Slice(ss, func(i, j int) bool { return ss[i].Script < ss[j].Script })
	hs := make([]HostStats, 0, len(hosts))
	for _, h := range hosts {
		hs = append(hs, *h)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].Host < hs[j].Host })
	return ss, hs, err
}

// quantile estimates the q-quantile of a histogram as Prometheus's
// histogram_quantile does: linearly within the bucket it falls in, and
// the highest finite bound when it falls past them.
func quantile(h *dto.Histogram, q float64) time.Duration {
	count := float64(h.GetSampleCount())
	if count == 0 {
		return 0
	}
	rank := q * count
	lower, below := 0.0, 0.0
	var last float64
	for _, b := range h.GetBucket() {
		upper, cum := b.GetUpperBound(), float64(b.GetCumulativeCount())
		if math.IsInf(upper, 1) {
			break
		}
		last = upper
		if cum >= rank {
			in := cum - below
			v := upper
			if in > 0 {
				v = lower + (upper-lower)*(rank-below)/in
			}
			return seconds(v)
		}
		lower, below = upper, cum
	}
	return seconds(last)
}

func seconds(v float64) time.Duration { return time.Duration(v * float64(time.Second)) }
