package console

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// chromium is the distribution's browser, which .ci/run installs.
const chromium = "/usr/bin/chromium"

// TestChromiumSeesACallArriveLive loads the calls page in headless
// Chromium and records a call once the page listens for events: the DOM
// Chromium dumps holds the call's row, which only console.js could have
// put there. Chromium dumps the DOM once the page has loaded, so the test
// adds an image to the page that loads only after the call was delivered.
func TestChromiumSeesACallArriveLive(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("no " + chromium + ": the headless-browser test needs the distribution's chromium package (.ci/run installs it)")
	}
	r := NewRecorder(100, 0)
	r.Record(layer("before-the-page", 5, time.Now()))
	console := Handler(Options{Recorder: r})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /console/static/slow.svg", func(w http.ResponseWriter, req *http.Request) {
		deadline := time.Now().Add(15 * time.Second)
		for subscribers(r) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		l := layer("arrived-live", 13, time.Now())
		l.DID = "0399999999"
		r.Record(l)
		time.Sleep(time.Second) // for console.js to insert the row
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Write([]byte(`<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>`))
	})
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != Prefix {
			console.ServeHTTP(w, req)
			return
		}
		rec := httptest.NewRecorder()
		console.ServeHTTP(rec, req)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(bytes.Replace(rec.Body.Bytes(), []byte("</main>"), []byte(`<img src="/console/static/slow.svg" alt=""></main>`), 1))
	}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--no-first-run", "--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(), "--timeout=30000", "--dump-dom", srv.URL+Prefix)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	dom := string(out)
	if !strings.Contains(dom, `data-id="before-the-page"`) {
		t.Fatalf("the page lacks the call recorded before it loaded:\n%s", dom)
	}
	if !strings.Contains(dom, `data-id="arrived-live"`) || !strings.Contains(dom, "0399999999") {
		t.Errorf("the call recorded after the page loaded did not appear:\n%s\nchromium said:\n%s", dom, stderr.String())
	}
	if !strings.Contains(dom, `class="live on"`) {
		t.Errorf("the page does not say it is live")
	}
	if os.Getenv("CONSOLE_SCREENSHOT") != "" {
		shot := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
			"--user-data-dir="+t.TempDir(), "--window-size=420,900", "--screenshot=testdata/calls.png", srv.URL+Prefix)
		os.MkdirAll("testdata", 0o755)
		if out, err := shot.CombinedOutput(); err != nil {
			t.Logf("screenshot: %v\n%s", err, out)
		}
	}
}

func subscribers(r *Recorder) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.subs)
}
