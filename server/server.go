// Package server answers Voicenter's External Layer requests over HTTP: it
// decodes each IVR_LAYER_INPUT request, picks the script for its route, runs
// it under the deadline and answers with the script's action, or with the
// fallback when the script fails, overruns or is missing.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ivrouter/ivrouter/bridge/cache"
	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/bridge/redisstore"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/server/console"
	"github.com/valyala/fasthttp"
	lua "github.com/yuin/gopher-lua"
)

// Config is everything a Server needs; zero fields take the defaults below.
type Config struct {
	// Scripts is the scripts directory: the routing table.
	Scripts string
	// Deadline bounds every call whose script sets none.
	Deadline time.Duration
	// Fallback is the layer answered when a script cannot answer, when
	// HasFallback and the script names none. Without one the answer is
	// STATUS 1, which sends the call to the layer's own failover.
	Fallback    int
	HasFallback bool
	// Language is SAY_DIGITS' LANGUAGE when a script names none.
	Language string
	// MaxBody bounds request bodies, in bytes.
	MaxBody int
	// VMs bounds how many calls run at once.
	VMs int
	// AllowHosts restricts the hosts scripts may reach with http; empty
	// allows any.
	AllowHosts []string
	// ScriptEnv is what scripts may read with env.get: allowed names and
	// their values.
	ScriptEnv map[string]string
	// CacheEntries bounds the cache module's store; CacheBytes its size and
	// CacheValueBytes one value's (zero takes the module's defaults).
	CacheEntries, CacheBytes, CacheValueBytes int
	// StateBytes bounds the state module's store, all calls together.
	StateBytes int
	// DenyHosts are addresses scripts may not reach with http unless
	// AllowHosts names them: the router's own listeners ("host:port", or
	// ":port" for any address of this machine). The cloud metadata address
	// is always denied unless allowed.
	DenyHosts []string
	// StateTTL is how long a call's state lives after its last write.
	StateTTL time.Duration
	// Token, when set, must come with every request: as the token query
	// parameter of the layer's URL or as an Authorization: Bearer header.
	Token string
	// AdminToken, when set, must come with every request to the admin
	// listener's write endpoints (POST /-/reload, POST /-/cache/flush), as
	// ?token= or Authorization: Bearer; empty takes Token. With neither,
	// those endpoints answer loopback clients only.
	AdminToken string
	// AllowIPs, when set, are the only addresses calls may come from.
	AllowIPs []netip.Prefix
	// TrustProxies are proxies whose X-Forwarded-For names the caller.
	TrustProxies []netip.Prefix
	// TLSCert and TLSKey are PEM files to serve HTTPS with; Reload reads
	// them again.
	TLSCert, TLSKey string
	// MaskCaller hides all but the last digits of CALLER_ID, and the digits
	// typed, in the call log.
	MaskCaller bool
	// ReadTimeout bounds reading a request, headers and body, so a slow
	// client cannot hold a connection; WriteTimeout bounds writing the
	// answer; IdleTimeout bounds a keep-alive connection's wait for its
	// next request.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes int
	// MaxConns bounds open connections; more are answered 503 and closed.
	MaxConns int
	// Modules are extra Go modules for scripts, for programs that embed the
	// router.
	Modules []luavm.Module
	// CallMemory bounds the bytes one call may allocate (see
	// luavm.Options.CallMemory); LogLines and LogBytes bound what one call
	// may log. Zero takes luavm's defaults.
	CallMemory, LogLines, LogBytes int
	// SharedMemory bounds what all calls in flight may allocate together
	// beyond their first MiB each (luavm.Options.SharedMemory); zero is
	// no shared bound.
	SharedMemory int
	// Timezone is the time module's zone when a script names none; nil is
	// the machine's local zone.
	Timezone *time.Location
	// Clock, when set, is the instant each call's scripts see (time.now);
	// nil is when the request arrived. ivrouter test freezes it.
	Clock func() time.Time
	// HTTPTransport, when set, carries the scripts' http requests instead
	// of the pooled network transport: ivrouter test's stubs.
	HTTPTransport http.RoundTripper
	// CacheStore and StateStore, when set, hold the cache and state
	// modules' entries instead of bounded in-memory stores.
	CacheStore, StateStore cache.Store
	// Store, when set, is a Redis URL (see redisstore.ParseURL:
	// redis://[user:pass@]host:port/db, rediss:// for TLS, Sentinel and
	// Cluster addresses) that holds the cache and state modules' entries
	// instead, shared by every instance given the same URL. CacheStore and
	// StateStore, when set, still win. Check never connects to it.
	Store string
	// StoreTimeout bounds one round trip to Store within a call's deadline
	// (default redisstore.DefaultTimeout); past it Redis counts as down.
	StoreTimeout time.Duration
	// Logger receives the log; nil discards it.
	Logger *slog.Logger
	// CallLog, when set, receives the call log's lines instead of Logger,
	// written as Logger's handler would write them (slog's text format, or
	// its JSON with CallLogJSON) but about five times faster: a line per call
	// through slog costs a quarter of the server's throughput. Logger's
	// level still decides which lines are written.
	CallLog     io.Writer
	CallLogJSON bool
	// ConsoleCalls bounds the calls the admin listener's console keeps
	// (default console.DefaultCalls; negative turns the console off), and
	// ConsoleBytes their size (default console.DefaultBytes).
	ConsoleCalls, ConsoleBytes int
	// HandOff hands each call to a VM's own goroutine instead of running it
	// on the connection's (luavm.Options.Inline, the default): about a tenth more
	// CPU per call, for an embedding program whose Go modules are Bounded
	// but which wants its connections' goroutines never to run Lua. Calls
	// are handed off anyway when a module is not Bounded.
	HandOff bool
}

// Defaults for zero Config fields.
const (
	DefaultScripts  = "./scripts"
	DefaultDeadline = 3 * time.Second
	DefaultLanguage = "EN"
	DefaultMaxBody  = 64 << 10
	// Voicenter's requests are small and its wait is 5 s: a client slower
	// than that is not Voicenter.
	DefaultReadTimeout    = 5 * time.Second
	DefaultWriteTimeout   = 5 * time.Second
	DefaultIdleTimeout    = 90 * time.Second
	DefaultMaxHeaderBytes = 8 << 10
	DefaultMaxConns       = 10000
)

// DefaultScriptEnv are the environment variables scripts may read when
// Config.ScriptEnv is nil: the settings the example scripts use.
var DefaultScriptEnv = []string{"CRM_URL", "CRM_TOKEN"}

func (c Config) withDefaults() Config {
	if c.Scripts == "" {
		c.Scripts = DefaultScripts
	}
	if c.Deadline <= 0 {
		c.Deadline = DefaultDeadline
	}
	if c.Language == "" {
		c.Language = DefaultLanguage
	}
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBody
	}
	c.ReadTimeout = orDefault(c.ReadTimeout, DefaultReadTimeout)
	c.WriteTimeout = orDefault(c.WriteTimeout, DefaultWriteTimeout)
	c.IdleTimeout = orDefault(c.IdleTimeout, DefaultIdleTimeout)
	c.MaxHeaderBytes = orDefault(c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	c.MaxConns = orDefault(c.MaxConns, DefaultMaxConns)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ScriptEnv == nil {
		c.ScriptEnv = map[string]string{}
		for _, name := range DefaultScriptEnv {
			c.ScriptEnv[name] = os.Getenv(name)
		}
	}
	return c
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Server is the router: an HTTP front on a luavm.Engine.
type Server struct {
	cfg     Config
	log     *slog.Logger
	engine  *luavm.Engine
	http    *fasthttp.Server
	mods    *modules
	store   *redisstore.Store // Config.Store's, nil without one
	metrics *metrics
	access  *access
	certs   *certs
	loaded  atomic.Int64 // unix nanoseconds of the last successful load
	// reloadMu makes reloads, by SIGHUP or by the admin listener, run
	// one at a time.
	reloadMu sync.Mutex
	stopped  atomic.Bool       // shutting down: not ready for new calls
	console  *console.Recorder // recent calls for the console; nil when off
	events   *events           // runs events/cdr.lua on each CDR
}

// New loads the scripts directory and returns a server ready to Serve.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger, access: newAccess(cfg.Token, cfg.AllowIPs, cfg.TrustProxies)}
	var err error
	if s.certs, err = newCerts(cfg.TLSCert, cfg.TLSKey); err != nil {
		return nil, err
	}
	if cfg.Store != "" && (cfg.CacheStore == nil || cfg.StateStore == nil) {
		near := cfg.CacheBytes
		if near <= 0 {
			near = cache.DefaultMaxBytes
		}
		s.store, err = redisstore.New(redisstore.Options{URL: cfg.Store, Timeout: cfg.StoreTimeout,
			NearBytes: near, Logger: s.log, Now: cfg.Clock})
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	s.metrics = newMetrics(s)
	opts, err := s.vmOptions()
	if err != nil {
		s.closeStore()
		return nil, err
	}
	if s.mods.http.AnyHost() {
		s.log.Warn("scripts may reach any host: set --allow-host to restrict them")
	}
	if s.engine, err = luavm.NewEngine(cfg.Scripts, opts); err != nil {
		s.closeStore()
		return nil, err
	}
	s.loaded.Store(time.Now().UnixNano())
	s.newConsole()
	s.startEvents()
	s.http = &fasthttp.Server{
		Handler:                      s.Handler,
		ErrorHandler:                 s.transportError,
		Name:                         "ivrouter",
		MaxRequestBodySize:           cfg.MaxBody,
		ReadTimeout:                  cfg.ReadTimeout,
		WriteTimeout:                 cfg.WriteTimeout,
		IdleTimeout:                  cfg.IdleTimeout,
		ReadBufferSize:               cfg.MaxHeaderBytes,
		Concurrency:                  cfg.MaxConns + 64, // connLimit answers first, in JSON
		CloseOnShutdown:              true,
		SecureErrorLogMessage:        true, // a malformed request's text may hold the token
		DisablePreParseMultipartForm: true,
		Logger:                       fasthttpLogger{s.log},
	}
	return s, nil
}

// vmOptions wires the Go modules scripts get: the bridge modules, then the
// embedder's. They are built once, so caches, call state and circuit
// breakers outlive reloads.
func (s *Server) vmOptions() (luavm.Options, error) {
	mods, err := s.modules()
	if err != nil {
		return luavm.Options{}, err
	}
	return luavm.Options{
		Modules:  append(mods, s.cfg.Modules...),
		VMs:      s.cfg.VMs,
		Deadline: s.cfg.Deadline,
		Logger:   s.log,
		Clock:    s.cfg.Clock,
		Inline:   !s.cfg.HandOff,

		CallMemory:   s.cfg.CallMemory,
		SharedMemory: s.cfg.SharedMemory,
		LogLines:     s.cfg.LogLines,
		LogBytes:     s.cfg.LogBytes,
	}, nil
}

// ivrCall tells the ivr builders about the call a VM is answering.
func (s *Server) ivrCall(L *lua.LState) *ivr.Call {
	c, ok := luavm.CallOf(L).(*call)
	if !ok {
		return nil
	}
	c.ivr.Request = &c.req
	c.ivr.Fallback, c.ivr.HasFallback = s.fallbackFor(luavm.ScriptOf(L))
	return &c.ivr
}

// fallbackFor is the layer answered when sc cannot answer: its own
// fallback, else the configured one.
func (s *Server) fallbackFor(sc *luavm.Script) (int, bool) {
	if sc != nil && sc.HasFallback {
		return sc.Fallback, true
	}
	return s.cfg.Fallback, s.cfg.HasFallback
}

// Engine is the script engine behind the server.
func (s *Server) Engine() *luavm.Engine { return s.engine }

// Reload rebuilds the scripts directory and swaps it in if every script
// loads; otherwise the current scripts keep serving and the error lists
// every problem. It reads the TLS certificate again too, keeping the one
// being served if that fails.
func (s *Server) Reload() error {
	_, err := s.reload()
	return err
}

// reload is Reload, also returning the scripts serving once it is done.
// Reloads, by SIGHUP or by the admin listener, run one at a time.
func (s *Server) reload() (*luavm.Set, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	err := s.reloadLocked()
	return s.engine.Current(), err
}

func (s *Server) reloadLocked() error {
	start := time.Now()
	set, err := s.engine.Reload()
	s.metrics.reloaded(err)
	defer s.consoleReloaded(err)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			s.log.Error("reload failed, previous scripts keep serving", "error", line)
		}
	} else {
		s.loaded.Store(time.Now().UnixNano())
		s.log.Info("scripts reloaded", "dir", set.Dir(), "scripts_version", set.Version(), "scripts", routes(set), "took", time.Since(start).Round(time.Microsecond))
	}
	if s.certs == nil {
		return err
	}
	if cerr := s.certs.reload(); cerr != nil {
		s.log.Error("TLS certificate reload failed, the previous one keeps serving", "error", cerr)
		return errors.Join(err, cerr)
	}
	s.log.Info("TLS certificate reloaded", "cert", s.cfg.TLSCert, "expires", s.certs.current().Leaf.NotAfter)
	return err
}

// Serve answers requests on ln until Shutdown, over TLS when the config
// names a certificate.
func (s *Server) Serve(ln net.Listener) error {
	set := s.engine.Current()
	ln = &connLimit{Listener: ln, max: int64(s.cfg.MaxConns), tls: s.certs != nil}
	if s.certs != nil {
		ln = tls.NewListener(ln, s.certs.config())
	}
	s.log.Info("serving", "addr", ln.Addr().String(), "tls", s.certs != nil, "scripts", set.Dir(), "scripts_version", set.Version(), "deadline", s.cfg.Deadline, "pid", os.Getpid())
	if s.cfg.Deadline >= luavm.WarnDeadline {
		s.log.Warn("deadline leaves little slack before Voicenter's 5 s limit: late answers send calls to the failover", "deadline", s.cfg.Deadline)
	}
	return s.http.Serve(ln)
}

// Shutdown stops accepting and reports not ready, and lets the requests in
// flight finish (keep-alive connections are closed once answered) until ctx
// ends. Calls still running then are cut short: each answers its fallback,
// and Shutdown waits up to ShutdownGrace for those answers to be written,
// so no caller is left without one.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopped.Store(true)
	// fasthttp waits for every connection to close; at ctx's end the calls
	// still running are cut short (each then answers its fallback and its
	// connection closes), and the wait goes on for ShutdownGrace more.
	drained, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		s.engine.Close()
		time.AfterFunc(ShutdownGrace, cancel)
	})
	err := s.http.ShutdownWithContext(drained)
	s.stopEvents() // a CDR script still running is cut short at ctx's end
	stop()
	s.engine.Close()
	s.closeStore()
	if ctx.Err() != nil {
		return fmt.Errorf("calls still running at the shutdown timeout were answered their fallback: %w", ctx.Err())
	}
	return err
}

// closeStore closes Config.Store's connections, if any.
func (s *Server) closeStore() {
	if s.store != nil {
		s.store.Close()
	}
}

// ShutdownGrace is how long Shutdown waits, after its timeout, for the
// fallback answers of the calls it cut short to be written.
const ShutdownGrace = time.Second

// Drain reports not ready and closes each connection after its next answer,
// while still serving: a load balancer polling /readyz stops sending calls
// before Shutdown closes the listener.
func (s *Server) Drain() { s.stopped.Store(true) }

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...)) // the ErrorHandler already logged the request
}
