package server

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/bridge/http/crmstub"
	"github.com/ivrouter/ivrouter/bridge/redisstore/redistest"
	"github.com/valyala/fasthttp"
)

// BenchmarkCachedCRM is the cached-CRM workload (scripts/caller.lua, a
// caller the cache holds) on the embedded store, on Redis with the near
// cache (--store), and on Redis with the near cache off (client_cache=0:
// a round trip per lookup).
func BenchmarkCachedCRM(b *testing.B) {
	crm, err := crmstub.Load("../testdata/crm.json")
	if err != nil {
		b.Fatal(err)
	}
	stub := httptest.NewServer(crm)
	defer stub.Close()
	redis := redistest.Start(b)
	for _, bc := range []struct{ name, store string }{
		{"embedded", ""},
		{"redis", redis.URL()},
		{"redis-no-near-cache", redis.URL() + "?client_cache=0"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv, err := New(Config{Scripts: "../scripts", Store: bc.store, StoreTimeout: time.Second,
				ScriptEnv: map[string]string{"CRM_URL": stub.URL, "CRM_TOKEN": ""}})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Shutdown(context.Background())
			if srv.store != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := srv.store.WaitUp(ctx); err != nil {
					b.Fatal(err)
				}
			}
			crmBefore := crm.Requests()
			body := callerRequest("0501234567", "u1", "1")
			want := `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":21,"CALLER_NAME":"Dana Levi","CUSTOM_DATA":{"Last_representative":"John Doe","reason":"open lead"}}`
			b.ReportAllocs()
			b.SetParallelism(8) // calls at once, as Voicenter sends them
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var ctx fasthttp.RequestCtx
				for pb.Next() {
					ctx.Request.Reset()
					ctx.Response.Reset()
					ctx.Request.Header.SetMethod("POST")
					ctx.Request.SetRequestURI("/caller")
					ctx.Request.SetBody(body)
					srv.Handler(&ctx)
					if string(ctx.Response.Body()) != want {
						b.Fatalf("%s", ctx.Response.Body())
					}
				}
			})
			b.StopTimer()
			if srv.store != nil {
				st := srv.store.Stats()
				b.ReportMetric(float64(st.RoundTrips["cache"])/float64(b.N), "trips/op")
			}
			b.ReportMetric(float64(crm.Requests()-crmBefore), "crm-requests")
		})
	}
}
