package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ivrouter/ivrouter/bridge/http/crmstub"
	"github.com/ivrouter/ivrouter/server"
)

const usage = `usage:
  ivrouter serve [flags]   answer Voicenter requests with the scripts directory; SIGHUP reloads it
  ivrouter check [DIR]     load every script as serve would and print file:line: message per problem
  ivrouter version         print the build's version

Every serve flag can also be set with an IVROUTER_* environment variable
(--max-body is IVROUTER_MAX_BODY); a flag on the command line wins.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stderr)
	case "check":
		return check(args[1:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "ivrouter", version())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "ivrouter: unknown command %q\n%s", args[0], usage)
	return 2
}

// options are the serve flags.
type options struct {
	listen     string
	cfg        server.Config
	logLevel   slog.Level
	logFormat  string
	envNames   string
	demoCRM    string
	demoListen string
}

func parseServe(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	o := &options{cfg: server.Config{Scripts: server.DefaultScripts, Deadline: server.DefaultDeadline,
		Language: server.DefaultLanguage, MaxBody: server.DefaultMaxBody}}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", ":8080", "address to serve Voicenter requests on")
	fs.StringVar(&o.cfg.Scripts, "scripts", o.cfg.Scripts, "scripts directory: NAME.lua, layers/N.lua, lib/*.lua")
	fs.DurationVar(&o.cfg.Deadline, "deadline", o.cfg.Deadline, "time a script may take when it sets no deadline (Voicenter waits 5s)")
	fs.Func("fallback-layer", "layer answered when a script fails or overruns (default none: STATUS 1, the layer's own failover)", func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return fmt.Errorf("want a layer number, got %q", s)
		}
		o.cfg.Fallback, o.cfg.HasFallback = n, true
		return nil
	})
	fs.StringVar(&o.cfg.Language, "language", o.cfg.Language, "SAY language when a script names none: HE, EN, AR or RU")
	fs.Func("max-body", "largest request body accepted, in bytes (suffixes KiB, MiB) (default 64KiB)", func(s string) error {
		n, err := parseBytes(s)
		o.cfg.MaxBody = n
		return err
	})
	fs.IntVar(&o.cfg.VMs, "vms", 16, "Lua VMs in the pool: how many calls run at once")
	fs.Func("allow-host", "a host scripts may reach with http (repeatable; host, host:port or *.domain) (default any host)", func(s string) error {
		o.cfg.AllowHosts = append(o.cfg.AllowHosts, strings.Split(s, ",")...)
		return nil
	})
	fs.StringVar(&o.envNames, "env", defaultEnvNames, "environment variables scripts may read with env.get, comma-separated")
	fs.IntVar(&o.cfg.CacheEntries, "cache-entries", 100000, "most entries the cache module holds")
	fs.DurationVar(&o.cfg.StateTTL, "state-ttl", time.Hour, "how long a call's state lives after its last write")
	fs.StringVar(&o.demoCRM, "demo-crm", "", "also serve this JSON file as a demo CRM (see testdata/crm.json), for trying the examples")
	fs.StringVar(&o.demoListen, "demo-crm-listen", "127.0.0.1:8081", "address of the demo CRM")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn, error")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if err := applyEnv(fs, getenv); err != nil {
		return nil, err
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return nil, fmt.Errorf("--log-format: want text or json, got %q", o.logFormat)
	}
	o.cfg.ScriptEnv = scriptEnv(o.envNames, getenv)
	if o.demoCRM != "" && o.cfg.ScriptEnv["CRM_URL"] == "" {
		if _, allowed := o.cfg.ScriptEnv["CRM_URL"]; allowed {
			o.cfg.ScriptEnv["CRM_URL"] = "http://" + o.demoListen
		}
	}
	return o, nil
}

// defaultEnvNames are the settings the example scripts read.
var defaultEnvNames = strings.Join(server.DefaultScriptEnv, ",")

// scriptEnv reads the allowed names from the environment.
func scriptEnv(names string, getenv func(string) string) map[string]string {
	env := map[string]string{}
	for _, name := range strings.Split(names, ",") {
		if name = strings.TrimSpace(name); name != "" {
			env[name] = getenv(name)
		}
	}
	return env
}

// applyEnv sets each flag not given on the command line from IVROUTER_NAME.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "IVROUTER_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" && !given[f.Name] && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", env, e)
			}
		}
	})
	return err
}

func parseBytes(s string) (int, error) {
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"K", 1 << 10}, {"M", 1 << 20}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 || n > 1<<30/mult {
		return 0, fmt.Errorf("want a size like 65536 or 64KiB, got %q", s)
	}
	return n * mult, nil
}

func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	o, err := parseServe(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "ivrouter serve:", err)
		return 2
	}
	log := newLogger(stderr, o.logFormat, o.logLevel)
	o.cfg.Logger = log
	if o.demoCRM != "" {
		if err := startDemoCRM(o.demoCRM, o.demoListen, log); err != nil {
			log.Error("cannot start the demo CRM", "error", err)
			return 1
		}
	}
	srv, err := server.New(o.cfg)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			log.Error("cannot load scripts", "error", line)
		}
		return 1
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		log.Error("cannot listen", "error", err)
		return 1
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	for {
		select {
		case <-hup:
			_ = srv.Reload() // logged; the old scripts keep serving on error
		case err := <-served:
			log.Error("server stopped", "error", err)
			return 1
		case <-ctx.Done():
			log.Info("shutting down: finishing requests in flight")
			if err := srv.Shutdown(); err != nil {
				log.Error("shutdown", "error", err)
				return 1
			}
			return 0
		}
	}
}

// startDemoCRM serves a contacts file as the CRM the examples ask.
func startDemoCRM(path, addr string, log *slog.Logger) error {
	crm, err := crmstub.Load(path)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("demo CRM serving", "addr", ln.Addr().String(), "contacts", path)
	go func() {
		if err := crm.Serve(ln); err != nil {
			log.Error("demo CRM stopped", "error", err)
		}
	}()
	return nil
}

func check(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	dir := getenv("IVROUTER_SCRIPTS")
	if dir == "" {
		dir = server.DefaultScripts
	}
	if len(args) > 1 {
		fmt.Fprintln(stderr, "usage: ivrouter check [DIR]")
		return 2
	}
	if len(args) == 1 {
		dir = args[0]
	}
	start := time.Now()
	names := getenv("IVROUTER_ENV")
	if names == "" {
		names = defaultEnvNames
	}
	err := server.Check(server.Config{Scripts: dir, ScriptEnv: scriptEnv(names, getenv), Logger: newLogger(stderr, "text", slog.LevelWarn)})
	if err != nil {
		fmt.Fprintln(stdout, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (%v)\n", dir, time.Since(start).Round(time.Millisecond))
	return 0
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
