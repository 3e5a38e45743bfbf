package server

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/calltrace"
	"github.com/ivrouter/ivrouter/server/cdr"
	"github.com/ivrouter/ivrouter/server/console"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	lua "github.com/yuin/gopher-lua"
)

// CDRPath is where Voicenter's CDR notifications are posted, on the main
// listener under its token and IP rules. It has a slash in it, so no
// script's route (POST /NAME) can take it.
const CDRPath = "/events/cdr"

// CDRScript is the events script that receives each CDR, when the
// scripts directory has one (events/cdr.lua).
const CDRScript = luavm.EventsDir + "/cdr"

// CDR scripts run off the request: Voicenter has its answer once the CDR
// is read, and a slow CRM write-back holds at most cdrWorkers VMs, never
// the pool that answers calls. A burst past cdrQueue waiting CDRs skips
// the script for the excess (logged and counted), and nothing is retried.
const (
	cdrWorkers = 2
	cdrQueue   = 1024
)

// events runs the events scripts.
type events struct {
	queue chan *cdrJob
	quit  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once

	received *prometheus.CounterVec // by result: joined, unjoined, bad_request
	script   *prometheus.CounterVec // by outcome
}

// cdrJob is one CDR waiting for the events script.
type cdrJob struct {
	rec   *cdr.Record
	shown console.CDR // as the console shows it, without the script's part
}

// cdrCall is a CDR on its way through the events script. It implements
// luavm.Call and calltrace.Traced, so the script's CRM requests and log
// lines reach the console.
type cdrCall struct {
	rec   *cdr.Record
	trace calltrace.Trace
}

func (c *cdrCall) Arg(L *lua.LState) lua.LValue         { return c.rec.Table(L) }
func (c *cdrCall) Result(*lua.LState, lua.LValue) error { return nil } // the answer goes nowhere
func (c *cdrCall) ID() string                           { return c.rec.CallID }
func (c *cdrCall) Trace() *calltrace.Trace              { return &c.trace }

func newEvents(reg prometheus.Registerer) *events {
	e := &events{
		queue: make(chan *cdrJob, cdrQueue),
		quit:  make(chan struct{}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ivrouter_cdr_total",
			Help: "CDR notifications received at " + CDRPath + ", by result: joined (to a call the console holds), unjoined, bad_request.",
		}, []string{"result"}),
		script: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ivrouter_cdr_script_total",
			Help: "Runs of " + CDRScript + ".lua, by outcome (ok, script_error, timeout, busy, dropped: its queue was full, shutdown).",
		}, []string{"outcome"}),
	}
	for _, r := range []string{"joined", "unjoined", "bad_request"} {
		e.received.WithLabelValues(r)
	}
	reg.MustRegister(e.received, e.script)
	return e
}

// startEvents starts the workers that run the events scripts.
func (s *Server) startEvents() {
	s.events = newEvents(s.metrics.reg)
	for range cdrWorkers {
		s.events.wg.Add(1)
		go s.cdrWorker()
	}
}

// stopEvents lets the running CDR scripts finish and drops those still
// queued, saying how many.
func (s *Server) stopEvents() {
	s.events.once.Do(func() {
		close(s.events.quit)
		s.events.wg.Wait()
		if n := len(s.events.queue); n > 0 {
			s.events.script.WithLabelValues("shutdown").Add(float64(n))
			s.log.Warn("CDR script not run for CDRs still queued at shutdown", "cdrs", n)
		}
	})
}

// handleCDR answers a CDR notification: it is parsed, joined to its
// call's journey, queued for the events script, and acknowledged as
// Voicenter expects ({"Err":0,"Errdesc":"OK"}, or its XML-RPC form).
func (s *Server) handleCDR(ctx *fasthttp.RequestCtx, start time.Time) {
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		s.cdrFail(ctx, start, fasthttp.StatusMethodNotAllowed, cdr.JSON, errors.New("method "+clip(ctx.Method())+" not allowed: Voicenter POSTs CDRs"))
		return
	}
	rec, enc, err := cdr.Parse(string(ctx.Request.Header.ContentType()), ctx.PostBody())
	if err != nil {
		s.cdrFail(ctx, start, fasthttp.StatusBadRequest, enc, err)
		return
	}
	shown := s.shownCDR(rec, enc, start)
	sc := s.engine.Current().Lookup(CDRScript, 0)
	if sc != nil {
		shown.Script, shown.ScriptOutcome = sc.Name, "pending"
	}
	joined := s.console.SetCDR(rec.CallID, shown)
	result := "unjoined"
	if joined {
		result = "joined"
	}
	s.events.received.WithLabelValues(result).Inc()
	if sc != nil {
		select {
		case s.events.queue <- &cdrJob{rec: rec, shown: shown}:
		default:
			s.events.script.WithLabelValues("dropped").Inc()
			s.log.Warn("CDR script skipped: its queue is full", "call", rec.CallID, "queued", cdrQueue)
			s.cdrScriptDone(rec.CallID, shown, "dropped", nil, nil)
		}
	}
	ctx.SetContentType(cdr.ContentType(enc))
	ctx.SetBody(cdr.AppendAnswer(nil, enc, nil))
	if s.log.Enabled(context.Background(), slog.LevelInfo) {
		s.log.LogAttrs(context.Background(), slog.LevelInfo, "cdr",
			slog.String("call", rec.CallID), slog.String("status", rec.Status), slog.Int("duration", rec.Duration),
			slog.String("encoding", enc.String()), slog.Bool("joined", joined), slog.Int("layers", len(rec.IVR)),
			slog.Float64("ms", float64(time.Since(start).Microseconds())/1000))
	}
}

// cdrFail answers a CDR that cannot be read, in the encoding it came in.
func (s *Server) cdrFail(ctx *fasthttp.RequestCtx, start time.Time, status int, enc cdr.Encoding, err error) {
	s.events.received.WithLabelValues("bad_request").Inc()
	ctx.SetStatusCode(status)
	ctx.SetConnectionClose()
	ctx.SetContentType(cdr.ContentType(enc))
	ctx.SetBody(cdr.AppendAnswer(nil, enc, err))
	s.log.LogAttrs(context.Background(), slog.LevelWarn, "cdr rejected",
		slog.Int("status", status), slog.String("error", err.Error()),
		slog.String("remote", s.access.client(ctx).String()),
		slog.Float64("ms", float64(time.Since(start).Microseconds())/1000))
}

// shownCDR is rec as the console shows it: masked per --mask-caller.
func (s *Server) shownCDR(rec *cdr.Record, enc cdr.Encoding, now time.Time) console.CDR {
	c := console.CDR{Received: now, Encoding: enc.String(), Type: rec.Type, Status: rec.Status,
		Caller: s.caller(rec.Caller), Target: s.digits(rec.Target), DID: rec.DID,
		Duration: rec.Duration, DialTime: rec.DialTime, RecordURL: s.digits(rec.RecordURL), Queue: rec.QueueName}
	c.Answered = rec.RepresentativeName
	if c.Answered == "" {
		c.Answered = rec.TargetExtensionName
	}
	c.Layers = make([]console.CDRLayer, len(rec.IVR))
	for i, st := range rec.IVR {
		c.Layers[i] = console.CDRLayer{ID: st.LayerID, Number: st.LayerNumber, Name: st.LayerName, DTMF: s.dtmf(st.DTMF)}
	}
	return c
}

// digits is s as the console shows it: with --mask-caller every run of
// five digits or more (a phone number, an ID in a URL or a cache key)
// masked as a caller's number is.
func (s *Server) digits(v string) string {
	if !s.cfg.MaskCaller {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); {
		j := i
		for j < len(v) && v[j] >= '0' && v[j] <= '9' {
			j++
		}
		switch {
		case j-i >= 5:
			b.WriteString(MaskCaller(v[i:j]))
			i = j
		case j > i:
			b.WriteString(v[i:j])
			i = j
		default:
			b.WriteByte(v[i])
			i++
		}
	}
	return b.String()
}

// requests are tr's requests as the console shows them: URLs masked per
// --mask-caller (a path may hold the caller's number).
func (s *Server) requests(tr *calltrace.Trace) ([]calltrace.Request, int) {
	reqs, n := tr.Requests(nil)
	if s.cfg.MaskCaller {
		for i := range reqs {
			reqs[i].URL = s.digits(reqs[i].URL)
		}
	}
	return reqs, n
}

func (s *Server) cdrWorker() {
	defer s.events.wg.Done()
	for {
		select {
		case <-s.events.quit:
			return
		case job := <-s.events.queue:
			s.runCDR(job)
		}
	}
}

// runCDR runs the events script on one CDR and shows its outcome in the
// call's journey.
func (s *Server) runCDR(job *cdrJob) {
	o, tr, err := s.runEvent(job.rec)
	if errors.Is(err, luavm.ErrNoScript) {
		return // removed by a reload since it was queued
	}
	s.cdrScriptDone(job.rec.CallID, job.shown, o.String(), err, tr)
}

// runEvent runs the events script on rec, on the caller's goroutine, under
// the script's deadline. Its failures are logged and counted, never
// retried. With ErrNoScript (no events/cdr.lua) nothing ran and nothing is
// counted: the outcome is outcomeNotFound.
func (s *Server) runEvent(rec *cdr.Record) (outcome, *calltrace.Trace, error) {
	c := &cdrCall{rec: rec}
	_, err := s.engine.Run(CDRScript, 0, time.Now(), c)
	if errors.Is(err, luavm.ErrNoScript) {
		return outcomeNotFound, &c.trace, err
	}
	o := outcomeOK
	switch {
	case errors.Is(err, luavm.ErrClosed):
		o = outcomeShutdown
	case errors.Is(err, luavm.ErrTimeout):
		o = outcomeTimeout
	case errors.Is(err, luavm.ErrBusy):
		o = outcomeBusy
	case err != nil:
		o = outcomeScriptError
	}
	s.events.script.WithLabelValues(o.String()).Inc()
	if err != nil {
		s.log.Warn("CDR script failed", "script", CDRScript, "call", rec.CallID, "outcome", o.String(), "error", err)
	}
	return o, &c.trace, err
}

// cdrScriptDone shows the events script's outcome in the call's journey.
func (s *Server) cdrScriptDone(id string, shown console.CDR, outcome string, err error, tr *calltrace.Trace) {
	if s.console == nil {
		return
	}
	shown.ScriptOutcome = outcome
	if err != nil {
		shown.ScriptError = err.Error()
	}
	shown.Requests, shown.HTTPTotal = s.requests(tr)
	shown.Logs, shown.LogTotal = tr.Logs(nil)
	s.console.SetCDR(id, shown)
}
