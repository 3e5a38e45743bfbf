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
	"github.com/ivrouter/ivrouter/luavm/calltrace"
)

// done counts and logs one answered call. The log line answers "why did
// this caller land on layer 13?": the call's IVR_UNIQUE_ID (the key the
// script's own log lines carry too), what it asked, which script answered,
// with what (and the CALLER_NAME and CUSTOM_DATA sent), the CRM requests
// the script made on the way, how fast, and, when the answer is a
// fallback, the Lua error. body is a's JSON as sent.
func (s *Server) done(start, running time.Time, sc *luavm.Script, req *ivr.Request, a *ivr.Action, body []byte, tr *calltrace.Trace, o outcome, err error) {
	now := time.Now()
	took := now.Sub(start)
	ss := s.metrics.seriesFor(sc)
	ss.count(a.Kind, o)
	s.metrics.latency.Observe(took.Seconds())
	if sc != nil {
		ss.run.Observe(now.Sub(running).Seconds())
	}
	if s.console != nil {
		s.record(now, took, sc, req, a, body, tr, o, err)
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
	}
	n := 8
	if a.CallerName != "" {
		line[n] = field{key: "caller_name", str: s.callerName(a.CallerName)}
		n++
	}
	if len(a.CustomData) > 0 {
		line[n] = field{key: "custom_data", str: s.customData(a.CustomData)}
		n++
	}
	if tr.RequestCount() > 0 {
		reqs, total := tr.Requests(nil)
		line[n] = field{key: "http", num: float64(total), kind: intField}
		line[n+1] = field{key: "http_calls", str: httpCalls(reqs, total)}
		n += 2
	}
	line[n] = field{key: "ms", num: float64(took.Microseconds()) / 1000, kind: floatField}
	line[n+1] = field{key: "outcome", str: o.String()}
	n += 2
	if err != nil {
		line[n] = field{key: "error", str: err.Error()}
		n++
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

// httpCalls is the call line's summary of a call's requests: for each,
// its host, then its status or error=FAILURE (or both, for a response the
// script did not get), then how long it took; "+N more" for those past
// calltrace.MaxRequests. "crm.example.com 200 12.3ms, crm.example.com
// error=timeout 450ms".
func httpCalls(reqs []calltrace.Request, total int) string {
	b := make([]byte, 0, 40*len(reqs)+16)
	for i, r := range reqs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, r.Host...)
		if r.Status > 0 {
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(r.Status), 10)
		}
		if r.Failure != "" {
			b = append(b, " error="...)
			b = append(b, r.Failure...)
		}
		b = append(b, ' ')
		b = strconv.AppendFloat(b, float64(r.Took.Microseconds()/100)/10, 'f', -1, 64)
		b = append(b, "ms"...)
	}
	if more := total - len(reqs); more > 0 {
		b = append(b, ", +"...)
		b = strconv.AppendInt(b, int64(more), 10)
		b = append(b, " more"...)
	}
	return string(b)
}

// masked stands for a CALLER_NAME or CUSTOM_DATA value in the log with
// --mask-caller: nothing of it, not even its length, shows.
const masked = "***"

// callerName is CALLER_NAME as logged: with --mask-caller, masked, since
// it names the caller.
func (s *Server) callerName(name string) string {
	if s.cfg.MaskCaller {
		return masked
	}
	return name
}

// customData is CUSTOM_DATA as logged: key=value,key=value in the order
// sent; with --mask-caller the keys show and every value is masked, since
// scripts put CRM IDs and names there.
func (s *Server) customData(fields []ivr.Field) string {
	var b strings.Builder
	size := 0
	for _, f := range fields {
		size += len(f.Key) + len(f.Value) + len(masked) + 2
	}
	b.Grow(size)
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f.Key)
		b.WriteByte('=')
		if s.cfg.MaskCaller {
			b.WriteString(masked)
		} else {
			b.WriteString(f.Value)
		}
	}
	return b.String()
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
