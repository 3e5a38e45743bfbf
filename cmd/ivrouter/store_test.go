package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/bridge/redisstore"
	"github.com/ivrouter/ivrouter/bridge/redisstore/redistest"
)

func TestStoreSettings(t *testing.T) {
	o, err := parseServe([]string{"--store", "rediss://u:pw@redis.example.com:6380/2", "--store-timeout", "100ms"}, noenv, io.Discard)
	if err != nil || o.cfg.Store != "rediss://u:pw@redis.example.com:6380/2" || o.cfg.StoreTimeout != 100*time.Millisecond {
		t.Errorf("%+v %v", o.cfg, err)
	}
	o, err = parseServe(nil, envOf(map[string]string{"IVROUTER_STORE": "redis://127.0.0.1:6379/0"}), io.Discard)
	if err != nil || o.cfg.Store != "redis://127.0.0.1:6379/0" || o.cfg.StoreTimeout != redisstore.DefaultTimeout {
		t.Errorf("from IVROUTER_STORE: %q %v %v", o.cfg.Store, o.cfg.StoreTimeout, err)
	}
	if o, err := parseServe(nil, noenv, io.Discard); err != nil || o.cfg.Store != "" {
		t.Errorf("the default is the embedded store: %q %v", o.cfg.Store, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--store", "http://h:1"}, `--store: "http://h:1": the scheme must be redis:// or rediss:// (TLS)`},
		{[]string{"--store", "redis://u:hunter2@h:1/x"}, "--store: "},
		{[]string{"--store", "********"}, "--store: ******** is --print-config's mask"},
		{[]string{"--store-timeout", "0s"}, "--store-timeout: want a duration over 0"},
	} {
		_, err := parseServe(tc.args, noenv, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%v: %v, want %q (and no password)", tc.args, err, tc.want)
		}
	}
	var out bytes.Buffer
	if code := run(t.Context(), []string{"serve", "--print-config", "--store", "redis://:pw@h:1/0"}, noenv, &out, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out.String(), "store: '********' # flag") || strings.Contains(out.String(), "pw@") {
		t.Errorf("--print-config shows the store's password:\n%s", out.String())
	}
}

// Two ivrouter processes share one Redis; one call's layers alternate
// between them, and the bundled ID desks still count its wrong IDs.
func TestTwoProcessesShareOneCall(t *testing.T) {
	bin := binary(t)
	redis := redistest.Start(t)
	var addrs []string
	for range 2 {
		cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--scripts", "../../scripts", "--store", redis.URL())
		cmd.Env = append(os.Environ(), "CRM_URL=http://127.0.0.1:1")
		addrs = append(addrs, startWithStore(t, cmd))
	}
	post := func(addr, route, id, dtmf string) string {
		res, err := http.Post("http://"+addr+route, "application/json", strings.NewReader(fmt.Sprintf(
			`{"METHOD":"IVR_LAYER_INPUT","DATA":{"DID":"0722776772","CALLER_ID":"0509999999","IVR_UNIQUE_ID":%q,"DTMF":%q,"LAYER_ID":"3"}}`, id, dtmf)))
		if err != nil {
			return err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	for i, want := range []string{`"LAYER":13}`, `"LAYER":13}`, `"LAYER":20,"CUSTOM_DATA":{"reason":"ID not recognised"}}`} {
		if got := post(addrs[i%2], "/id-entry", "call-a", "1"); !strings.HasSuffix(got, want) {
			t.Errorf("id-entry, wrong ID %d on process %d: %s, want …%s", i+1, i%2, got, want)
		}
	}
	for i, want := range []string{`"ACTION":"SAY_DIGITS"`, `"ACTION":"SAY_DIGITS"`, `"ACTION":"DIAL"`} {
		if got := post(addrs[(i+1)%2], "/clinic-id", "call-b", "12"); !strings.Contains(got, want) {
			t.Errorf("clinic-id, wrong ID %d on process %d: %s, want %s", i+1, (i+1)%2, got, want)
		}
	}
}

// startWithStore starts cmd and returns its address once it serves and its
// store is connected.
func startWithStore(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	logs := bufio.NewScanner(stderr)
	addr, connected := "", false
	var seen []string
	for (addr == "" || !connected) && logs.Scan() {
		line := logs.Text()
		seen = append(seen, line)
		if m := regexp.MustCompile(`msg=serving addr=(\S+)`).FindStringSubmatch(line); m != nil {
			addr = m[1]
		}
		connected = connected || strings.Contains(line, `msg="store connected"`)
	}
	if addr == "" || !connected {
		t.Fatalf("no serving and store connected lines in the log:\n%s", strings.Join(seen, "\n"))
	}
	go io.Copy(io.Discard, stderr)
	return addr
}
