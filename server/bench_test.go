package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/luavm/calltrace"
	"github.com/valyala/fasthttp"
)

// BenchmarkHandler is the whole hot path without the network: decode, route,
// run the docs' layer-5 script in a VM, encode, count. It logs nothing, so
// BenchmarkHandlerCallLog's difference is the call log's cost.
func BenchmarkHandler(b *testing.B) {
	benchHandler(b, nil, "/", request("5", "12345678"))
}

// BenchmarkHandlerCallLog is BenchmarkHandler as shipped: a text call log
// line per request, written directly (to io.Discard, so the disk is not
// measured); BenchmarkHandlerSlogCallLog writes it through slog instead.
func BenchmarkHandlerCallLog(b *testing.B) {
	benchHandlerConfig(b, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), CallLog: io.Discard}, "/", request("5", "12345678"))
}

// BenchmarkHandlerHandOff is BenchmarkHandlerCallLog with every call handed
// to a goroutine of its own (Config.HandOff): the difference is what running
// calls on the connection's goroutine saves.
func BenchmarkHandlerHandOff(b *testing.B) {
	benchHandlerConfig(b, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), CallLog: io.Discard, HandOff: true}, "/", request("5", "12345678"))
}

func BenchmarkHandlerSlogCallLog(b *testing.B) {
	benchHandler(b, slog.New(slog.NewTextHandler(io.Discard, nil)), "/", request("5", "12345678"))
}

// BenchmarkHandlerSay and BenchmarkHandlerDial answer the documentation's
// SAY_DIGITS and DIAL examples (scripts/announce.lua, scripts/night.lua).
func BenchmarkHandlerSay(b *testing.B) {
	benchHandler(b, nil, "/announce", request("5", "12345678"))
}

func BenchmarkHandlerDial(b *testing.B) {
	benchHandler(b, nil, "/night", request("5", "12345678"))
}

func benchHandler(b *testing.B, log *slog.Logger, path string, body []byte) {
	benchHandlerConfig(b, Config{Logger: log}, path, body)
}

func benchHandlerConfig(b *testing.B, cfg Config, path string, body []byte) {
	cfg.Scripts = "../scripts"
	srv, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.Header.SetMethod("POST")
			ctx.Request.SetRequestURI(path)
			ctx.Request.SetBody(body)
			srv.Handler(&ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
	})
}

// BenchmarkRecord is what counting and logging one answered call costs,
// alone: the metrics (pre-resolved counters and two histograms) and the
// call log line.
func BenchmarkRecord(b *testing.B) {
	text := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"metrics", Config{}},
		{"metrics+calllog", Config{Logger: text, CallLog: io.Discard}},
		{"metrics+slog", Config{Logger: text}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bc.cfg.Scripts = "../scripts"
			srv, err := New(bc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Shutdown(context.Background())
			sc := srv.engine.Current().Lookup("", 5)
			var req ivr.Request
			if err := ivr.Decode(request("5", "12345678"), &req); err != nil {
				b.Fatal(err)
			}
			a := ivr.GoTo(12)
			body := a.AppendJSON(nil)
			var tr calltrace.Trace // a call that made no HTTP request
			start := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				srv.done(start, start, sc, &req, &a, body, &tr, outcomeOK, nil)
			}
		})
	}
}
