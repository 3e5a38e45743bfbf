package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ivrouter/ivrouter/bridge/cache"
	"github.com/ivrouter/ivrouter/bridge/http/crmstub"
	"github.com/ivrouter/ivrouter/bridge/state"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/lint"
	"github.com/ivrouter/ivrouter/server"
	"github.com/ivrouter/ivrouter/server/scripttest"
)

const usage = `usage:
  ivrouter serve [flags]         answer Voicenter requests with the scripts directory; SIGHUP reloads it
  ivrouter check [flags] [DIR]   load and lint every script as serve would; file:line: message per problem
  ivrouter test [flags] [DIR]    run the scripts' *.test.yaml cases offline (--run PATTERN, --junit FILE, -v)
  ivrouter version               print the build's version

check and test take serve's flags too, so they load what serve would.
Every serve flag can also be set with an IVROUTER_* environment variable
(--max-body is IVROUTER_MAX_BODY) or in a YAML file named by --config
(max-body: 64KiB). A flag on the command line wins, then the environment,
then the file. ivrouter serve --print-config shows what is in effect.
`

func run(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], env, stdout, stderr)
	case "check":
		return check(ctx, args[1:], env, stdout, stderr)
	case "test":
		return test(ctx, args[1:], env, stdout, stderr)
	case "version":
		v, rev, gov := server.Build()
		fmt.Fprintf(stdout, "ivrouter %s (revision %s, %s)\n", v, rev, gov)
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
	fs              *flag.FlagSet
	settings        *settings
	timezone        string
	listen          string
	adminListen     string
	cfg             server.Config
	fallback        layerValue
	maxBody         bytesValue
	maxHeader       bytesValue
	callMemory      bytesValue
	callLogBytes    bytesValue
	memoryLimit     bytesValue
	scriptMemory    bytesValue
	cacheBytes      bytesValue
	cacheValueBytes bytesValue
	stateBytes      bytesValue
	allowHosts      listValue
	allowIPs        listValue
	trustProxies    listValue
	logLevel        slog.Level
	logFormat       string
	envNames        string
	demoCRM         string
	demoListen      string
	shutdownTimeout time.Duration
	shutdownDelay   time.Duration
	adminPprof      bool
	configPath      string
	printConfig     bool
}

func parseServe(args []string, env lookupEnv, stderr io.Writer) (*options, error) {
	o := newOptions("serve", stderr)
	return o, o.parse(args, env, 0)
}

// newOptions declares the settings of serve, which check, test and
// simulate share so they load exactly what serve would; each command adds
// its own flags to o.fs before parse.
func newOptions(cmd string, stderr io.Writer) *options {
	o := &options{cfg: server.Config{Scripts: server.DefaultScripts, Deadline: server.DefaultDeadline,
		Language: server.DefaultLanguage}, maxBody: server.DefaultMaxBody, maxHeader: server.DefaultMaxHeaderBytes,
		callMemory: luavm.DefaultCallMemory, callLogBytes: luavm.DefaultLogBytes, memoryLimit: DefaultMemoryLimit,
		cacheBytes: cache.DefaultMaxBytes, cacheValueBytes: cache.DefaultMaxValueBytes, stateBytes: state.DefaultMaxBytes}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.fs = fs
	fs.StringVar(&o.listen, "listen", ":8080", "address to serve Voicenter requests on")
	fs.StringVar(&o.adminListen, "admin-listen", "127.0.0.1:9090", "address of /metrics, /healthz and /readyz; \"off\" for none")
	fs.StringVar(&o.cfg.Scripts, "scripts", o.cfg.Scripts, "scripts directory: NAME.lua, layers/N.lua, lib/*.lua")
	fs.DurationVar(&o.cfg.Deadline, "deadline", o.cfg.Deadline, "time a script may take when it sets no deadline (Voicenter waits 5s)")
	fs.Var(&o.fallback, "fallback-layer", "layer answered when a script fails or overruns (default none: STATUS 1, the layer's own failover)")
	fs.StringVar(&o.cfg.Language, "language", o.cfg.Language, "SAY language when a script names none: HE, EN, AR or RU")
	fs.StringVar(&o.timezone, "timezone", "", "IANA zone the time module uses when a script names none (default the machine's local zone)")
	fs.Var(&o.maxBody, "max-body", "largest request body accepted (suffixes KiB, MiB)")
	fs.IntVar(&o.cfg.VMs, "vms", 16, "Lua VMs in the pool: how many calls run at once")
	fs.Var(&o.callMemory, "call-memory", "bytes one call may allocate (strings, tables, values it hands to modules); past it the script gets a Lua error (suffixes KiB, MiB)")
	fs.IntVar(&o.cfg.LogLines, "call-log-lines", luavm.DefaultLogLines, "lines one call may write with print and log.*; the rest are counted in one line")
	fs.Var(&o.callLogBytes, "call-log-bytes", "bytes one call may write with print and log.* (suffixes KiB, MiB)")
	fs.Var(&o.memoryLimit, "memory-limit", "the process's memory budget: Go's soft limit is set to 90% of it, and the garbage collector works harder as it nears (suffixes MiB, GiB; 0 for none)")
	fs.Var(&o.scriptMemory, "script-memory", "bytes all calls in flight may allocate together beyond their first MiB each; a call past it gets a Lua error (default a quarter of --memory-limit)")
	fs.Var(&o.allowHosts, "allow-host", "a host scripts may reach with http: host or *.domain (ports 80/443 only), host:port or *.domain:port (repeatable, or comma-separated) (default any host but ivrouter's own ports and the cloud metadata address)")
	fs.StringVar(&o.envNames, "env", defaultEnvNames, "environment variables scripts may read with env.get, comma-separated")
	fs.IntVar(&o.cfg.CacheEntries, "cache-entries", 100000, "most entries the cache module holds")
	fs.Var(&o.cacheBytes, "cache-bytes", "most bytes the cache module holds (suffixes KiB, MiB)")
	fs.Var(&o.cacheValueBytes, "cache-value-bytes", "largest value the cache module stores (suffixes KiB, MiB)")
	fs.Var(&o.stateBytes, "state-bytes", "most bytes the state module holds, all calls together (suffixes KiB, MiB)")
	fs.DurationVar(&o.cfg.StateTTL, "state-ttl", time.Hour, "how long a call's state lives after its last write")
	fs.StringVar(&o.cfg.Token, "token", "", "secret every request must carry, as ?token= in the layer's URL or Authorization: Bearer (default none)")
	fs.Var(&o.allowIPs, "allow-ip", "address or CIDR calls may come from (repeatable, or comma-separated) (default any)")
	fs.Var(&o.trustProxies, "trust-proxy", "address or CIDR of a proxy whose X-Forwarded-For names the caller (repeatable)")
	fs.StringVar(&o.cfg.TLSCert, "tls-cert", "", "PEM certificate to serve HTTPS with (read again on SIGHUP)")
	fs.StringVar(&o.cfg.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.BoolVar(&o.cfg.MaskCaller, "mask-caller", false, "log only the last digits of CALLER_ID")
	fs.DurationVar(&o.cfg.ReadTimeout, "read-timeout", server.DefaultReadTimeout, "time a client has to send a whole request")
	fs.DurationVar(&o.cfg.WriteTimeout, "write-timeout", server.DefaultWriteTimeout, "time a client has to take an answer")
	fs.DurationVar(&o.cfg.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "time a keep-alive connection may wait for its next request")
	fs.Var(&o.maxHeader, "max-header-bytes", "largest request headers accepted (suffixes KiB, MiB)")
	fs.IntVar(&o.cfg.MaxConns, "max-conns", server.DefaultMaxConns, "most connections open at once; more are refused")
	fs.DurationVar(&o.shutdownDelay, "shutdown-delay", 0, "on SIGTERM, how long to keep serving with /readyz at 503, so a load balancer stops sending calls first")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGTERM, how long requests in flight may take to finish; then they get their fallback")
	fs.BoolVar(&o.adminPprof, "admin-pprof", false, "also serve Go's profiler at /debug/pprof/ on the admin listener")
	fs.StringVar(&o.demoCRM, "demo-crm", "", "also serve this JSON file as a demo CRM (see testdata/crm.json), for trying the examples")
	fs.StringVar(&o.demoListen, "demo-crm-listen", "127.0.0.1:8081", "address of the demo CRM")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log level: debug, info (a line per call), warn (failures only), error")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.configPath, "config", "", "YAML file of settings named as these flags (flag > IVROUTER_* > file > default)")
	fs.BoolVar(&o.printConfig, "print-config", false, "print the effective settings, secrets masked, and exit")
	o.settings = &settings{fs: fs, secrets: map[string]bool{"token": true}, cliOnly: map[string]bool{"config": true, "print-config": true}}
	return o
}

// parse resolves the settings from args (with up to maxArgs arguments
// after the flags), the environment and the config file.
func (o *options) parse(args []string, env lookupEnv, maxArgs int) error {
	o.settings.maxArgs = maxArgs
	if err := o.settings.resolve(args, env, &o.configPath); err != nil {
		return err
	}
	return o.finish(env)
}

// printed handles --print-config for a command that takes serve's
// settings: it prints them and says the command is done.
func (o *options) printed(stdout, stderr io.Writer) (int, bool) {
	if !o.printConfig {
		return 0, false
	}
	if err := o.settings.print(stdout); err != nil {
		fmt.Fprintf(stderr, "ivrouter %s: %v\n", o.fs.Name(), err)
		return 1, true
	}
	return 0, true
}

// DefaultMemoryLimit is Go's soft memory limit when none is set: well above
// what the router needs (tens of MiB), well below what a VM has.
const DefaultMemoryLimit = 1 << 30

// finish turns the parsed flags into the server's config.
func (o *options) finish(env lookupEnv) error {
	if o.logFormat != "text" && o.logFormat != "json" {
		return fmt.Errorf("--log-format: want text or json, got %q", o.logFormat)
	}
	if o.cfg.Token == secretMask {
		return fmt.Errorf("--token: %s is --print-config's mask, not a token: set the real one", secretMask)
	}
	if o.timezone != "" {
		loc, err := time.LoadLocation(o.timezone)
		if err != nil {
			return fmt.Errorf("--timezone: unknown zone %q", o.timezone)
		}
		o.cfg.Timezone = loc
	}
	o.cfg.Fallback, o.cfg.HasFallback = o.fallback.n, o.fallback.set
	o.cfg.MaxBody, o.cfg.MaxHeaderBytes = int(o.maxBody), int(o.maxHeader)
	o.cfg.CallMemory, o.cfg.LogBytes = int(o.callMemory), int(o.callLogBytes)
	o.cfg.SharedMemory = int(o.scriptMemory)
	if o.cfg.SharedMemory == 0 {
		o.cfg.SharedMemory = int(o.memoryLimit) / 4
	}
	o.cfg.CacheBytes, o.cfg.CacheValueBytes, o.cfg.StateBytes = int(o.cacheBytes), int(o.cacheValueBytes), int(o.stateBytes)
	o.cfg.DenyHosts = ownAddresses(o.listen, o.adminListen)
	o.cfg.AllowHosts = o.allowHosts
	var err error
	if o.cfg.AllowIPs, err = prefixes("allow-ip", o.allowIPs); err != nil {
		return err
	}
	if o.cfg.TrustProxies, err = prefixes("trust-proxy", o.trustProxies); err != nil {
		return err
	}
	o.cfg.ScriptEnv = scriptEnv(o.envNames, env)
	if o.demoCRM != "" && o.cfg.ScriptEnv["CRM_URL"] == "" {
		if _, allowed := o.cfg.ScriptEnv["CRM_URL"]; allowed {
			o.cfg.ScriptEnv["CRM_URL"] = "http://" + o.demoListen
		}
	}
	return nil
}

// ownAddresses are the router's listeners, which scripts may not reach.
func ownAddresses(addrs ...string) []string {
	var out []string
	for _, a := range addrs {
		if a != "" && a != "off" {
			out = append(out, a)
		}
	}
	return out
}

func prefixes(name string, vals []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vals {
		p, err := server.ParsePrefix(v)
		if err != nil {
			return nil, fmt.Errorf("--%s: want an address or CIDR, got %q", name, v)
		}
		out = append(out, p)
	}
	return out, nil
}

// lookupEnv reads the environment as os.LookupEnv does: a variable set to
// the empty string is set, so IVROUTER_TOKEN= clears a token from the file.
type lookupEnv func(string) (string, bool)

// defaultEnvNames are the settings the example scripts read.
var defaultEnvNames = strings.Join(server.DefaultScriptEnv, ",")

// scriptEnv reads the allowed names from the environment.
func scriptEnv(names string, env lookupEnv) map[string]string {
	vals := map[string]string{}
	for _, name := range strings.Split(names, ",") {
		if name = strings.TrimSpace(name); name != "" {
			vals[name], _ = env(name)
		}
	}
	return vals
}

func parseBytes(s string) (int, error) {
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 1<<40/mult {
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

func serve(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	o, err := parseServe(args, env, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "ivrouter serve:", err)
		return 2
	}
	// SIGHUP from the start: a reload sent while loading must not kill the
	// process (SIGHUP's default action); it is acted on once serving.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if code, done := o.printed(stdout, stderr); done {
		return code
	}
	if o.memoryLimit > 0 {
		// Go's limit counts the heap and the runtime's own memory, not the
		// binary or the C side of threads: a tenth is left for those, so
		// the process's resident size stays under --memory-limit.
		debug.SetMemoryLimit(int64(o.memoryLimit) / 10 * 9)
	}
	logw := newLogWriter(stderr)
	defer logw.Close()
	log := newLogger(logw, o.logFormat, o.logLevel)
	o.cfg.Logger = log
	o.cfg.CallLog, o.cfg.CallLogJSON = logw, o.logFormat == "json"
	if o.demoCRM != "" {
		if err := startDemoCRM(o.demoCRM, o.demoListen, log); err != nil {
			log.Error("cannot start the demo CRM", "error", err)
			return 1
		}
	}
	srv, err := server.New(o.cfg)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			log.Error("cannot start", "error", line)
		}
		return 1
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		log.Error("cannot listen", "error", err)
		return 1
	}
	admin, err := startAdmin(o.adminListen, srv.AdminHandler(o.adminPprof), log)
	if err != nil {
		log.Error("cannot listen for admin", "error", err)
		return 1
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	for {
		select {
		case <-hup:
			_ = srv.Reload() // logged; what serves keeps serving on error
		case err := <-served:
			log.Error("server stopped", "error", err)
			return 1
		case <-ctx.Done():
			return shutdown(srv, admin, o.shutdownDelay, o.shutdownTimeout, log)
		}
	}
}

// shutdown drains for delay (serving, /readyz at 503), then lets the
// requests in flight finish, bounded by timeout; the admin listener stays up
// meanwhile, so /readyz reports the drain.
func shutdown(srv *server.Server, admin *http.Server, delay, timeout time.Duration, log *slog.Logger) int {
	if delay > 0 {
		log.Info("draining: /readyz reports 503, calls still answered", "for", delay)
		srv.Drain()
		time.Sleep(delay)
	}
	log.Info("shutting down: finishing requests in flight", "timeout", timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("shutdown", "error", err)
	}
	if admin != nil {
		admin.Close()
	}
	log.Info("stopped")
	return 0
}

// startAdmin serves the admin endpoints on addr, unless it is "off".
func startAdmin(addr string, handler http.Handler, log *slog.Logger) (*http.Server, error) {
	if addr == "" || addr == "off" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	h := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	log.Info("admin serving", "addr", ln.Addr().String())
	go func() {
		if err := h.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin stopped", "error", err)
		}
	}()
	return h, nil
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

// check loads the scripts as serve would (the same flags, IVROUTER_*
// variables and --config) and lints them; exit 1 on errors, and on
// warnings too with --strict.
func check(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	o := newOptions("check", stderr)
	strict := o.fs.Bool("strict", false, "exit 1 on warnings too")
	ownUsage(o.fs, "check [flags] [DIR]", "strict")
	if err := o.parse(args, env, 1); err != nil {
		return usageError("check", err, stderr)
	}
	if code, done := o.printed(stdout, stderr); done {
		return code
	}
	if o.fs.NArg() == 1 {
		o.cfg.Scripts = o.fs.Arg(0)
	}
	start := time.Now()
	o.cfg.Logger = newLogger(stderr, "text", slog.LevelError)
	var diags []lint.Diagnostic
	err := interruptible(ctx, func() (err error) {
		diags, err = server.Check(o.cfg)
		return err
	})
	if err != nil {
		fmt.Fprintln(stdout, err)
		return 1
	}
	errs, warns := 0, 0
	for _, d := range diags {
		fmt.Fprintln(stdout, d)
		if d.Severity == lint.Error {
			errs++
		} else {
			warns++
		}
	}
	switch {
	case errs > 0 || (*strict && warns > 0):
		fmt.Fprintf(stderr, "%s: %d errors, %d warnings\n", o.cfg.Scripts, errs, warns)
		return 1
	case warns > 0:
		fmt.Fprintf(stdout, "%s: ok, %d warnings (%v)\n", o.cfg.Scripts, warns, time.Since(start).Round(time.Millisecond))
	default:
		fmt.Fprintf(stdout, "%s: ok (%v)\n", o.cfg.Scripts, time.Since(start).Round(time.Millisecond))
	}
	return 0
}

// test runs the scripts' test cases (*.test.yaml) against the scripts
// loaded as serve would load them, offline.
func test(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	o := newOptions("test", stderr)
	runPattern := o.fs.String("run", "", "run only the cases whose \"file/case name\" matches this regular expression")
	junit := o.fs.String("junit", "", "also write the results as JUnit XML to this file")
	verbose := o.fs.Bool("v", false, "list every case, not only failures")
	ownUsage(o.fs, "test [flags] [DIR]", "run", "junit", "v")
	if err := o.parse(args, env, 1); err != nil {
		return usageError("test", err, stderr)
	}
	if code, done := o.printed(stdout, stderr); done {
		return code
	}
	if o.fs.NArg() == 1 {
		o.cfg.Scripts = o.fs.Arg(0)
	}
	var opts scripttest.Options
	if *runPattern != "" {
		re, err := regexp.Compile(*runPattern)
		if err != nil {
			fmt.Fprintln(stderr, "ivrouter test: --run:", err)
			return 2
		}
		opts.Run = re
	}
	opts.Verbose = *verbose
	var report *scripttest.Report
	err := interruptible(ctx, func() (err error) {
		report, err = scripttest.Run(ctx, o.cfg.Scripts, o.cfg, opts)
		return err
	})
	if err != nil {
		fmt.Fprintln(stderr, "ivrouter test:", err)
		return 1
	}
	report.Print(stdout, *verbose)
	if *junit != "" {
		if err := writeJUnit(*junit, report); err != nil {
			fmt.Fprintln(stderr, "ivrouter test: --junit:", err)
			return 1
		}
	}
	if report.Failed() > 0 {
		return 1
	}
	return 0
}

func writeJUnit(path string, r *scripttest.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.WriteJUnit(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// interruptible runs f, giving up when ctx ends (SIGINT, SIGTERM): a
// load stuck on a hostile file must not hold the terminal.
func interruptible(ctx context.Context, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return errors.New("interrupted")
	}
}

// ownUsage prints a command's own flags, and names serve's settings
// without listing them: check and test take them so they load what serve
// would, but --listen or --admin-listen mean nothing there.
func ownUsage(fs *flag.FlagSet, synopsis string, own ...string) {
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: ivrouter %s\n", synopsis)
		for _, name := range own {
			f := fs.Lookup(name)
			fmt.Fprintf(w, "  -%s\n    \t%s\n", f.Name, f.Usage)
		}
		fmt.Fprintln(w, "\nIt also takes serve's settings (flags, IVROUTER_* variables, --config),\nso it loads the scripts as serve would: see ivrouter serve -h.")
	}
}

// usageError reports a command's bad arguments: exit 0 for -h, else 2.
func usageError(cmd string, err error, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "ivrouter %s: %v\n", cmd, err)
	return 2
}
