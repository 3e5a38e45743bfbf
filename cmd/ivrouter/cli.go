package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/ivrouter/ivrouter/bridge/cache"
	"github.com/ivrouter/ivrouter/bridge/http/crmstub"
	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/bridge/state"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/lint"
	"github.com/ivrouter/ivrouter/server"
	"github.com/ivrouter/ivrouter/server/console"
	"github.com/ivrouter/ivrouter/server/scripttest"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const rootLong = `ivrouter answers Voicenter's External Layer IVR requests with routing
decisions written in Lua.

check, test, simulate, reload and cache take serve's settings too, so they
load and answer what serve would and find its admin listener. Every setting
can also be set with an IVROUTER_* environment variable (--max-body is
IVROUTER_MAX_BODY) or in a YAML file named by --config (max-body: 64KiB). A
flag on the command line wins, then the environment, then the file.
ivrouter serve --print-config shows what is in effect; ivrouter help COMMAND
lists each command's flags.`

// run is the whole command line: it returns the exit code, 2 for bad
// usage.
func run(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	root := newRoot(ctx, env, stdout, stderr)
	root.SetArgs(longDashes(root, args))
	cmd, err := root.ExecuteC()
	var code exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(stderr, "%s: %s\n", cmd.CommandPath(), line)
	}
	fmt.Fprintf(stderr, "See '%s --help'.\n", cmd.CommandPath())
	return 2
}

// exitCode ends a command that has said what went wrong itself.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

func newRoot(ctx context.Context, env lookupEnv, stdout, stderr io.Writer) *cobra.Command {
	v, rev, gov := server.Build()
	root := &cobra.Command{
		Use:           "ivrouter",
		Short:         "answer Voicenter's External Layer IVR requests with routing decisions written in Lua",
		Long:          rootLong,
		Version:       fmt.Sprintf("%s (revision %s, %s)", v, rev, gov),
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprint(stderr, c.UsageString())
			return exitCode(2)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("ivrouter {{.Version}}\n")
	root.SetUsageTemplate(usageTemplate)
	root.SetFlagErrorFunc(flagError)
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(serveCmd(ctx, env, stdout, stderr), checkCmd(ctx, env, stdout, stderr), testCmd(ctx, env, stdout, stderr),
		simulateCmd(ctx, env, stdout, stderr), reloadCmd(ctx, env, stdout, stderr), cacheCmd(ctx, env, stdout, stderr),
		&cobra.Command{
			Use:   "version",
			Short: "print the build's version",
			Args:  noArgs,
			Run:   func(*cobra.Command, []string) { fmt.Fprintf(stdout, "ivrouter %s\n", root.Version) },
		})
	return root
}

// flagError says what a bad flag value should have been:
// --deadline: "2" is not a duration (use 2s, 500ms); and which flag an
// unknown one may have meant.
func flagError(c *cobra.Command, err error) error {
	var unknown *pflag.NotExistError
	if errors.As(err, &unknown) && len(unknown.GetSpecifiedName()) > 1 {
		if near := nearestFlag(c.Flags(), unknown.GetSpecifiedName()); near != "" {
			return fmt.Errorf("%w (did you mean --%s?)", err, near)
		}
	}
	var bad *pflag.InvalidValueError
	if errors.As(err, &bad) {
		return fmt.Errorf("--%s: %w", bad.GetFlag().Name, bad.Unwrap())
	}
	var missing *pflag.ValueRequiredError
	if errors.As(err, &missing) {
		return fmt.Errorf("--%s needs a value", missing.GetFlag().Name)
	}
	return err
}

// nearestFlag is the visible flag of fs that name most likely meant, or "".
func nearestFlag(fs *pflag.FlagSet, name string) string {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	return lint.Closest(name, names)
}

// noArgs and maxOneArg check a command's arguments after its flags.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(args, " "))
	}
	return nil
}

func maxOneArg(_ *cobra.Command, args []string) error {
	if len(args) > 1 {
		return fmt.Errorf("unexpected arguments: %s (one directory at most)", strings.Join(args[1:], " "))
	}
	return nil
}

// longDashes turns the single-dash long flags of earlier versions
// (-deadline 2s, -print-config) into pflag's --deadline; one-letter flags
// (-h, -v) are pflag's shorthands already. It stops at "--".
func longDashes(root *cobra.Command, args []string) []string {
	takesValue := map[string]bool{"help": false, "version": false}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { takesValue[f.Name] = f.NoOptDefVal == "" })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	out := make([]string, 0, len(args))
	value := false // args[i] is the value of the flag before it
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if value {
			value = false
			out = append(out, a)
			continue
		}
		if strings.HasPrefix(a, "-") && len(a) > 2 {
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if tv, known := takesValue[name]; known && len(name) > 1 {
				if !strings.HasPrefix(a, "--") {
					a = "-" + a
				}
				value = tv && !hasValue
			}
		}
		out = append(out, a)
	}
	return out
}

// options are serve's settings, which every command takes: check and test
// so they load exactly what serve would, reload and cache to find serve's
// admin listener and its token.
type options struct {
	settings        *settings
	timezone        string
	listen          string
	adminListen     string
	adminToken      string
	pidFile         string
	cfg             server.Config
	fallback        layerValue
	maxBody         bytesValue
	maxHeader       bytesValue
	callMemory      bytesValue
	callLogBytes    bytesValue
	memoryLimit     bytesValue
	scriptMemory    bytesValue
	cacheBytes      bytesValue
	consoleCalls    int
	consoleBytes    bytesValue
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

// flags adds settings to a command's flag set, annotated with their kind.
type flags struct{ fs *pflag.FlagSet }

func (fl flags) add(kind string, v pflag.Value, name, usage string) *pflag.Flag {
	return fl.addP(kind, v, name, "", usage)
}

// addP is add with a one-letter shorthand (-v).
func (fl flags) addP(kind string, v pflag.Value, name, shorthand, usage string) *pflag.Flag {
	f := fl.fs.VarPF(v, name, shorthand, usage)
	f.Annotations = map[string][]string{kindKey: {kind}}
	if _, ok := v.(boolValue); ok {
		f.NoOptDefVal = "true"
	}
	return f
}

func (fl flags) str(kind string, p *string, name, def, usage string) *pflag.Flag {
	*p = def
	return fl.add(kind, stringValue{p}, name, usage)
}

func (fl flags) integer(kind string, p *int, name string, def int, usage string) *pflag.Flag {
	*p = def
	return fl.add(kind, intValue{p}, name, usage)
}

func (fl flags) boolean(kind string, p *bool, name string, def bool, usage string) *pflag.Flag {
	*p = def
	return fl.add(kind, boolValue{p}, name, usage)
}

func (fl flags) duration(kind string, p *time.Duration, name string, def time.Duration, usage string) *pflag.Flag {
	*p = def
	return fl.add(kind, durationValue{p}, name, usage)
}

// newOptions declares serve's settings on cmd.
func newOptions(cmd *cobra.Command) *options {
	o := &options{maxBody: server.DefaultMaxBody, maxHeader: server.DefaultMaxHeaderBytes,
		callMemory: luavm.DefaultCallMemory, callLogBytes: luavm.DefaultLogBytes, memoryLimit: DefaultMemoryLimit,
		cacheBytes: cache.DefaultMaxBytes, cacheValueBytes: cache.DefaultMaxValueBytes, stateBytes: state.DefaultMaxBytes,
		consoleBytes: console.DefaultBytes}
	fs := cmd.Flags()
	fl, s := flags{fs}, kindServe
	fl.str(s, &o.listen, "listen", ":8080", "address to serve Voicenter requests on")
	fl.str(s, &o.adminListen, "admin-listen", "127.0.0.1:9090", "address of /metrics, /healthz, /readyz, the console (/console/), POST /-/reload and POST /-/cache/flush; \"off\" for none")
	fl.str(s, &o.adminToken, "admin-token", "", "secret the admin listener's write endpoints (/-/reload, /-/cache/flush) and console (/console/) need, as Authorization: Bearer or ?token= (default --token; with neither, they answer loopback clients only)").Annotations[secretKey] = []string{"true"}
	fl.str(s, &o.pidFile, "pid-file", "", "write the process ID to this file once listening, and remove it on exit")
	fl.str(s, &o.cfg.Scripts, "scripts", server.DefaultScripts, "scripts directory: NAME.lua, layers/N.lua, lib/*.lua")
	fl.duration(s, &o.cfg.Deadline, "deadline", server.DefaultDeadline, "time a script may take when it sets no deadline: under 5s, when Voicenter gives up")
	fl.add(s, &o.fallback, "fallback-layer", "layer answered when a script fails or overruns (default none: STATUS 1, the layer's own failover)")
	fl.str(s, &o.cfg.Language, "language", server.DefaultLanguage, "SAY language when a script names none: "+strings.Join(ivr.Languages, ", "))
	fl.str(s, &o.timezone, "timezone", "", "IANA zone the time module uses when a script names none (default the machine's local zone)")
	fl.add(s, &o.maxBody, "max-body", "largest request body accepted (suffixes KiB, MiB)")
	fl.integer(s, &o.cfg.VMs, "vms", 16, "Lua VMs in the pool: how many calls run at once")
	fl.boolean(s, &o.cfg.HandOff, "hand-off", false, "run each call on a VM's own goroutine instead of the connection's: about a tenth more CPU per call; the deadline holds either way")
	fl.add(s, &o.callMemory, "call-memory", "bytes one call may allocate (strings, tables, values it hands to modules); past it the script gets a Lua error (suffixes KiB, MiB)")
	fl.integer(s, &o.cfg.LogLines, "call-log-lines", luavm.DefaultLogLines, "lines one call may write with print and log.*; the rest are counted in one line")
	fl.add(s, &o.callLogBytes, "call-log-bytes", "bytes one call may write with print and log.* (suffixes KiB, MiB)")
	fl.add(s, &o.memoryLimit, "memory-limit", "the process's memory budget: Go's soft limit is set to 90% of it, and the garbage collector works harder as it nears (suffixes MiB, GiB; 0 for none)")
	fl.add(s, &o.scriptMemory, "script-memory", "bytes all calls in flight may allocate together beyond their first MiB each; a call past it gets a Lua error (default a quarter of --memory-limit)")
	fl.add(s, &o.allowHosts, "allow-host", "a host scripts may reach with http: host or *.domain (ports 80/443 only), host:port or *.domain:port (repeatable, or comma-separated) (default any host but ivrouter's own ports and the cloud metadata address)")
	fl.str(s, &o.envNames, "env", defaultEnvNames, "environment variables scripts may read with env.get, comma-separated")
	fl.integer(s, &o.cfg.CacheEntries, "cache-entries", cache.DefaultMaxEntries, "most entries the cache module holds")
	fl.add(s, &o.cacheBytes, "cache-bytes", "most bytes the cache module holds (suffixes KiB, MiB)")
	fl.add(s, &o.cacheValueBytes, "cache-value-bytes", "largest value the cache module stores (suffixes KiB, MiB)")
	fl.add(s, &o.stateBytes, "state-bytes", "most bytes the state module holds, all calls together (suffixes KiB, MiB)")
	fl.duration(s, &o.cfg.StateTTL, "state-ttl", time.Hour, "how long a call's state lives after its last write")
	addStoreFlags(fl, s, o)
	fl.str(s, &o.cfg.Token, "token", "", "secret every request must carry, as ?token= in the layer's URL or Authorization: Bearer (default none)").Annotations[secretKey] = []string{"true"}
	fl.add(s, &o.allowIPs, "allow-ip", "address or CIDR calls may come from (repeatable, or comma-separated) (default any)")
	fl.add(s, &o.trustProxies, "trust-proxy", "address or CIDR of a proxy whose X-Forwarded-For names the caller (repeatable)")
	fl.str(s, &o.cfg.TLSCert, "tls-cert", "", "PEM certificate to serve HTTPS with (read again on reload)")
	fl.str(s, &o.cfg.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	fl.boolean(s, &o.cfg.MaskCaller, "mask-caller", false, "log only the last digits of CALLER_ID")
	fl.duration(s, &o.cfg.ReadTimeout, "read-timeout", server.DefaultReadTimeout, "time a client has to send a whole request")
	fl.duration(s, &o.cfg.WriteTimeout, "write-timeout", server.DefaultWriteTimeout, "time a client has to take an answer")
	fl.duration(s, &o.cfg.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "time a keep-alive connection may wait for its next request")
	fl.add(s, &o.maxHeader, "max-header-bytes", "largest request headers accepted (suffixes KiB, MiB)")
	fl.integer(s, &o.cfg.MaxConns, "max-conns", server.DefaultMaxConns, "most connections open at once; more are refused")
	fl.duration(s, &o.shutdownDelay, "shutdown-delay", 0, "on SIGTERM, how long to keep serving with /readyz at 503, so a load balancer stops sending calls first")
	fl.duration(s, &o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGTERM, how long requests in flight may take to finish; then they get their fallback")
	fl.integer(s, &o.consoleCalls, "console-calls", console.DefaultCalls, "recent calls the admin listener's console (/console/) keeps, grouped by IVR_UNIQUE_ID; 0 turns the console off")
	fl.add(s, &o.consoleBytes, "console-bytes", "most bytes the console's recent calls hold (suffixes KiB, MiB)")
	fl.boolean(s, &o.adminPprof, "admin-pprof", false, "also serve Go's profiler at /debug/pprof/ on the admin listener")
	fl.str(s, &o.demoCRM, "demo-crm", "", "also serve this JSON file as a demo CRM (see testdata/crm.json), for trying the examples")
	fl.str(s, &o.demoListen, "demo-crm-listen", "127.0.0.1:8081", "address of the demo CRM")
	o.logLevel = slog.LevelInfo
	fl.add(s, levelValue{&o.logLevel}, "log-level", "log level: debug, info (a line per call), warn (failures only), error")
	fl.str(s, &o.logFormat, "log-format", "text", "log format: text or json")
	fl.str(kindOwn, &o.configPath, "config", "", "YAML file of settings named as these flags (flag > IVROUTER_* > file > default)")
	fl.boolean(kindFlagOnly, &o.printConfig, "print-config", false, "print the effective settings, secrets masked, and exit")
	o.settings = &settings{fs: fs}
	return o
}

// resolve fills the settings the command line left from the environment
// and the config file, then checks them all and turns them into the
// server's config: every command refuses what serve would.
func (o *options) resolve(env lookupEnv) error {
	if err := o.settings.resolve(env); err != nil {
		return err
	}
	return o.finish(env)
}

// printed handles --print-config: it prints the settings and says the
// command is done.
func (o *options) printed(cmd string, stdout, stderr io.Writer) (int, bool) {
	if !o.printConfig {
		return 0, false
	}
	if err := o.settings.print(stdout); err != nil {
		fmt.Fprintf(stderr, "ivrouter %s: %v\n", cmd, err)
		return 1, true
	}
	return 0, true
}

// DefaultMemoryLimit is Go's soft memory limit when none is set: well above
// what the router needs (tens of MiB), well below what a VM has.
const DefaultMemoryLimit = 1 << 30

// finish checks the settings and turns them into the server's config. Each
// problem is blamed on where its value came from: --deadline,
// IVROUTER_DEADLINE or ivrouter.yaml:7: deadline.
func (o *options) finish(env lookupEnv) error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", o.settings.blame(name), fmt.Sprintf(format, args...)))
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		bad("log-format", "%q is not a log format (use text or json)", o.logFormat)
	}
	for _, t := range []struct{ name, v string }{{"token", o.cfg.Token}, {"admin-token", o.adminToken}} {
		if t.v == secretMask {
			bad(t.name, "%s is --print-config's mask, not a token: set the real one", secretMask)
		}
	}
	if d := o.cfg.Deadline; d <= 0 || d >= luavm.MaxDeadline {
		bad("deadline", "%v is not under %v: Voicenter gives up on an answer at %v, so a deadline must be more than 0 and less than that (default %v)",
			d, luavm.MaxDeadline, luavm.MaxDeadline, server.DefaultDeadline)
	}
	if _, err := ivr.New(ivr.Options{Language: o.cfg.Language}); err != nil || o.cfg.Language == "" {
		bad("language", "%q is not a language (use %s)", o.cfg.Language, strings.Join(ivr.Languages, ", "))
	}
	if o.timezone != "" {
		loc, err := time.LoadLocation(o.timezone)
		if err != nil {
			bad("timezone", "%q is not a time zone this machine knows (use an IANA name like Asia/Jerusalem)", o.timezone)
		}
		o.cfg.Timezone = loc
	}
	for _, a := range []struct{ name, addr string }{{"listen", o.listen}, {"admin-listen", o.adminListen}, {"demo-crm-listen", o.demoListen}} {
		if a.name == "admin-listen" && (a.addr == "off" || a.addr == "") {
			continue
		}
		if _, port, err := net.SplitHostPort(a.addr); err != nil {
			bad(a.name, "%q is not an address (use host:port, or :port for every address)", a.addr)
		} else if _, err := net.LookupPort("tcp", port); err != nil {
			bad(a.name, "%q: %q is not a port", a.addr, port)
		}
	}
	if (o.cfg.TLSCert == "") != (o.cfg.TLSKey == "") {
		name := "tls-cert"
		if o.cfg.TLSCert == "" {
			name = "tls-key"
		}
		bad(name, "TLS needs both --tls-cert and --tls-key")
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"vms", o.cfg.VMs}, {"cache-entries", o.cfg.CacheEntries}, {"call-log-lines", o.cfg.LogLines}, {"max-conns", o.cfg.MaxConns},
		{"max-body", int(o.maxBody)}, {"max-header-bytes", int(o.maxHeader)}, {"call-memory", int(o.callMemory)},
		{"call-log-bytes", int(o.callLogBytes)}, {"cache-bytes", int(o.cacheBytes)}, {"cache-value-bytes", int(o.cacheValueBytes)},
		{"state-bytes", int(o.stateBytes)}, {"console-bytes", int(o.consoleBytes)}} {
		if n.v <= 0 {
			bad(n.name, "want 1 or more, got %d", n.v)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"state-ttl", o.cfg.StateTTL}, {"read-timeout", o.cfg.ReadTimeout}, {"write-timeout", o.cfg.WriteTimeout}, {"idle-timeout", o.cfg.IdleTimeout}} {
		if d.v <= 0 {
			bad(d.name, "want a duration over 0, got %v", d.v)
		}
	}
	if o.consoleCalls < 0 {
		bad("console-calls", "want 0 (off) or more, got %d", o.consoleCalls)
	}
	o.cfg.ConsoleCalls, o.cfg.ConsoleBytes = o.consoleCalls, int(o.consoleBytes)
	if o.consoleCalls == 0 {
		o.cfg.ConsoleCalls = -1
	}
	o.checkStore(bad)
	o.cfg.AdminToken = o.adminToken
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
	if o.cfg.AllowIPs, err = o.prefixes("allow-ip", o.allowIPs); err != nil {
		errs = append(errs, err)
	}
	if o.cfg.TrustProxies, err = o.prefixes("trust-proxy", o.trustProxies); err != nil {
		errs = append(errs, err)
	}
	o.cfg.ScriptEnv = scriptEnv(o.envNames, env)
	if o.demoCRM != "" && o.cfg.ScriptEnv["CRM_URL"] == "" {
		if _, allowed := o.cfg.ScriptEnv["CRM_URL"]; allowed {
			o.cfg.ScriptEnv["CRM_URL"] = "http://" + o.demoListen
		}
	}
	return errors.Join(errs...)
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

func (o *options) prefixes(name string, vals []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vals {
		p, err := server.ParsePrefix(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an address or CIDR (use 192.0.2.1 or 192.0.2.0/24)", o.settings.blame(name), v)
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

func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// settingsCommand is a command taking serve's settings: its RunE resolves
// them (a bad one is a usage error, exit 2), handles --print-config, then
// runs body with the positional arguments and returns its exit code.
func settingsCommand(cmd *cobra.Command, env lookupEnv, stdout, stderr io.Writer, body func(o *options, args []string) int) *options {
	o := newOptions(cmd)
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if err := o.resolve(env); err != nil {
			return err
		}
		if code, done := o.printed(c.Name(), stdout, stderr); done {
			return exitCode(code)
		}
		if code := body(o, args); code != 0 {
			return exitCode(code)
		}
		return nil
	}
	return o
}

func serveCmd(ctx context.Context, env lookupEnv, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "answer Voicenter's requests with the scripts directory",
		Long: `serve answers Voicenter's External Layer requests with the scripts directory.

SIGHUP, or ivrouter reload (POST /-/reload on the admin listener), reloads the
scripts and the TLS certificate; the scripts loaded before keep serving if
the new ones fail to load. SIGTERM finishes the calls in flight, then exits.`,
		Args: noArgs,
	}
	settingsCommand(cmd, env, stdout, stderr, func(o *options, _ []string) int { return serve(ctx, o, stderr) })
	return cmd
}

func serve(ctx context.Context, o *options, stderr io.Writer) int {
	// SIGHUP from the start: a reload sent while loading must not kill the
	// process (SIGHUP's default action); it is acted on once serving.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
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
	if o.pidFile != "" {
		if err := writePIDFile(o.pidFile); err != nil {
			log.Error("cannot write the PID file", "error", err)
			return 1
		}
		defer os.Remove(o.pidFile)
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

// writePIDFile writes this process's ID to path, whole or not at all.
func writePIDFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ivrouter-pid-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing to remove
	if _, err := fmt.Fprintf(tmp, "%d\n", os.Getpid()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
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

// checkCmd loads the scripts as serve would (the same flags, IVROUTER_*
// variables and --config) and lints them; exit 1 on errors, and on
// warnings too with --strict.
func checkCmd(ctx context.Context, env lookupEnv, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check [flags] [DIR]",
		Short: "load and lint every script as serve would; file:line: message per problem",
		Long: `check loads every script of DIR (default --scripts) as serve would, and
lints them: one file:line: message per problem. It exits 1 on errors, and on
warnings too with --strict.`,
		Args:        maxOneArg,
		Annotations: map[string]string{sharedTitle: "Serve's settings (check loads the scripts as serve would)"},
	}
	var strict bool
	flags{cmd.Flags()}.boolean(kindOwn, &strict, "strict", false, "exit 1 on warnings too")
	settingsCommand(cmd, env, stdout, stderr, func(o *options, args []string) int {
		if len(args) == 1 {
			o.cfg.Scripts = args[0]
		}
		return check(ctx, o, strict, stdout, stderr)
	})
	return cmd
}

func check(ctx context.Context, o *options, strict bool, stdout, stderr io.Writer) int {
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
	case errs > 0 || (strict && warns > 0):
		fmt.Fprintf(stderr, "%s: %d errors, %d warnings\n", o.cfg.Scripts, errs, warns)
		return 1
	case warns > 0:
		fmt.Fprintf(stdout, "%s: ok, %d warnings (%v)\n", o.cfg.Scripts, warns, time.Since(start).Round(time.Millisecond))
	default:
		fmt.Fprintf(stdout, "%s: ok (%v)\n", o.cfg.Scripts, time.Since(start).Round(time.Millisecond))
	}
	return 0
}

// testCmd runs the scripts' test cases (*.test.yaml) against the scripts
// loaded as serve would load them, offline.
func testCmd(ctx context.Context, env lookupEnv, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "test [flags] [DIR]",
		Short: "run the scripts' *.test.yaml cases offline",
		Long: `test runs the *.test.yaml cases of DIR (default --scripts) against the
scripts loaded as serve would load them, offline: http requests go to each
case's stubs. It exits 1 on a failure.`,
		Args:        maxOneArg,
		Annotations: map[string]string{sharedTitle: "Serve's settings (test loads the scripts as serve would)"},
	}
	var runPattern, junit string
	var verbose bool
	fl := flags{cmd.Flags()}
	fl.str(kindOwn, &runPattern, "run", "", "run only the cases whose \"file/case name\" matches this regular expression")
	fl.str(kindOwn, &junit, "junit", "", "also write the results as JUnit XML to this file")
	fl.addP(kindOwn, boolValue{&verbose}, "verbose", "v", "list every case, not only failures")
	cmd.Flags().SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "v" { // the flag's name before 0.x: --v
			name = "verbose"
		}
		return pflag.NormalizedName(name)
	})
	settingsCommand(cmd, env, stdout, stderr, func(o *options, args []string) int {
		if len(args) == 1 {
			o.cfg.Scripts = args[0]
		}
		var opts scripttest.Options
		if runPattern != "" {
			re, err := regexp.Compile(runPattern)
			if err != nil {
				fmt.Fprintln(stderr, "ivrouter test: --run:", err)
				return 2
			}
			opts.Run = re
		}
		opts.Verbose = verbose
		return test(ctx, o, opts, junit, stdout, stderr)
	})
	return cmd
}

func test(ctx context.Context, o *options, opts scripttest.Options, junit string, stdout, stderr io.Writer) int {
	var report *scripttest.Report
	err := interruptible(ctx, func() (err error) {
		report, err = scripttest.Run(ctx, o.cfg.Scripts, o.cfg, opts)
		return err
	})
	if err != nil {
		fmt.Fprintln(stderr, "ivrouter test:", err)
		return 1
	}
	report.Print(stdout, opts.Verbose)
	if junit != "" {
		if err := writeJUnit(junit, report); err != nil {
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
