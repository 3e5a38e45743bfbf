package server

import (
	"context"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkHandler is the whole hot path without the network: decode, route,
// run the docs' layer-5 script in a VM, encode.
func BenchmarkHandler(b *testing.B) {
	srv, err := New(Config{Scripts: "../scripts"})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	body := request("5", "12345678")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.Header.SetMethod("POST")
			ctx.Request.SetRequestURI("/")
			ctx.Request.SetBody(body)
			srv.Handler(&ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
	})
}
