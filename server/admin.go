package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	httppprof "net/http/pprof"
	"net/netip"
	"strings"

	"github.com/ivrouter/ivrouter/bridge/cache"
	"github.com/ivrouter/ivrouter/server/console"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AdminHandler serves the operator's endpoints, meant for a listener
// strangers cannot reach (the default is loopback):
//
//	GET  /metrics          Prometheus metrics, all named ivrouter_*
//	GET  /healthz          200 while the process runs
//	GET  /readyz           200 while scripts are loaded and the server is not
//	                       shutting down, else 503: take it out of rotation
//	POST /-/reload         reload the scripts (and the TLS certificate) as
//	                       SIGHUP does; JSON ReloadResult, 500 on failure
//	POST /-/cache/flush    drop the cache module's entries, those whose key
//	                       starts with prefix (?prefix= or {"prefix": ...})
//	                       or all; JSON FlushResult
//	/debug/pprof/          Go's profiler, for "why is it slow", when pprof is set
//	                       (it shows the command line, which may hold secrets)
//
// The POST endpoints change what serves: with Config.AdminToken (else
// Config.Token) set they need it, as ?token= or Authorization: Bearer, from
// any client; with neither set they answer loopback clients only (403).
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
	guard := newAdminGuard(s.cfg.AdminToken, s.cfg.Token)
	mux.HandleFunc("POST /-/reload", guard.wrap(s.adminReload))
	mux.HandleFunc("POST /-/cache/flush", guard.wrap(s.adminFlush))
	if s.console != nil {
		h := s.consoleHandler()
		mux.Handle("/console", h)
		mux.Handle(console.Prefix, h)
	}
	if pprof {
		mux.HandleFunc("/debug/pprof/", httppprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", httppprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	}
	return mux
}

// ReloadResult is POST /-/reload's answer.
type ReloadResult struct {
	OK bool `json:"ok"`
	// Version, Dir and Scripts describe the scripts serving after the
	// reload: the new ones, or on failure the ones that keep serving.
	Version string `json:"version"`
	Dir     string `json:"dir"`
	Scripts int    `json:"scripts"`
	// Errors are the load's problems, one per line, on failure.
	Errors []string `json:"errors,omitempty"`
}

// FlushResult is POST /-/cache/flush's answer.
type FlushResult struct {
	OK      bool   `json:"ok"`
	Prefix  string `json:"prefix"`
	Removed int    `json:"removed"`
	Error   string `json:"error,omitempty"`
}

func (s *Server) adminReload(w http.ResponseWriter, r *http.Request) {
	s.log.Info("reload requested", "by", "admin", "client", r.RemoteAddr)
	set, err := s.reload()
	res := ReloadResult{OK: err == nil, Version: set.Version(), Dir: set.Dir(), Scripts: routes(set)}
	code := http.StatusOK
	if err != nil {
		code = http.StatusInternalServerError
		for _, line := range strings.Split(err.Error(), "\n") {
			if line != "" {
				res.Errors = append(res.Errors, line)
			}
		}
	}
	writeJSON(w, code, res)
}

// maxFlushBody bounds POST /-/cache/flush's body: {"prefix": "..."}.
const maxFlushBody = 64 << 10

func (s *Server) adminFlush(w http.ResponseWriter, r *http.Request) {
	prefix, err := flushPrefix(w, r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, FlushResult{Error: err.Error()})
		return
	}
	n, err := s.mods.cache.Flush(prefix)
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, cache.ErrNoFlush) {
			code = http.StatusNotImplemented
		}
		writeJSON(w, code, FlushResult{Prefix: prefix, Error: err.Error()})
		return
	}
	s.log.Info("cache flushed", "by", "admin", "client", r.RemoteAddr, "prefix", prefix, "removed", n)
	writeJSON(w, http.StatusOK, FlushResult{OK: true, Prefix: prefix, Removed: n})
}

// flushPrefix reads the prefix from ?prefix=, else from a JSON body
// {"prefix": "..."}; none is "" (everything).
func flushPrefix(w http.ResponseWriter, r *http.Request) (string, error) {
	if q := r.URL.Query(); q.Has("prefix") {
		return q.Get("prefix"), nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFlushBody))
	if err != nil {
		return "", errors.New("reading the body: " + err.Error())
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return "", nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return "", errors.New(`want ?prefix= or a JSON body {"prefix": "..."}, got Content-Type ` + ct)
		}
	}
	var req struct {
		Prefix *string `json:"prefix"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return "", errors.New(`want a JSON body {"prefix": "..."}: ` + err.Error())
	}
	if req.Prefix == nil {
		return "", nil
	}
	return *req.Prefix, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// adminGuard lets a request through to a write endpoint: with a token, one
// carrying it; without, one from loopback.
type adminGuard struct {
	token  [sha256.Size]byte
	hasTok bool
}

func newAdminGuard(adminToken, token string) *adminGuard {
	g := &adminGuard{}
	if adminToken == "" {
		adminToken = token
	}
	if adminToken != "" {
		g.token, g.hasTok = sha256.Sum256([]byte(adminToken)), true
	}
	return g
}

func (g *adminGuard) wrap(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if g.hasTok {
			if !g.tokenOK(r) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="ivrouter admin"`)
				writeJSON(w, http.StatusUnauthorized, adminError{Error: "missing or wrong token: send the admin token (--admin-token, else --token) as Authorization: Bearer or ?token="})
				return
			}
		} else if !loopback(r.RemoteAddr) {
			writeJSON(w, http.StatusForbidden, adminError{Error: "write endpoints answer loopback clients only when no token is set: set --admin-token (or --token) to reach them from elsewhere"})
			return
		}
		h(w, r)
	}
}

type adminError struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

func (g *adminGuard) tokenOK(r *http.Request) bool {
	got, ok := r.URL.Query()["token"]
	var tok string
	if ok && len(got) > 0 {
		tok = got[0]
	} else {
		auth := r.Header.Get("Authorization")
		const bearer = "Bearer "
		if len(auth) < len(bearer) || !strings.EqualFold(auth[:len(bearer)], bearer) {
			return false
		}
		tok = strings.TrimSpace(auth[len(bearer):])
	}
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], g.token[:]) == 1
}

// loopback reports whether a request's peer address is on this machine's
// loopback (127.0.0.0/8, ::1).
func loopback(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// Registry is where the server's metrics live, for an embedding program
// that serves them along with its own.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

type errorLog struct{ s *Server }

func (l errorLog) Println(v ...any) { l.s.log.Error("metrics", "error", v) }
