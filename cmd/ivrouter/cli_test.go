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
	"strings"
	"syscall"
	"testing"
	"time"
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

func noenv(string) string { return "" }

func TestCheck(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check", "../../scripts"}, noenv, &out, &errb); code != 0 {
		t.Fatalf("bundled scripts: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "ok") {
		t.Errorf("bundled scripts: %q", out.String())
	}

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.lua"), "return function(call)\n  return ivr.go_to_layer(\nend")
	writeFile(t, filepath.Join(dir, "layers", "x.lua"), "return function() end")
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

func TestFlagsEnvironmentAndDefaults(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
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

// TestServeReloadsOnSIGHUPAndStopsOnSIGTERM runs the real binary.
func TestServeReloadsOnSIGHUPAndStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "ivrouter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "layers", "5.lua")
	writeFile(t, script, `return function() return ivr.go_to_layer(12) end`)
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--scripts", dir)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
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
	ask := func() string {
		res, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader(
			`{"METHOD":"IVR_LAYER_INPUT","DATA":{"DID":"1","CALLER_ID":"2","IVR_UNIQUE_ID":"u","DTMF":"1","LAYER_ID":"5"}}`))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
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
