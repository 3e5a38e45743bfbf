package server

import (
	"net/http"
	httppprof "net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AdminHandler serves the operator's endpoints, meant for a listener
// strangers cannot reach (the default is loopback):
//
//	/metrics        Prometheus metrics, all named ivrouter_*
//	/healthz        200 while the process runs
//	/readyz         200 while scripts are loaded and the server is not
//	                shutting down, else 503: take it out of rotation
//	/debug/pprof/   Go's profiler, for "why is it slow", when pprof is set
//	                (it shows the command line, which may hold secrets)
func (s *Server) AdminHandler(pprof bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{ErrorLog: errorLog{s}}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s.stopped.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	if pprof {
		mux.HandleFunc("/debug/pprof/", httppprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", httppprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	}
	return mux
}

// Registry is where the server's metrics live, for an embedding program
// that serves them along with its own.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

type errorLog struct{ s *Server }

func (l errorLog) Println(v ...any) { l.s.log.Error("metrics", "error", v) }
