package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// readmeExample is a curl command of the README and the answer it shows.
type readmeExample struct {
	line       int
	url, body  string // body empty: a GET
	wantAnswer string
}

// curlExample matches a README curl command, on one line or continued
// inside its quoted body, and the answer on the line after it.
var curlExample = regexp.MustCompile(`(?m)^(?:\$ )?curl -s '?(localhost:808[01][^ ']*)'?(?: -d '([^']*)')?\n([{\[].*)$`)

func readmeExamples(t *testing.T) []readmeExample {
	t.Helper()
	src, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []readmeExample
	for _, m := range curlExample.FindAllSubmatchIndex(src, -1) {
		body := ""
		if m[4] >= 0 {
			body = strings.Join(strings.Fields(string(src[m[4]:m[5]])), "") // the README folds long bodies
		}
		out = append(out, readmeExample{
			line:       1 + strings.Count(string(src[:m[0]]), "\n"),
			url:        string(src[m[2]:m[3]]),
			body:       body,
			wantAnswer: string(src[m[6]:m[7]]),
		})
	}
	return out
}

// TestREADMEExamples runs the README's quick start (serve the bundled
// scripts with the demo CRM) and checks that each curl example answers
// what the README shows.
func TestREADMEExamples(t *testing.T) {
	examples := readmeExamples(t)
	if len(examples) < 3 {
		t.Fatalf("found %d curl examples with answers in the README, want at least 3: is curlExample out of date?", len(examples))
	}
	crm := freePort(t)
	cmd := exec.Command(binary(t), "serve", "--listen", "127.0.0.1:0", "--admin-listen", "off",
		"--scripts", "../../scripts", "--demo-crm", "../../testdata/crm.json", "--demo-crm-listen", crm)
	cmd.Env = append(os.Environ(), "CRM_URL=")
	addr, _ := startBinary(t, cmd)
	for _, ex := range examples {
		url := "http://" + strings.NewReplacer("localhost:8080", addr, "localhost:8081", crm).Replace(ex.url)
		var res *http.Response
		var err error
		if ex.body == "" {
			res, err = http.Get(url)
		} else {
			res, err = http.Post(url, "application/json", strings.NewReader(ex.body))
		}
		if err != nil {
			t.Errorf("README.md:%d: %v", ex.line, err)
			continue
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.TrimSpace(string(got)) != ex.wantAnswer {
			t.Errorf("README.md:%d: %s answers\n%s\nthe README shows\n%s", ex.line, ex.url, strings.TrimSpace(string(got)), ex.wantAnswer)
		}
	}
}

// freePort is a loopback address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
