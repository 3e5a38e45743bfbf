package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// runCLI runs the command line args with the environment env.
func runCLI(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, envOf(env), &out, &errb)
	return code, out.String(), errb.String()
}

// TestEveryCommandHasHelp: -h, --help and ivrouter help COMMAND list the
// command's flags with their IVROUTER_* variables and defaults, exit 0.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"serve", "--help"}, []string{"ivrouter serve [flags]", "--deadline duration", "IVROUTER_DEADLINE, default 3s", "--admin-token", "--pid-file"}},
		{[]string{"help", "serve"}, []string{"ivrouter serve [flags]", "--max-body size", "IVROUTER_MAX_BODY, default 64KiB"}},
		{[]string{"check", "--help"}, []string{"ivrouter check [flags] [DIR]", "--strict", "IVROUTER_STRICT", "Serve's settings", "IVROUTER_DEADLINE, default 3s"}},
		{[]string{"check", "-h"}, []string{"--strict"}},
		{[]string{"test", "--help"}, []string{"-v, --verbose", "--junit string", "IVROUTER_RUN"}},
		{[]string{"reload", "--help"}, []string{"POST /-/reload", "--admin-listen string", "IVROUTER_ADMIN_LISTEN, default 127.0.0.1:9090", "--admin-token"}},
		{[]string{"cache", "flush", "--help"}, []string{"--prefix string", "POST /-/cache/flush"}},
		{[]string{"help", "cache", "flush"}, []string{"--prefix string"}},
		{[]string{"--help"}, []string{"serve", "check", "test", "reload", "cache", "version", "IVROUTER_"}},
		{[]string{"help"}, []string{"reload"}},
	} {
		code, out, errs := runCLI(nil, tc.args...)
		if code != 0 {
			t.Errorf("%v: exit %d: %s", tc.args, code, errs)
		}
		for _, want := range tc.want {
			if !strings.Contains(out, want) {
				t.Errorf("%v: no %q in:\n%s", tc.args, want, out)
			}
		}
	}
	// reload's help lists what it uses, not serve's other settings.
	if _, out, _ := runCLI(nil, "reload", "--help"); strings.Contains(out, "--deadline") {
		t.Errorf("reload's help lists --deadline:\n%s", out)
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, _ := runCLI(nil, args...)
		if code != 0 || !regexp.MustCompile(`^ivrouter \S+ \(revision \S+, go1\.\d+`).MatchString(out) {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
	if code, _, errs := runCLI(nil); code != 2 || !strings.Contains(errs, "Usage:") {
		t.Errorf("no command: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI(nil, "serv"); code != 2 || !strings.Contains(errs, `unknown command "serv"`) {
		t.Errorf("an unknown command: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI(nil, "serve", "--dedline", "2s"); code != 2 || !strings.Contains(errs, "did you mean --deadline?") {
		t.Errorf("a misspelt flag: exit %d, %q", code, errs)
	}
}

// TestEveryCommandRefusesWhatServeRefuses: --print-config and the commands
// that take serve's settings refuse a bad one as serve does, exit 2,
// instead of printing or running with it.
func TestEveryCommandRefusesWhatServeRefuses(t *testing.T) {
	for _, cmd := range [][]string{{"serve"}, {"serve", "--print-config"}, {"check", "--print-config"}, {"check", "../../scripts"}, {"test", "--print-config"}, {"reload"}, {"cache", "flush"}} {
		for _, bad := range []struct {
			args []string
			want string
		}{
			{[]string{"--language", "FR"}, `--language: "FR" is not a language (use HE, EN, AR, RU)`},
			{[]string{"--deadline", "6s"}, "--deadline: 6s is not under 5s"},
			{[]string{"--deadline", "5s"}, "--deadline: 5s is not under 5s"},
			{[]string{"--listen", "8080"}, `--listen: "8080" is not an address`},
			{[]string{"--tls-cert", "cert.pem"}, "--tls-cert: TLS needs both"},
			{[]string{"--vms", "0"}, "--vms: want 1 or more"},
		} {
			args := append(append([]string{}, cmd...), bad.args...)
			code, out, errs := runCLI(nil, args...)
			if code != 2 || out != "" || !strings.Contains(errs, bad.want) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", args, code, out, errs, bad.want)
			}
		}
	}
	if code, out, errs := runCLI(nil, "serve", "--print-config", "--deadline", "4999ms"); code != 0 || !strings.Contains(out, "deadline: 4.999s # flag") {
		t.Errorf("--deadline 4999ms: exit %d %s%s", code, out, errs)
	}
}

// TestErrorsSayWhatWasExpectedAndWhere: a bad value is blamed on the flag,
// the variable or the file's line that gave it, with what was expected.
func TestErrorsSayWhatWasExpectedAndWhere(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ivrouter.yaml")
	writeFile(t, file, "# settings\nlisten: \":8080\"\n\n\n\n\ndeadline: 2\n")
	masked := filepath.Join(dir, "masked.yaml")
	writeFile(t, masked, "listen: \":8080\"\ntoken: '********'\n")
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"serve", "--deadline", "2"}, `ivrouter serve: --deadline: "2" is not a duration (use 2s, 500ms)`},
		{nil, []string{"serve", "--deadline=2"}, `ivrouter serve: --deadline: "2" is not a duration (use 2s, 500ms)`},
		{map[string]string{"IVROUTER_DEADLINE": "2"}, []string{"serve"}, `ivrouter serve: IVROUTER_DEADLINE: "2" is not a duration (use 2s, 500ms)`},
		{nil, []string{"serve", "--config", file}, `ivrouter serve: ` + file + `:7: deadline: "2" is not a duration (use 2s, 500ms)`},
		{map[string]string{"IVROUTER_DEADLINE": "9s"}, []string{"check"}, "ivrouter check: IVROUTER_DEADLINE: 9s is not under 5s"},
		{nil, []string{"serve", "--config", masked}, "ivrouter serve: " + masked + ":2: token: ******** is --print-config's mask"},
		{nil, []string{"serve", "--max-body", "lots"}, `--max-body: "lots" is not a size (use 65536, 64KiB or 1MiB)`},
		{nil, []string{"serve", "--vms", "many"}, `--vms: "many" is not a whole number`},
		{nil, []string{"serve", "--mask-caller=maybe"}, `--mask-caller: "maybe" is not true or false`},
		{nil, []string{"serve", "--log-level", "loud"}, `--log-level: "loud" is not a log level`},
		{nil, []string{"serve", "--allow-ip", "10.0.0.0/33"}, `--allow-ip: "10.0.0.0/33" is not an address or CIDR`},
		{nil, []string{"serve", "--fallback-layer", "x"}, `--fallback-layer: "x" is not a layer number`},
		{nil, []string{"serve", "--deadline"}, "--deadline needs a value"},
	} {
		code, _, errs := runCLI(tc.env, tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v %v: exit %d, %q; want %q", tc.env, tc.args, code, errs, tc.want)
		}
	}
}

// TestSingleDashFlagsStillWork: the flag package's -name and -name=value
// of earlier versions mean --name.
func TestSingleDashFlagsStillWork(t *testing.T) {
	code, out, errs := runCLI(nil, "serve", "-print-config", "-deadline", "2s", "-allow-host=crm.example.com", "-mask-caller", "-vms", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"deadline: 2s # flag", "allow-host: [crm.example.com] # flag", "mask-caller: true # flag", "vms: 3 # flag"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	// A value that looks like a flag stays a value.
	if code, _, errs := runCLI(nil, "test", "-run", "-deadline", "../../scripts"); code != 0 {
		t.Errorf("test -run -deadline: exit %d: %s", code, errs)
	}
	for _, args := range [][]string{{"test", "-v", "../../scripts"}, {"test", "--v", "../../scripts"}, {"check", "-strict", "../../scripts"}} {
		if code, _, errs := runCLI(nil, args...); code != 0 {
			t.Errorf("%v: exit %d: %s", args, code, errs)
		}
	}
}

func TestAdminBase(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:9090": "http://127.0.0.1:9090", ":9090": "http://127.0.0.1:9090", "0.0.0.0:9090": "http://127.0.0.1:9090",
		"[::]:9090": "http://[::1]:9090", "[::1]:9090": "http://[::1]:9090", "localhost:9": "http://localhost:9",
	} {
		if got, err := adminBase(addr); got != want || err != nil {
			t.Errorf("%s: %q, %v; want %q", addr, got, err, want)
		}
	}
	for _, addr := range []string{"off", "127.0.0.1:0"} {
		if _, err := adminBase(addr); err == nil {
			t.Errorf("%s: no error", addr)
		}
	}
}

// served is a serve process the tests talk to.
type served struct {
	cmd          *exec.Cmd
	addr, admin  string
	pid          int
	lines        <-chan string
	servingLines []string
}

// startServe runs the binary's serve with args and reads its log up to the
// serving line.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, args...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	s := &served{cmd: cmd}
	logs := bufio.NewScanner(stderr)
	for s.addr == "" && logs.Scan() {
		line := logs.Text()
		s.servingLines = append(s.servingLines, line)
		if m := regexp.MustCompile(`msg="admin serving" addr=(\S+)`).FindStringSubmatch(line); m != nil {
			s.admin = m[1]
		}
		if m := regexp.MustCompile(`msg=serving addr=(\S+) .* pid=(\d+)`).FindStringSubmatch(line); m != nil {
			s.addr = m[1]
			s.pid, _ = strconv.Atoi(m[2])
		}
	}
	if s.addr == "" || s.admin == "" {
		t.Fatalf("no serving line with pid= and admin address in the log:\n%s", strings.Join(s.servingLines, "\n"))
	}
	lines := make(chan string, 100)
	go func() {
		for logs.Scan() {
			lines <- logs.Text()
		}
		close(lines)
	}()
	s.lines = lines
	return s
}

// TestReloadCommand: ivrouter reload makes a running serve reload, as
// SIGHUP does, and says what happened: the new version, or the problems
// (exit 1) while the scripts loaded before keep serving.
func TestReloadCommand(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "layers", "5.lua")
	writeFile(t, script, `return function() return ivr.go_to_layer(12) end`)
	pidFile := filepath.Join(t.TempDir(), "ivrouter.pid")
	s := startServe(t, "--scripts", dir, "--pid-file", pidFile)
	if s.pid != s.cmd.Process.Pid {
		t.Errorf("the serving line says pid=%d, the process is %d", s.pid, s.cmd.Process.Pid)
	}
	if data, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(data)) != strconv.Itoa(s.cmd.Process.Pid) {
		t.Errorf("--pid-file holds %q, %v; want %d", data, err, s.cmd.Process.Pid)
	}
	writeFile(t, script, `return function() return ivr.go_to_layer(14) end`)
	code, out, errs := runCLI(nil, "reload", "--admin-listen", s.admin)
	if code != 0 || !regexp.MustCompile(`^reloaded \S+: 1 scripts, version \w+\n$`).MatchString(out) {
		t.Fatalf("reload: exit %d, %q %q", code, out, errs)
	}
	waitFor(t, s.lines, "scripts reloaded")
	if got := ask(s.addr); got != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":14}` {
		t.Fatalf("after reload: %s", got)
	}
	writeFile(t, script, `return function(`)
	code, out, errs = runCLI(map[string]string{"IVROUTER_ADMIN_LISTEN": s.admin}, "reload")
	if code != 1 || out != "" || !strings.Contains(errs, "reload failed") || !strings.Contains(errs, filepath.Join("layers", "5.lua")) {
		t.Errorf("a broken reload: exit %d, %q %q", code, out, errs)
	}
	if got := ask(s.addr); got != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":14}` {
		t.Fatalf("after a broken reload: %s", got)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("the PID file outlived the process: %v", err)
	}
	if code, _, errs := runCLI(nil, "reload", "--admin-listen", s.admin); code != 1 || !strings.Contains(errs, "cannot reach") {
		t.Errorf("nothing serving: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI(nil, "reload", "--admin-listen", "off"); code != 1 || !strings.Contains(errs, "off") {
		t.Errorf("--admin-listen off: exit %d, %q", code, errs)
	}
}

// TestAdminCommandsNeedTheToken: with a token set, reload and cache flush
// need it, found as serve finds it (here IVROUTER_TOKEN); cache flush
// drops the entries under --prefix.
func TestAdminCommandsNeedTheToken(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "layers", "5.lua"), `local cache = require("cache")
return function(call)
  cache.set("contact:" .. call.caller_id, "Dana", 600)
  cache.set("contact:x", "Noa", 600)
  cache.set("route:" .. call.did, 3, 600)
  return ivr.go_to_layer(12)
end`)
	s := startServe(t, "--scripts", dir, "--token", "s3cret")
	if got := askToken(s.addr, "s3cret"); !strings.Contains(got, `"LAYER":12`) {
		t.Fatalf("a call: %s", got)
	}
	for _, args := range [][]string{{"reload"}, {"cache", "flush"}} {
		args = append(args, "--admin-listen", s.admin)
		if code, _, errs := runCLI(nil, args...); code != 1 || !strings.Contains(errs, "--admin-token") {
			t.Errorf("%v without the token: exit %d, %q", args, code, errs)
		}
		if code, _, errs := runCLI(nil, append(args, "--token", "wrong")...); code != 1 || !strings.Contains(errs, "401") {
			t.Errorf("%v with a wrong token: exit %d, %q", args, code, errs)
		}
	}
	env := map[string]string{"IVROUTER_TOKEN": "s3cret"}
	code, out, errs := runCLI(env, "cache", "flush", "--prefix", "contact:", "--admin-listen", s.admin)
	if code != 0 || out != "flushed 2 cache entries under \"contact:\"\n" {
		t.Errorf("cache flush --prefix contact: exit %d, %q %q", code, out, errs)
	}
	code, out, errs = runCLI(env, "cache", "flush", "--admin-listen", s.admin)
	if code != 0 || out != "flushed 1 cache entries\n" {
		t.Errorf("cache flush: exit %d, %q %q", code, out, errs)
	}
	if code, out, errs := runCLI(env, "reload", "--admin-listen", s.admin); code != 0 || !strings.HasPrefix(out, "reloaded") {
		t.Errorf("reload with IVROUTER_TOKEN: exit %d, %q %q", code, out, errs)
	}
}

// askToken is ask with the token in the URL.
func askToken(addr, token string) string {
	res, err := http.Post("http://"+addr+"/?token="+token, "application/json", strings.NewReader(
		`{"METHOD":"IVR_LAYER_INPUT","DATA":{"DID":"1","CALLER_ID":"2","IVR_UNIQUE_ID":"u","DTMF":"1","LAYER_ID":"5"}}`))
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}
