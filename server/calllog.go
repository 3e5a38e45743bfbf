package server

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	scriptlog "github.com/ivrouter/ivrouter/bridge/log"
	"github.com/ivrouter/ivrouter/luavm"
)

// done counts and logs one answered call. The log line answers "why did
// this caller land on layer 13?": the call's IVR_UNIQUE_ID (the key the
// script's own log lines carry too), what it asked, which script answered,
// with what, how fast, and, when the answer is a fallback, the Lua error.
func (s *Server) done(start time.Time, ran time.Duration, sc *luavm.Script, req *ivr.Request, a *ivr.Action, o outcome, err error) {
	now := time.Now()
	took := now.Sub(start)
	ss := s.metrics.seriesFor(sc)
	ss.count(a.Kind, o)
	s.metrics.latency.Observe(took.Seconds())
	if sc != nil {
		ss.run.Observe(ran.Seconds())
	}
	level := slog.LevelInfo
	if o != outcomeOK && o != outcomeFallback {
		level = slog.LevelWarn
	}
	ctx := context.Background()
	if !s.log.Enabled(ctx, level) {
		return
	}
	script := ""
	if sc != nil {
		script = sc.Name
	}
	line := callLine{
		{key: scriptlog.CallKey, str: req.UniqueID},
		{key: "did", str: req.DID},
		{key: "caller", str: s.caller(req.CallerID)},
		{key: "layer", num: float64(req.LayerID), kind: intField},
		{key: "dtmf", str: s.dtmf(req.DTMF)},
		{key: scriptlog.ScriptKey, str: script},
		{key: "action", str: a.Kind.String()},
		{key: "target", str: target(a)},
		{key: "ms", num: float64(took.Microseconds()) / 1000, kind: floatField},
		{key: "outcome", str: o.String()},
		{key: "error"},
	}
	n := len(line) - 1
	if err != nil {
		line[n].str, n = err.Error(), n+1
	}
	if s.cfg.CallLog != nil {
		s.writeLine(now, level, line[:n])
		return
	}
	// A record made here, not by Logger.LogAttrs, which would spend a
	// quarter of the line's cost finding the caller's source line.
	r := slog.NewRecord(now, level, "call", 0)
	for _, f := range line[:n] {
		r.AddAttrs(f.attr())
	}
	s.log.Handler().Handle(ctx, r)
}

// target is where an answer sends the call: the layer for GO_TO_LAYER and
// SAY_DIGITS (after the announcement), the numbers for DIAL.
func target(a *ivr.Action) string {
	switch a.Kind {
	case ivr.GoToLayer, ivr.SayDigits:
		return strconv.Itoa(a.Layer)
	case ivr.Dial:
		parts := make([]string, len(a.Targets))
		for i, t := range a.Targets {
			parts[i] = t.Target
		}
		return strings.Join(parts, ",")
	}
	return ""
}

// caller is the CALLER_ID as logged: whole, or with --mask-caller all but
// its last digits hidden, enough to tell callers apart in one day's log
// without writing their numbers down.
func (s *Server) caller(id string) string {
	if !s.cfg.MaskCaller {
		return id
	}
	return MaskCaller(id)
}

// dtmf is DTMF as logged: with --mask-caller only its length shows, since
// callers type PINs and ID numbers.
func (s *Server) dtmf(d string) string {
	if !s.cfg.MaskCaller {
		return d
	}
	return strings.Repeat("*", len(d))
}

// MaskCaller hides all of a phone number but its last four characters (of
// a short one, all but its last half).
func MaskCaller(id string) string {
	keep := min(4, len(id)/2)
	return strings.Repeat("*", len(id)-keep) + id[len(id)-keep:]
}
