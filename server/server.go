// Package server answers Voicenter's External Layer requests over HTTP: it
// decodes each IVR_LAYER_INPUT request, picks the script for its route, runs
// it under the deadline and answers with the script's action, or with the
// fallback when the script fails, overruns or is missing.
package server

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/luavm"
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
	// CacheEntries bounds the cache module's store.
	CacheEntries int
	// StateTTL is how long a call's state lives after its last write.
	StateTTL time.Duration
	// Modules are extra Go modules for scripts, for programs that embed the
	// router.
	Modules []luavm.Module
	// Logger receives the log; nil discards it.
	Logger *slog.Logger
}

// Defaults for zero Config fields.
const (
	DefaultScripts  = "./scripts"
	DefaultDeadline = 3 * time.Second
	DefaultLanguage = "EN"
	DefaultMaxBody  = 64 << 10
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

// Server is the router: an HTTP front on a luavm.Engine.
type Server struct {
	cfg    Config
	log    *slog.Logger
	engine *luavm.Engine
	http   *fasthttp.Server
	mods   *modules
}

// New loads the scripts directory and returns a server ready to Serve.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger}
	opts, err := s.vmOptions()
	if err != nil {
		return nil, err
	}
	if s.mods.http.AnyHost() {
		s.log.Warn("scripts may reach any host: set --allow-host to restrict them")
	}
	if s.engine, err = luavm.NewEngine(cfg.Scripts, opts); err != nil {
		return nil, err
	}
	s.http = &fasthttp.Server{
		Handler:                      s.Handler,
		ErrorHandler:                 s.transportError,
		Name:                         "ivrouter",
		MaxRequestBodySize:           cfg.MaxBody,
		ReadTimeout:                  10 * time.Second,
		WriteTimeout:                 10 * time.Second,
		IdleTimeout:                  2 * time.Minute,
		DisablePreParseMultipartForm: true,
		Logger:                       fasthttpLogger{s.log},
	}
	return s, nil
}

// Check loads a scripts directory the way New does, without serving it, and
// returns every problem found as "file:line: message" lines.
func Check(cfg Config) error {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger}
	opts, err := s.vmOptions()
	if err != nil {
		return err
	}
	opts.VMs = 1
	set, err := luavm.Build(cfg.Scripts, opts)
	if err != nil {
		return err
	}
	set.Close()
	set.Wait()
	return nil
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
// every problem.
func (s *Server) Reload() error {
	start := time.Now()
	set, err := s.engine.Reload()
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			s.log.Error("reload failed, previous scripts keep serving", "error", line)
		}
		return err
	}
	s.log.Info("scripts reloaded", "dir", set.Dir(), "version", set.Version(), "scripts", len(set.Scripts()), "took", time.Since(start).Round(time.Microsecond))
	return nil
}

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	set := s.engine.Current()
	s.log.Info("serving", "addr", ln.Addr().String(), "scripts", set.Dir(), "version", set.Version(), "deadline", s.cfg.Deadline)
	if s.cfg.Deadline >= luavm.WarnDeadline {
		s.log.Warn("deadline leaves little slack before Voicenter's 5 s limit: late answers send calls to the failover", "deadline", s.cfg.Deadline)
	}
	return s.http.Serve(ln)
}

// Shutdown stops accepting, waits for requests in flight, then retires the
// scripts.
func (s *Server) Shutdown() error {
	err := s.http.Shutdown()
	s.engine.Close()
	return err
}

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...)) // the ErrorHandler already logged the request
}
