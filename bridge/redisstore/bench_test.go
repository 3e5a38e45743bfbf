package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/bridge/cache"
	"github.com/ivrouter/ivrouter/bridge/redisstore"
	"github.com/ivrouter/ivrouter/bridge/redisstore/redistest"
)

// BenchmarkCacheGet reads one cached contact: from the near cache, and
// with the near cache off (a round trip each, pipelined with the other
// goroutines').
func BenchmarkCacheGet(b *testing.B) {
	srv := redistest.Start(b)
	val := map[string]any{"name": "Dana Levi", "type": "lead", "rep": map[string]any{"name": "John Doe", "layer": 21.0}, "found": true}
	for _, bc := range []struct{ name, query string }{{"near", ""}, {"round-trip", "?client_cache=0"}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := redisstore.New(redisstore.Options{URL: srv.URL() + bc.query, Timeout: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx, cancel := contextTimeout()
			defer cancel()
			if err := s.WaitUp(ctx); err != nil {
				b.Fatal(err)
			}
			// Another instance wrote the key: this one's own writes skip its
			// near cache for a second (see Store), which would hide it here.
			w, err := redisstore.New(redisstore.Options{URL: srv.URL(), Timeout: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			if err := w.WaitUp(ctx); err != nil {
				b.Fatal(err)
			}
			if err := w.Cache().Set("crm:phone:0501234567", cache.Entry{Value: val, Expires: time.Now().Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, ok, err := s.Cache().GetOp(cache.Op{Deadline: time.Now().Add(time.Second)}, "crm:phone:0501234567"); !ok || err != nil {
						b.Fatal(ok, err)
					}
				}
			})
		})
	}
}

func contextTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}
