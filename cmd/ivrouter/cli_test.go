package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func writeFile(t *testing.T, path, src string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func noenv(string) (string, bool) { return "", false }

// parseServe parses serve's command line as run would, and resolves its
// settings from env and the config file.
func parseServe(args []string, env lookupEnv, _ io.Writer) (*options, error) {
	cmd := &cobra.Command{Use: "serve"}
	o := newOptions(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		return o, flagError(cmd, err)
	}
	return o, o.resolve(env)
}

// envOf is an environment holding m.
func envOf(m map[string]string) lookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestCheck(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check", "../../scripts"}, noenv, &out, &errb); code != 0 {
		t.Fatalf("bundled scripts: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !regexp.MustCompile(`^\.\./\.\./scripts: ok \(\S+\)\n$`).MatchString(out.String()) {
		t.Errorf("bundled scripts, want ok with no warnings: %q", out.String())
	}

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.lua"), "return function(call)\n  return ivr.go_to_layer(\nend")
	writeFile(t, filepath.Join(dir, "layers", "x.lua"), "return function() return ivr.go_to_layer(1) end")
	out.Reset()
	if code := run(context.Background(), []string{"check", dir}, noenv, &out, &errb); code != 1 {
		t.Fatalf("broken scripts: exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one line per problem, got:\n%s", out.String())
	}
	for _, line := range lines {
		if !regexp.MustCompile(`^\S+\.lua(:\d+)*: .+`).MatchString(line) {
			t.Errorf("line is not file:line: message: %q", line)
		}
	}
	if !strings.Contains(out.String(), filepath.Join(dir, "a.lua")+":3:") {
		t.Errorf("syntax error not at a.lua:3:\n%s", out.String())
	}
}

// TestCheckFindsHandlerBugs: the mistakes that loading cannot see, each
// reported with its file:line in one run, across files.
func TestCheckFindsHandlerBugs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.lua"), `local http = require("http")
return function(call)
  if call.dtmf == "1" then
    return ivr.go_to_layr(3)
  end
  if call.dtmf == "2" then
    return ivr.dial(ivr.phone("0501234567"), { caller_nmae = "Dana" })
  end
  if calll.dtmf == "3" then
    return "12"
  end
  local res = http.gett("http://crm.example.com")
  return ivr.say({ ivr.number(1) }, { language = "HE" })
end
`)
	writeFile(t, filepath.Join(dir, "b.lua"), `local crm = require("lib.nosuch")
return function(call)
  if call.dtmf == "1" then
    return ivr.go_to_layer(2)
  end
end
`)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check", dir}, noenv, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"a.lua:4: unknown function ivr.go_to_layr",
		`a.lua:7: ivr.dial: unknown option "caller_nmae"`,
		`a.lua:9: warning: unknown global "calll"`,
		"a.lua:10: handler returns a string",
		"a.lua:12: unknown function http.gett",
		"a.lua:13: ivr.say: option next_layer is required",
		`b.lua:1: require: module "lib.nosuch"`,
		"b.lua:6: warning: handler can reach its end without returning an action",
	} {
		if !strings.Contains(out.String(), filepath.Join(dir, want)) && !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
}

// TestCheckWarnsOfUnsetSecrets: a script that cannot load only because an
// allowed variable is unset (as in CI) is a warning; --strict fails on it.
func TestCheckWarnsOfUnsetSecrets(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.lua"), `local env = require("env")
local TOKEN = assert(env.get("CRM_TOKEN"), "CRM_TOKEN must be set")
return function(call) return ivr.go_to_layer(2) end
`)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check", dir}, noenv, &out, &errb); code != 0 {
		t.Fatalf("exit %d, want 0\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "warning:") || !strings.Contains(out.String(), "CRM_TOKEN") {
		t.Errorf("no warning naming CRM_TOKEN:\n%s", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"check", "--strict", dir}, noenv, &out, &errb); code != 1 {
		t.Errorf("--strict: exit %d, want 1\n%s", code, out.String())
	}
	out.Reset()
	set := envOf(map[string]string{"CRM_TOKEN": "s3cret"})
	if code := run(context.Background(), []string{"check", "--strict", dir}, set, &out, &errb); code != 0 {
		t.Errorf("with CRM_TOKEN set: exit %d, want 0\n%s", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"check", "--env", "OTHER", dir}, noenv, &out, &errb); code != 1 {
		t.Errorf("CRM_TOKEN not allowed (serve's --env): exit %d, want 1\n%s", code, out.String())
	}
}

func TestFlagsEnvironmentAndDefaults(t *testing.T) {
	env := envOf
	o, err := parseServe(nil, noenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.listen != ":8080" || o.cfg.Scripts != "./scripts" || o.cfg.Deadline != 3*time.Second || o.cfg.HasFallback ||
		o.cfg.Language != "EN" || o.cfg.MaxBody != 64<<10 {
		t.Errorf("defaults: %+v", o)
	}
	o, err = parseServe([]string{"--deadline", "2s"}, env(map[string]string{
		"IVROUTER_DEADLINE": "1s", "IVROUTER_FALLBACK_LAYER": "13", "IVROUTER_MAX_BODY": "8KiB", "IVROUTER_LANGUAGE": "HE",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.Deadline != 2*time.Second {
		t.Errorf("flag should beat environment: deadline %v", o.cfg.Deadline)
	}
	if !o.cfg.HasFallback || o.cfg.Fallback != 13 || o.cfg.MaxBody != 8<<10 || o.cfg.Language != "HE" {
		t.Errorf("environment not applied: %+v", o.cfg)
	}
	if _, err := parseServe(nil, env(map[string]string{"IVROUTER_FALLBACK_LAYER": "x"}), io.Discard); err == nil || !strings.Contains(err.Error(), "IVROUTER_FALLBACK_LAYER") {
		t.Errorf("a bad environment value: %v", err)
	}
	if _, err := parseServe([]string{"--max-body", "lots"}, noenv, io.Discard); err == nil {
		t.Error("--max-body lots accepted")
	}
}

var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildBinary builds ivrouter once per test run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "ivrouter-bin")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "ivrouter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build: %v\n%s", err, out)
	}
	return bin, nil
})

func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestServeReloadsOnSIGHUPAndStopsOnSIGTERM runs the real binary.
func TestServeReloadsOnSIGHUPAndStopsOnSIGTERM(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "layers", "5.lua")
	writeFile(t, script, `return function() return ivr.go_to_layer(12) end`)
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--scripts", dir)
	addr, lines := startBinary(t, cmd)
	ask := func() string { return ask(addr) }
	if got := ask(); got != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12}` {
		t.Fatalf("before reload: %s", got)
	}
	writeFile(t, script, `return function() return ivr.go_to_layer(14) end`)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, lines, "scripts reloaded")
	if got := ask(); got != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":14}` {
		t.Fatalf("after reload: %s", got)
	}
	writeFile(t, script, `return function(`)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, lines, "reload failed")
	if got := ask(); got != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":14}` {
		t.Fatalf("after a broken reload: %s", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM: %v, want exit 0", err)
	}
}

func waitFor(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("log ended before %q", want)
			}
			if strings.Contains(line, want) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q in the log", want)
		}
	}
}

func TestSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ivrouter.yaml")
	writeFile(t, file, `# a config file
deadline: 1500ms
language: AR
fallback-layer: 13
max-body: 32KiB
allow-ip: [10.0.0.0/8, 192.0.2.1]
vms: 4
token: from-file
mask-caller: true
`)
	env := map[string]string{"IVROUTER_LANGUAGE": "RU", "IVROUTER_VMS": "6", "IVROUTER_TOKEN": "from-env"}
	getenv := envOf(env)
	o, err := parseServe([]string{"--config", file, "--vms", "8", "--token", "from-flag"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		setting, source string
		got, want       any
	}{
		{"deadline", file + ":2", o.cfg.Deadline, 1500 * time.Millisecond}, // file > default
		{"language", "IVROUTER_LANGUAGE", o.cfg.Language, "RU"},            // environment > file
		{"vms", "flag", o.cfg.VMs, 8},                                      // flag > environment > file
		{"token", "flag", o.cfg.Token, "from-flag"},
		{"fallback-layer", file + ":4", o.cfg.Fallback, 13},
		{"max-body", file + ":5", o.cfg.MaxBody, 32 << 10},
		{"allow-ip", file + ":6", len(o.cfg.AllowIPs), 2},
		{"mask-caller", file + ":9", o.cfg.MaskCaller, true},
		{"listen", "default", o.listen, ":8080"},
		{"read-timeout", "default", o.cfg.ReadTimeout, 5 * time.Second},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.setting, tc.got, tc.want)
		}
		if src := o.settings.source[tc.setting]; src != tc.source {
			t.Errorf("%s came from %q, want %q", tc.setting, src, tc.source)
		}
	}

	// IVROUTER_CONFIG names the file when --config does not.
	env["IVROUTER_CONFIG"] = file
	if o, err := parseServe(nil, getenv, io.Discard); err != nil || o.cfg.Deadline != 1500*time.Millisecond {
		t.Errorf("IVROUTER_CONFIG: %v, deadline %v", err, o.cfg.Deadline)
	}

	for name, bad := range map[string]string{
		"unknown":  "dedline: 3s\n",
		"value":    "deadline: soon\n",
		"mapping":  "allow-ip: {a: b}\n",
		"not-map":  "- a\n",
		"cli-only": "print-config: true\n",
		"syntax":   "deadline: [\n",
		"ip":       "allow-ip: [not-an-ip]\n",
	} {
		path := filepath.Join(dir, name+".yaml")
		writeFile(t, path, bad)
		_, err := parseServe([]string{"--config", path}, noenv, io.Discard)
		if err == nil {
			t.Errorf("%s: %q accepted", name, bad)
		} else if !strings.Contains(err.Error(), "allow-ip") && !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error does not name the file: %v", name, err)
		}
	}
}

func TestPrintConfigMasksSecretsAndReadsBack(t *testing.T) {
	getenv := envOf(map[string]string{"IVROUTER_TOKEN": "hunter2"})
	var out, errb bytes.Buffer
	args := []string{"serve", "--print-config", "--deadline", "2s", "--allow-host", "crm.example.com,*.example.org", "--fallback-layer", "9"}
	if code := run(context.Background(), args, getenv, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	text := out.String()
	if strings.Contains(text, "hunter2") || !strings.Contains(text, `token: '********' # IVROUTER_TOKEN`) {
		t.Errorf("the token is not masked:\n%s", text)
	}
	for _, want := range []string{"deadline: 2s # flag", "listen: :8080 # default", "allow-host: [crm.example.com, '*.example.org'] # flag", "fallback-layer: 9 # flag"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in:\n%s", want, text)
		}
	}
	// What it prints, read back as a file, gives the same settings (but the
	// masked secret).
	file := filepath.Join(t.TempDir(), "printed.yaml")
	writeFile(t, file, strings.Replace(text, "'********'", "hunter2", 1))
	o, err := parseServe([]string{"--config", file}, noenv, io.Discard)
	if err != nil {
		t.Fatalf("reading back:\n%s\n%v", text, err)
	}
	if o.cfg.Deadline != 2*time.Second || len(o.cfg.AllowHosts) != 2 || o.cfg.Fallback != 9 || !o.cfg.HasFallback || o.cfg.Token != "hunter2" {
		t.Errorf("read back: %+v", o.cfg)
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"version"}, noenv, &out, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !regexp.MustCompile(`^ivrouter \S+ \(revision \S+, go1\.\d+`).MatchString(out.String()) {
		t.Errorf("version: %q", out.String())
	}
}

// TestSIGTERMFinishesCallsInFlight: calls waiting on a slow CRM when
// SIGTERM arrives are all answered with their scripts' answers, then the
// process exits 0.
func TestSIGTERMFinishesCallsInFlight(t *testing.T) {
	bin := binary(t)
	const calls = 5
	arrived, release := make(chan struct{}, calls), make(chan struct{})
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		w.Write([]byte(`{"layer": 21}`))
	}))
	defer crm.Close()
	defer close(release)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "layers", "5.lua"), `local http, json, env = require("http"), require("json"), require("env")
return { deadline = 4000, handle = function(call)
  local res = assert(http.get(env.get("CRM_URL") .. "/who", { timeout = 4000 }))
  return ivr.go_to_layer(json.decode(res.body).layer)
end }`)
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--scripts", dir)
	cmd.Env = append(os.Environ(), "CRM_URL="+crm.URL)
	addr, lines := startBinary(t, cmd)
	answers := make(chan string, calls)
	for i := 0; i < calls; i++ {
		go func() { answers <- ask(addr) }()
	}
	for i := 0; i < calls; i++ {
		<-arrived
	}
	cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, lines, "shutting down")
	release <- struct{}{}
	for i := 1; i < calls; i++ {
		release <- struct{}{}
	}
	for i := 0; i < calls; i++ {
		if got := <-answers; got != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":21}` {
			t.Errorf("a call in flight at SIGTERM got %s", got)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v, want 0", err)
	}
}

// ask posts a layer-5 call to the binary at addr and returns its answer,
// or the error.
func ask(addr string) string {
	res, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader(
		`{"METHOD":"IVR_LAYER_INPUT","DATA":{"DID":"1","CALLER_ID":"2","IVR_UNIQUE_ID":"u","DTMF":"1","LAYER_ID":"5"}}`))
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// startBinary starts cmd and returns the address it serves on and its
// later log lines.
func startBinary(t *testing.T, cmd *exec.Cmd) (string, <-chan string) {
	t.Helper()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	logs := bufio.NewScanner(stderr)
	addr := ""
	for addr == "" && logs.Scan() {
		if m := regexp.MustCompile(`msg=serving addr=(\S+)`).FindStringSubmatch(logs.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatal("no serving line in the log")
	}
	lines := make(chan string, 100)
	go func() {
		for logs.Scan() {
			lines <- logs.Text()
		}
		close(lines)
	}()
	return addr, lines
}

func TestExampleConfigIsValid(t *testing.T) {
	o, err := parseServe([]string{"--config", "ivrouter.example.yaml"}, noenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.listen != ":443" || o.cfg.Fallback != 13 || o.logFormat != "json" || !o.cfg.MaskCaller || len(o.cfg.AllowHosts) != 1 {
		t.Errorf("example config read as %+v", o)
	}
	unit, err := os.ReadFile("ivrouter.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ExecReload=/bin/kill -HUP $MAINPID", "serve --config /etc/ivrouter/ivrouter.yaml", "TimeoutStopSec="} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
}

func TestSettingsRefusals(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ file, want string }{
		"list for one value": {"deadline: [1s, 2s]\n", "takes one value"},
		"two documents":      {"deadline: 1s\n---\ndedline: 2s\n", "one document"},
		"the print mask":     {"token: '********'\n", "mask"},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
		writeFile(t, path, tc.file)
		if _, err := parseServe([]string{"--config", path}, noenv, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error about %q", name, err, tc.want)
		}
	}
	file := filepath.Join(dir, "token.yaml")
	writeFile(t, file, "token: from-file\n")
	o, err := parseServe([]string{"--config", file}, envOf(map[string]string{"IVROUTER_TOKEN": "", "IVROUTER_PRINT_CONFIG": "true"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.Token != "" {
		t.Errorf("IVROUTER_TOKEN= left the file's token %q", o.cfg.Token)
	}
	if o.printConfig {
		t.Error("IVROUTER_PRINT_CONFIG turned a server into a config printer")
	}
}

// TestShutdownTimeoutAnswersStuckCallsTheirFallback: a call still waiting
// on its CRM when --shutdown-timeout runs out gets its fallback before the
// process exits 0.
func TestShutdownTimeoutAnswersStuckCallsTheirFallback(t *testing.T) {
	bin := binary(t)
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	}))
	defer crm.Close()
	defer close(release)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "layers", "5.lua"), `local http, env = require("http"), require("env")
return { deadline = 4000, fallback = 99, handle = function(call)
  assert(http.get(env.get("CRM_URL") .. "/who", { timeout = 4000 }))
  return ivr.go_to_layer(21)
end }`)
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--scripts", dir, "--shutdown-timeout", "100ms")
	cmd.Env = append(os.Environ(), "CRM_URL="+crm.URL)
	addr, lines := startBinary(t, cmd)
	answer := make(chan string, 1)
	go func() { answer <- ask(addr) }()
	<-arrived
	began := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, lines, "shutting down")
	if got := <-answer; got != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":99}` {
		t.Errorf("the stuck call got %q, want its fallback", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v, want 0", err)
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("shutdown took %v with a 100ms timeout", took)
	}
}

func TestSIGHUPWhileStartingDoesNotKill(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	// A script slow to load keeps the process loading when the first log
	// line (from before the load) arrives and the SIGHUP is sent.
	writeFile(t, filepath.Join(dir, "layers", "5.lua"), `local x = 0
for i = 1, 2e6 do x = x + i end
return function() return ivr.go_to_layer(12) end`)
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--scripts", dir)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	logs := bufio.NewScanner(stderr)
	logs.Scan() // the first line: the process has set its signals up
	cmd.Process.Signal(syscall.SIGHUP)
	for logs.Scan() {
		if strings.Contains(logs.Text(), "msg=serving") {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v, want 0 (a SIGHUP at start must not kill)", err)
	}
}

// TestBundledScriptTests runs the examples' own cases, as CI does with
// ivrouter test scripts.
func TestBundledScriptTests(t *testing.T) {
	var out, errb bytes.Buffer
	junit := filepath.Join(t.TempDir(), "junit.xml")
	if code := run(context.Background(), []string{"test", "--junit", junit, "../../scripts"}, noenv, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !regexp.MustCompile(`PASS: \d+ cases in \d+ files`).MatchString(out.String()) {
		t.Errorf("summary: %q", out.String())
	}
	data, err := os.ReadFile(junit)
	if err != nil || !bytes.Contains(data, []byte("<testsuite")) || bytes.Contains(data, []byte("<failure")) {
		t.Errorf("junit: %v\n%s", err, data)
	}
}

// TestScriptTestFailures: a wrong expectation and an unstubbed request each
// fail with the case named, and only the cases --run selects run.
func TestScriptTestFailures(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "layers", "5.lua"), `return function(call)
  if call.dtmf == "9" then
    local res, err = require("http").get("http://crm.test/contacts")
    return ivr.go_to_layer(13)
  end
  return ivr.go_to_layer(12)
end
`)
	writeFile(t, filepath.Join(dir, "layers", "5.test.yaml"), `layer: 5
cases:
  - name: an ID goes to twelve
    request: {dtmf: "1"}
    expect: {answer: {LAYER: 14}}
  - name: nine asks the CRM
    request: {dtmf: "9"}
    expect: {answer: {LAYER: 13}}
  - name: passes
    expect: {answer: {LAYER: 12}}
`)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"test", dir}, noenv, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"--- FAIL: " + filepath.Join(dir, "layers", "5.test.yaml") + ":3: an ID goes to twelve",
		`-   "LAYER": 14`,
		`+   "LAYER": 12`,
		"--- FAIL: " + filepath.Join(dir, "layers", "5.test.yaml") + ":6: nine asks the CRM",
		"GET http://crm.test/contacts: no stub matches",
		"FAIL: 2 of 3 cases failed",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run(context.Background(), []string{"test", "--run", "passes", dir}, noenv, &out, &errb); code != 0 {
		t.Errorf("--run passes: exit %d\n%s", code, out.String())
	}
}
