package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// simulateCase is a representative request of a bundled script: the
// simulate flags, and the request serve gets for them, written out.
type simulateCase struct {
	args []string
	path string
	body string
}

func docsBody(data string) string {
	return `{"METHOD":"IVR_LAYER_INPUT","DATA":{"DID":"0722776772",` + data + `}}`
}

// simulateCases has one request for every bundled script: a new example
// without one fails TestSimulateAnswersAsServe.
var simulateCases = map[string]simulateCase{
	"layers/5.lua": {[]string{"--layer", "5", "--dtmf", "12345678", "--unique-id", "sim-5"}, "/",
		docsBody(`"CALLER_ID":"0501234567","IVR_UNIQUE_ID":"sim-5","DTMF":"12345678","LAYER_ID":"5"`)},
	"announce.lua": {[]string{"--route", "announce", "--caller", "972501234567", "--unique-id", "sim-announce"}, "/announce",
		docsBody(`"CALLER_ID":"972501234567","IVR_UNIQUE_ID":"sim-announce","LAYER_ID":"0"`)},
	"caller.lua": {[]string{"--route", "caller", "--layer", "5", "--dtmf", "1", "--unique-id", "sim-caller"}, "/caller",
		docsBody(`"CALLER_ID":"0501234567","IVR_UNIQUE_ID":"sim-caller","DTMF":"1","LAYER_ID":"5"`)},
	"clinic.lua": {[]string{"--route", "clinic", "--layer", "1", "--caller", "0527654321", "--unique-id", "sim-clinic"}, "/clinic",
		docsBody(`"CALLER_ID":"0527654321","IVR_UNIQUE_ID":"sim-clinic","LAYER_ID":"1"`)},
	"clinic-id.lua": {[]string{"--route", "clinic-id", "--layer", "2", "--dtmf", "1", "--unique-id", "sim-clinic-id"}, "/clinic-id",
		docsBody(`"CALLER_ID":"0501234567","IVR_UNIQUE_ID":"sim-clinic-id","DTMF":"1","LAYER_ID":"2"`)},
	"id-entry.lua": {[]string{"--route", "id-entry", "--dtmf", "87654321", "--unique-id", "sim-id-entry", "--custom-data", "from=layer 5", "--custom-data", "vip=yes"}, "/id-entry",
		docsBody(`"CALLER_ID":"0501234567","IVR_UNIQUE_ID":"sim-id-entry","DTMF":"87654321","LAYER_ID":"0","CUSTOM_DATA":{"from":"layer 5","vip":"yes"}`)},
	"night.lua": {[]string{"--route", "night", "--caller", "0541112222", "--did", "0722000000", "--unique-id", "sim-night"}, "/night",
		`{"METHOD":"IVR_LAYER_INPUT","DATA":{"DID":"0722000000","CALLER_ID":"0541112222","IVR_UNIQUE_ID":"sim-night","LAYER_ID":"0"}}`},
}

// TestSimulateAnswersAsServe runs the binary: serve with the demo CRM,
// and for every bundled script `ivrouter simulate --scripts ... --json`
// with a representative request; each prints exactly what serve answers
// the same request, and its -v transcript shows that request.
func TestSimulateAnswersAsServe(t *testing.T) {
	bin := binary(t)
	scripts, _ := filepath.Glob("../../scripts/*.lua")
	layers, _ := filepath.Glob("../../scripts/layers/*.lua")
	if len(scripts)+len(layers) < 7 {
		t.Fatalf("found %d bundled scripts", len(scripts)+len(layers))
	}
	crm := freePort(t)
	serve := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "off",
		"--scripts", "../../scripts", "--demo-crm", "../../testdata/crm.json", "--demo-crm-listen", crm)
	serve.Env = append(os.Environ(), "CRM_URL=")
	addr, _ := startBinary(t, serve)
	for _, path := range append(scripts, layers...) {
		name, _ := filepath.Rel("../../scripts", path)
		name = filepath.ToSlash(name)
		tc, ok := simulateCases[name]
		if !ok {
			t.Errorf("%s has no representative request in simulateCases", name)
			continue
		}
		sim := exec.Command(bin, append([]string{"simulate", "--scripts", "../../scripts", "--json"}, tc.args...)...)
		sim.Env = append(os.Environ(), "CRM_URL=http://"+crm, "NO_COLOR=")
		var stderr bytes.Buffer
		sim.Stderr = &stderr
		got, err := sim.Output()
		if err != nil {
			t.Errorf("%s: simulate: %v\n%s", name, err, stderr.String())
			continue
		}
		res, err := http.Post("http://"+addr+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(got) != string(want)+"\n" {
			t.Errorf("%s: simulate --json prints\n%s\nserve answers\n%s", name, got, want)
		}
		// The request simulate sent is the one serve got.
		var out, errb bytes.Buffer
		env := envOf(map[string]string{"CRM_URL": "http://" + crm})
		if code := run(context.Background(), append([]string{"simulate", "--scripts", "../../scripts", "-v"}, tc.args...), env, &out, &errb); code != 0 {
			t.Errorf("%s: exit %d: %s", name, code, errb.String())
		}
		if !strings.Contains(out.String(), "  request  "+tc.body+"\n") || !strings.Contains(out.String(), "  answer   "+string(want)+"\n") {
			t.Errorf("%s: the transcript lacks the request\n%s\nor the answer\n%s\n%s", name, tc.body, want, out.String())
		}
	}
}

// TestSimulateFollow walks the bundled ID-entry flow through the command
// line: three wrong IDs, then the agent's layer dials.
func TestSimulateFollow(t *testing.T) {
	args := []string{"simulate", "--scripts", "../../scripts", "--route", "id-entry", "--layer", "13", "--follow",
		"--dtmf", "1", "--dtmf", "22,333", "--layer-route", "20=night", "--at", "2026-05-03 09:00", "--timezone", "Asia/Jerusalem"}
	code, out, errs := runCLI(nil, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"step 3: layer 13, POST /id-entry (from layer 13), dtmf 333\n",
		"too many wrong IDs, to an agent tries=3",
		"step 4: layer 20, POST /night (from layer 13), no dtmf, CUSTOM_DATA {\"reason\":\"ID not recognised\"}\n",
		"end: DIAL: the call dials 0501234567; layer 15 if no one answers\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour into a buffer:\n%q", out)
	}
	code, out, _ = runCLI(nil, append(args, "--json")...)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[3], `{"STATUS":0,"ACTION":"DIAL"`) {
		t.Errorf("--json --follow: exit %d\n%s", code, out)
	}
}

func TestSimulateRefusals(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{}, "--layer N (POST / with LAYER_ID N) or --route NAME", 2},
		{[]string{"--layer", "5", "--dtmf", "1,2"}, "--dtmf has 2 values: one request takes one", 2},
		{[]string{"--layer", "5", "--at", "tomorrow"}, `--at: "tomorrow" is not a time`, 2},
		{[]string{"--layer", "5", "--custom-data", "novalue"}, `--custom-data: "novalue" is not KEY=VALUE`, 2},
		{[]string{"--layer", "5", "--follow", "--layer-route", "x=y"}, `--layer-route: "x=y" is not LAYER=NAME`, 2},
		{[]string{"--layer", "5", "--stubs", "../../scripts/caller.test.yaml#nope"}, `no case named "nope"`, 1},
		{[]string{"--layer", "5", "--language", "FR"}, `--language: "FR" is not a language`, 2},
		{[]string{"--layer", "x"}, `--layer: "x" is not a layer number`, 2},
	} {
		code, out, errs := runCLI(nil, append([]string{"simulate", "--scripts", "../../scripts"}, tc.args...)...)
		if code != tc.code || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and %q", tc.args, code, out, errs, tc.code, tc.want)
		}
	}
	if code, out, _ := runCLI(nil, "simulate", "--help"); code != 0 || !strings.Contains(out, "--follow") || !strings.Contains(out, "Serve's settings") ||
		strings.Contains(out, "IVROUTER_DTMF") {
		t.Errorf("help: exit %d\n%s", code, out)
	}
}

// TestSimulateColour: colour on a terminal only, never with NO_COLOR or
// TERM=dumb, never into a pipe.
func TestSimulateColour(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if colorful(w, noenv) {
		t.Error("a pipe is coloured")
	}
	if colorful(&bytes.Buffer{}, noenv) {
		t.Error("a buffer is coloured")
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Error("/dev/null is a terminal")
	}
	tty := openTerminal(t) // skips where there is none
	if !colorful(tty, noenv) {
		t.Error("a terminal is not coloured")
	}
	for _, env := range []map[string]string{{"NO_COLOR": "1"}, {"TERM": "dumb"}} {
		if colorful(tty, envOf(env)) {
			t.Errorf("%v: coloured", env)
		}
	}
	if !colorful(tty, envOf(map[string]string{"NO_COLOR": ""})) {
		t.Error("NO_COLOR empty turns colour off (no-color.org: only when not empty)")
	}
	// The whole command, into the terminal and into the pipe.
	for _, tc := range []struct {
		out  *os.File
		env  map[string]string
		want bool
	}{{tty, nil, true}, {tty, map[string]string{"NO_COLOR": "1"}, false}, {w, nil, false}} {
		var errb bytes.Buffer
		if code := run(context.Background(), []string{"simulate", "--scripts", "../../scripts", "--layer", "5"}, envOf(tc.env), tc.out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		got := readAvailable(t, tc.out, r)
		if strings.Contains(got, "\x1b[") != tc.want || !strings.Contains(got, "goes to layer 13") {
			t.Errorf("into %s with %v: colour %v, want %v:\n%q", tc.out.Name(), tc.env, !tc.want, tc.want, got)
		}
	}
}

// TestPrompter: a line a step, spaces trimmed, an empty line for no
// digits; the end of input hangs up.
func TestPrompter(t *testing.T) {
	var asked bytes.Buffer
	ask := prompter(strings.NewReader(" 12 \n\n7"), &asked)
	for i, want := range []string{"12", "", "7"} {
		if got, ok := ask(i+1, 13, "/"); !ok || got != want {
			t.Errorf("line %d: %q %v, want %q", i+1, got, ok, want)
		}
	}
	if _, ok := ask(4, 13, "/"); ok {
		t.Error("the end of input did not hang up")
	}
	if !strings.Contains(asked.String(), "step 1, layer 13 (POST /): digits the caller presses") {
		t.Errorf("prompt: %q", asked.String())
	}
}
