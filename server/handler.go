package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/calltrace"
	"github.com/valyala/fasthttp"
	lua "github.com/yuin/gopher-lua"
)

// call is one request on its way through a VM. It implements luavm.Call.
type call struct {
	req    ivr.Request
	ivr    ivr.Call
	action ivr.Action
	out    []byte
	trace  calltrace.Trace // what the script did: its HTTP requests
}

func (c *call) Arg(L *lua.LState) lua.LValue { return c.req.Table(L) }

func (c *call) Result(L *lua.LState, ret lua.LValue) error {
	a, err := ivr.ActionOf(ret)
	if err != nil {
		return err
	}
	c.action = *a
	c.out = a.AppendJSON(c.out[:0])
	return nil
}

func (c *call) ID() string { return c.req.UniqueID }

// Trace implements calltrace.Traced: the http module records the call's
// requests in it.
func (c *call) Trace() *calltrace.Trace { return &c.trace }

var calls = sync.Pool{New: func() any { return &call{out: make([]byte, 0, 256)} }}

// Handler answers one Voicenter request. POST / runs the script of the
// request's LAYER_ID (else default.lua); POST /NAME runs NAME.lua. Every
// request is counted and logged once, on one line, however it ends.
func (s *Server) Handler(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	s.metrics.inFlight.Add(1)
	defer s.metrics.inFlight.Add(-1)
	if status, why := s.access.check(ctx); status != 0 {
		o := outcomeForbidden
		if status == fasthttp.StatusUnauthorized {
			o = outcomeUnauthorized
		}
		s.reject(ctx, start, status, o, why)
		return
	}
	if p := ctx.Path(); string(p) == CDRPath || string(p) == CDRPath+"/" { // compared in place, no allocation
		s.handleCDR(ctx, start)
		return
	}
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		s.reject(ctx, start, fasthttp.StatusMethodNotAllowed, outcomeBadRequest, "method "+clip(ctx.Method())+" not allowed: Voicenter POSTs")
		return
	}
	name, ok := route(ctx.Path())
	if !ok || (name != "" && s.engine.Current().Lookup(name, 0) == nil) {
		s.reject(ctx, start, fasthttp.StatusNotFound, outcomeNotFound, "no script answers "+clip(ctx.Path()))
		return
	}
	c := calls.Get().(*call)
	c.trace.Reset()
	if err := ivr.Decode(ctx.PostBody(), &c.req); err != nil {
		calls.Put(c)
		s.reject(ctx, start, fasthttp.StatusBadRequest, outcomeBadRequest, err.Error())
		return
	}
	running := time.Now()
	sc, err := s.engine.Run(name, c.req.LayerID, start, c)
	if errors.Is(err, luavm.ErrNoScript) && name != "" {
		calls.Put(c) // removed by a reload since the lookup above
		s.reject(ctx, start, fasthttp.StatusNotFound, outcomeNotFound, "no script answers "+clip(ctx.Path()))
		return
	}
	ctx.SetContentType(jsonType)
	if s.stopped.Load() {
		ctx.SetConnectionClose() // draining: the next call goes elsewhere
	}
	if err != nil {
		s.fallback(ctx, start, running, sc, c, err)
	} else {
		ctx.SetBody(c.out)
		s.done(start, running, sc, &c.req, &c.action, c.out, &c.trace, outcomeOK, nil)
	}
	if !errors.Is(err, luavm.ErrTimeout) { // an overrun or cut-short call may still be touched by its VM
		calls.Put(c)
	}
}

// fallback answers for a script that could not: the script's fallback
// layer, else the configured one, else STATUS 1.
func (s *Server) fallback(ctx *fasthttp.RequestCtx, start, running time.Time, sc *luavm.Script, c *call, err error) {
	layer, ok := s.fallbackFor(sc)
	a := ivr.Fallback(layer, ok, err.Error())
	// A fresh buffer: after a timeout c belongs to the VM that overran.
	var buf [64]byte
	body := a.AppendJSON(buf[:0])
	ctx.SetBody(body)
	o := outcomeScriptError
	switch {
	case errors.Is(err, luavm.ErrNoScript):
		o, err = outcomeFallback, nil // routine: the layer has no script of its own
	case errors.Is(err, luavm.ErrClosed): // before ErrTimeout, which it may wrap
		o = outcomeShutdown
	case errors.Is(err, luavm.ErrTimeout):
		o = outcomeTimeout
	case errors.Is(err, luavm.ErrBusy):
		o = outcomeBusy
	}
	s.done(start, running, sc, &c.req, &a, body, &c.trace, o, err)
}

// route reads the script name from the path: "" for "/", NAME for "/NAME".
func route(path []byte) (string, bool) {
	if len(path) > 1 && path[len(path)-1] == '/' {
		path = path[:len(path)-1]
	}
	if len(path) == 0 || path[0] != '/' {
		return "", false
	}
	if len(path) == 1 {
		return "", true
	}
	name := string(path[1:])
	return name, luavm.ValidName(name)
}

// jsonType is every answer's Content-Type: the answers are JSON, and
// CALLER_NAME and CUSTOM_DATA are often Hebrew, so the charset is said.
const jsonType = "application/json; charset=utf-8"

// reject answers a request no script may see with a JSON error, then
// counts and logs it. The body is also a STATUS 1 answer: a client that
// reads the body whatever the status, as Voicenter may, sends the call to
// the layer's failover rather than reading an answer with no STATUS.
func (s *Server) reject(ctx *fasthttp.RequestCtx, start time.Time, status int, o outcome, msg string) {
	ctx.SetStatusCode(status)
	ctx.SetConnectionClose() // Voicenter sends good requests: whoever sent this need not keep a connection
	ctx.SetContentType(jsonType)
	ctx.SetBody(append(ivr.AppendString(append(make([]byte, 0, len(msg)+32), `{"STATUS":1,"error":`...), msg), '}'))
	s.metrics.none.count(0, o)
	s.metrics.latency.Observe(time.Since(start).Seconds())
	if s.log.Enabled(context.Background(), slog.LevelWarn) {
		s.log.LogAttrs(context.Background(), slog.LevelWarn, "request rejected",
			slog.Int("status", status), slog.String("outcome", o.String()), slog.String("error", msg),
			slog.String("remote", s.access.client(ctx).String()), slog.String("path", clip(ctx.Path())),
			slog.Float64("ms", float64(time.Since(start).Microseconds())/1000))
	}
}

// transportError answers requests fasthttp could not read.
func (s *Server) transportError(ctx *fasthttp.RequestCtx, err error) {
	if op, ok := err.(*net.OpError); ok && op.Timeout() && len(ctx.Request.Header.RawHeaders()) == 0 {
		// A new connection that sent nothing before --read-timeout: no
		// request to answer. fasthttp would still write this handler's
		// answer, which a client that opened the connection ahead of a
		// request reads as that request's; closing first drops it.
		ctx.Conn().Close()
		return
	}
	status := fasthttp.StatusBadRequest
	msg := "unreadable request: " + err.Error()
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, msg = fasthttp.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", s.cfg.MaxBody)
	case errors.As(err, &small):
		status, msg = fasthttp.StatusRequestHeaderFieldsTooLarge, fmt.Sprintf("headers over %d bytes", s.cfg.MaxHeaderBytes)
	}
	s.reject(ctx, time.Now(), status, outcomeBadRequest, msg)
}

func clip(b []byte) string {
	const max = 64
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
