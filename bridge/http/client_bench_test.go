package http_test

import (
	"context"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	bhttp "github.com/ivrouter/ivrouter/bridge/http"
	"github.com/ivrouter/ivrouter/bridge/http/crmstub"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
	"github.com/valyala/fasthttp"
)

// BenchmarkClient is one CRM lookup after another over one kept-alive
// connection to a stub on loopback, as the cold-CRM workload makes them:
// net/http's client as the module configures it, fasthttp's client (which
// writes and reads on the caller's goroutine instead of handing each request
// to a connection's reader and writer goroutines), and the whole http.get
// through a VM. Each reports its p99 beside ns/op: the cold-CRM target is
// about the tail.
func BenchmarkClient(b *testing.B) {
	crm := crmstub.New(map[string]crmstub.Contact{"0501234567": {Name: "Dana", Type: "lead"}})
	srv := httptest.NewServer(crm)
	defer srv.Close()
	url := srv.URL + "/contacts?phone=0501234567"

	b.Run("nethttp", func(b *testing.B) {
		tr := &nethttp.Transport{DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 128, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		client := &nethttp.Client{Transport: tr}
		timed(b, func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			req, _ := nethttp.NewRequestWithContext(ctx, "GET", url, nil)
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadAll(res.Body); err != nil || res.StatusCode != 200 {
				b.Fatal(res.StatusCode, err)
			}
			res.Body.Close()
		})
	})

	b.Run("fasthttp", func(b *testing.B) {
		client := &fasthttp.Client{MaxConnsPerHost: 128}
		req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(res)
		timed(b, func() {
			req.Reset()
			req.SetRequestURI(url)
			if err := client.DoTimeout(req, res, time.Second); err != nil || res.StatusCode() != 200 {
				b.Fatal(res.StatusCode(), err)
			}
			_ = res.Body()
		})
	})

	for _, inline := range []bool{true, false} {
		name := "module-inline"
		if !inline {
			name = "module-hand-off"
		}
		b.Run(name, func(b *testing.B) {
			e := luavmtest.Engine(b, map[string]string{"get.lua": `local http = require("http")
return function(url)
  local res, err = http.get(url, { timeout = 1000 })
  if not res then return "err:" .. err end
  return res.status
end`}, luavm.Options{VMs: 1, Inline: inline, Modules: []luavm.Module{{Name: "http", Loader: bhttp.New(bhttp.Options{}).Loader, Bounded: true}}})
			timed(b, func() {
				if got, err := luavmtest.Run(e, "get", "bench", url); err != nil || got != "200" {
					b.Fatal(got, err)
				}
			})
		})
	}
}

// timed runs op b.N times and reports the 99th percentile of its times.
func timed(b *testing.B, op func()) {
	took := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		op()
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}
