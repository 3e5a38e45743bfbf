package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/calltrace"
	"github.com/ivrouter/ivrouter/server/console"
	"github.com/prometheus/client_golang/prometheus"
)

// newConsole starts the console's ring of recent calls, unless
// Config.ConsoleCalls turns it off, and records the first load.
func (s *Server) newConsole() {
	if s.cfg.ConsoleCalls < 0 {
		return
	}
	s.console = console.NewRecorder(s.cfg.ConsoleCalls, int64(s.cfg.ConsoleBytes))
	s.metrics.reg.MustRegister(consoleCollector{s.console})
	set := s.engine.Current()
	s.console.Reloaded(time.Unix(0, s.loaded.Load()), set.Version(), routes(set), nil)
}

var (
	consoleCallsDesc = prometheus.NewDesc("ivrouter_console_calls",
		"Recent calls the console holds (at most --console-calls).", nil, nil)
	consoleBytesDesc = prometheus.NewDesc("ivrouter_console_bytes",
		"About the bytes the console's recent calls hold (at most --console-bytes).", nil, nil)
	consoleEvictedDesc = prometheus.NewDesc("ivrouter_console_evicted_total",
		"Calls the console dropped to stay within its bounds.", nil, nil)
)

// consoleCollector reports the console's ring when scraped.
type consoleCollector struct{ r *console.Recorder }

func (c consoleCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- consoleCallsDesc
	ch <- consoleBytesDesc
	ch <- consoleEvictedDesc
}

func (c consoleCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.r.Stats()
	ch <- prometheus.MustNewConstMetric(consoleCallsDesc, prometheus.GaugeValue, float64(st.Calls))
	ch <- prometheus.MustNewConstMetric(consoleBytesDesc, prometheus.GaugeValue, float64(st.Bytes))
	ch <- prometheus.MustNewConstMetric(consoleEvictedDesc, prometheus.CounterValue, float64(st.Evicted))
}

// consoleReloaded records a reload for the console's scripts page.
func (s *Server) consoleReloaded(err error) {
	if s.console == nil {
		return
	}
	set := s.engine.Current()
	var errs []string
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			if line != "" {
				errs = append(errs, line)
			}
		}
	}
	s.console.Reloaded(time.Now(), set.Version(), routes(set), errs)
}

// Console is the ring of recent calls the console shows; nil when
// Config.ConsoleCalls turned it off.
func (s *Server) Console() *console.Recorder { return s.console }

// consoleHandler serves the console, under console.Prefix, with the
// admin token (AdminToken, else Token) from any client, or from loopback
// clients only when neither is set.
func (s *Server) consoleHandler() http.Handler {
	token := s.cfg.AdminToken
	if token == "" {
		token = s.cfg.Token
	}
	return console.Handler(console.Options{
		Recorder:   s.console,
		Token:      token,
		Gatherer:   s.metrics.reg,
		MaskCaller: s.cfg.MaskCaller,
		Scripts:    s.consoleScripts,
	})
}

func (s *Server) consoleScripts() console.ScriptSet {
	set := s.engine.Current()
	cs := console.ScriptSet{Version: set.Version(), Dir: set.Dir(), Loaded: time.Unix(0, s.loaded.Load())}
	for _, sc := range set.Scripts() {
		f := console.ScriptFile{Name: sc.Name, Path: sc.Path, Lib: sc.IsLib(), Event: sc.IsEvent(), Deadline: sc.Deadline}
		if sc.HasFallback {
			f.Fallback = strconv.Itoa(sc.Fallback)
		}
		cs.Files = append(cs.Files, f)
	}
	return cs
}

// record adds an answered request to the console's ring: Go strings and
// numbers only (the request's are already copies of fasthttp's buffers),
// masked as the call log masks them. body is a's JSON as sent, kept as it
// is unless masking changes it.
func (s *Server) record(now time.Time, took time.Duration, sc *luavm.Script, req *ivr.Request, a *ivr.Action, body []byte, tr *calltrace.Trace, o outcome, err error) {
	l := console.Layer{Time: now, CallID: req.UniqueID, DID: req.DID, Caller: s.caller(req.CallerID),
		LayerID: req.LayerID, DTMF: s.dtmf(req.DTMF), Action: a.Kind.String(), Target: target(a),
		Took: took, Deadline: s.cfg.Deadline, Outcome: o.String()}
	if sc != nil {
		l.Script = sc.Name
		if sc.Deadline > 0 {
			l.Deadline = sc.Deadline
		}
	}
	l.CallerName = a.CallerName
	if s.cfg.MaskCaller && (a.CallerName != "" || len(a.CustomData) > 0) {
		m := *a
		if m.CallerName != "" {
			m.CallerName = masked
		}
		m.CustomData = make([]ivr.Field, len(a.CustomData))
		for i, f := range a.CustomData {
			m.CustomData[i] = ivr.Field{Key: f.Key, Value: masked}
		}
		l.CallerName = m.CallerName
		var buf [512]byte
		body = m.AppendJSON(buf[:0])
	}
	l.Answer = string(body)
	if tr.RequestCount() > 0 {
		l.Requests, l.HTTPTotal = s.requests(tr)
	}
	if tr.CacheCount() > 0 {
		l.Caches, l.CacheTotal = tr.Caches(nil)
		for i := range l.Caches {
			l.Caches[i].Key = s.digits(l.Caches[i].Key)
		}
	}
	if tr.LogCount() > 0 {
		l.Logs, l.LogTotal = tr.Logs(nil)
	}
	if err != nil {
		l.Error = err.Error()
	}
	s.console.Record(l)
}
