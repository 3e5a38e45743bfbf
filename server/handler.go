package server

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/valyala/fasthttp"
	lua "github.com/yuin/gopher-lua"
)

// call is one request on its way through a VM. It implements luavm.Call.
type call struct {
	req    ivr.Request
	ivr    ivr.Call
	action ivr.Action
	out    []byte
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

var calls = sync.Pool{New: func() any { return &call{out: make([]byte, 0, 256)} }}

// Handler answers one Voicenter request. POST / runs the script of the
// request's LAYER_ID (else default.lua); POST /NAME runs NAME.lua.
func (s *Server) Handler(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		s.reject(ctx, fasthttp.StatusMethodNotAllowed, "method %s not allowed: Voicenter POSTs", clip(ctx.Method()))
		return
	}
	name, ok := route(ctx.Path())
	if !ok || (name != "" && s.engine.Current().Lookup(name, 0) == nil) {
		s.reject(ctx, fasthttp.StatusNotFound, "no script answers %s", clip(ctx.Path()))
		return
	}
	c := calls.Get().(*call)
	if err := ivr.Decode(ctx.PostBody(), &c.req); err != nil {
		calls.Put(c)
		s.reject(ctx, fasthttp.StatusBadRequest, "%v", err)
		return
	}
	sc, err := s.engine.Run(name, c.req.LayerID, start, c)
	if errors.Is(err, luavm.ErrNoScript) && name != "" {
		calls.Put(c) // removed by a reload since the lookup above
		s.reject(ctx, fasthttp.StatusNotFound, "no script answers %s", clip(ctx.Path()))
		return
	}
	ctx.SetContentType("application/json")
	if err != nil {
		s.fallback(ctx, sc, c, err)
	} else {
		ctx.SetBody(c.out)
	}
	if !errors.Is(err, luavm.ErrTimeout) { // an overrun call may still be touched by its VM
		calls.Put(c)
	}
}

// fallback answers for a script that could not: the script's fallback
// layer, else the configured one, else STATUS 1.
func (s *Server) fallback(ctx *fasthttp.RequestCtx, sc *luavm.Script, c *call, err error) {
	layer, ok := s.fallbackFor(sc)
	a := ivr.Fallback(layer, ok, err.Error())
	// A fresh buffer: after a timeout c belongs to the VM that overran.
	var buf [64]byte
	ctx.SetBody(a.AppendJSON(buf[:0]))
	if errors.Is(err, luavm.ErrNoScript) {
		s.log.Debug("no script for layer", "layer", c.req.LayerID, "ivr_unique_id", c.req.UniqueID, "answer", a.Summary())
		return
	}
	script := ""
	if sc != nil {
		script = sc.Path
	}
	// A luavm.Error reads "file:line: message": one grep finds the line.
	s.log.Warn("script failed, answered the fallback", "script", script, "error", err.Error(), "ivr_unique_id", c.req.UniqueID, "layer", c.req.LayerID, "answer", a.Summary())
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

// reject answers bad input with a JSON error and logs it; no script runs.
func (s *Server) reject(ctx *fasthttp.RequestCtx, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(append(ivr.AppendString(append(make([]byte, 0, len(msg)+16), `{"error":`...), msg), '}'))
	s.log.Warn("request rejected", "status", status, "error", msg, "remote", ctx.RemoteIP().String(), "path", clip(ctx.Path()))
}

// transportError answers requests fasthttp could not read.
func (s *Server) transportError(ctx *fasthttp.RequestCtx, err error) {
	status := fasthttp.StatusBadRequest
	msg := "unreadable request: " + err.Error()
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		status, msg = fasthttp.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", s.cfg.MaxBody)
	}
	s.reject(ctx, status, "%s", msg)
}

func clip(b []byte) string {
	const max = 64
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
