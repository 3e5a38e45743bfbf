package server

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium is the distribution's browser, which .ci/run installs.
const chromium = "/usr/bin/chromium"

// screenshots is where the browser test leaves its pictures, ignored by
// git and kept by CI as artifacts.
var screenshots = filepath.Join("console", "testdata")

// browser starts headless Chromium for one test, or skips it. stop ends
// it (also at cleanup): a page's open event stream holds its server's
// Close until then.
func browser(t *testing.T) (ctx context.Context, stop func()) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("no " + chromium + ": the console's browser test needs the distribution's chromium package (.ci/run installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(420, 1400)) // a phone's width
	// Generous: a loaded CI machine starts Chromium slowly; every step
	// below waits for what it needs, so this bounds only a broken run.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	return bctx, func() { bcancel(); acancel() }
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("CONSOLE_SCREENSHOT") == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	os.MkdirAll(screenshots, 0o755)
	if err := os.WriteFile(filepath.Join(screenshots, name), png, 0o644); err != nil {
		t.Log(err)
	}
}

// TestTheConsoleInABrowser drives the console in headless Chromium as an
// integrator would: three calls go through two layers and one gets its
// CDR; the calls page finds that call by its caller, its journey shows
// the layers, the CRM request, the cache and how the call ended; and a
// call made while the calls page is open appears on it without a reload.
func TestTheConsoleInABrowser(t *testing.T) {
	ctx, stop := browser(t)
	crm := &cdrCRM{}
	u, srv := start(t, Config{Scripts: scriptsDir(t, cdrScripts), HTTPTransport: crm,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, c := range []struct{ id, caller string }{{"call-a", "0501111111"}, {"call-b", "0502222222"}, {"call-c", "0503333333"}} {
		for _, layer := range []string{"5", "13"} {
			body := strings.NewReplacer("u-"+layer+"-1234", c.id, "0501234567", c.caller).Replace(string(request(layer, "1234")))
			if a := post(t, u, []byte(body)); a.status != 200 {
				t.Fatalf("%s layer %s: %d %s", c.id, layer, a.status, a.body)
			}
		}
	}
	ch, _ := srv.Console().Subscribe(4)
	defer srv.Console().Unsubscribe(ch)
	if a := post(t, u+CDRPath, sampleCDR("call-b", "ANSWER")); a.status != 200 {
		t.Fatalf("CDR: %d %s", a.status, a.body)
	}
	waitCDR(t, srv, ch, "call-b")
	admin := httptest.NewServer(srv.AdminHandler(false))
	defer admin.Close()
	defer stop()

	// Find the call by its caller, and open its journey.
	err := chromedp.Do(ctx,
		chromedp.Navigate(admin.URL+"/console/"),
		chromedp.WaitVisible(`#calls`),
		chromedp.SetValue(`input[name=caller]`, "2222222"),
		chromedp.Submit(`form.filters`),
		chromedp.WaitVisible(`tr[data-id="call-b"]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#calls tbody tr").length`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`tr[data-id="call-b"] a`), chromedp.WaitVisible(`#ended`)); err != nil {
		t.Fatal(err)
	}
	journey, err := chromedp.Run(ctx, chromedp.Text(`main`))
	if err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Errorf("the caller filter shows %d rows, want call-b alone", rows)
	}
	for _, want := range []string{"Call call-b", "Layer 5", "Layer 13", "layers/5", "layers/13", "GET", "https://crm.example.com/contacts",
		"cache.remember", "DIAL", "How it ended", "ANSWER", "38 s", "Noa", "events/cdr", "https://crm.example.com/calls/call-b", "call ended"} {
		if !strings.Contains(journey, want) {
			t.Errorf("the journey lacks %q:\n%s", want, journey)
		}
	}
	screenshot(t, ctx, "journey.png")

	// A call made while the calls page listens appears on it.
	if err := chromedp.Do(ctx, chromedp.Navigate(admin.URL+"/console/"), chromedp.WaitVisible(`#live.on`)); err != nil { // the event stream is open
		t.Fatal(err)
	}
	post(t, u, []byte(strings.Replace(string(request("5", "1234")), "u-5-1234", "call-live", 1)))
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`tr[data-id="call-live"]`)); err != nil {
		t.Fatal(err)
	}
	live, err := chromedp.Run(ctx, chromedp.Text(`tr[data-id="call-live"]`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(live, "5 → GO_TO_LAYER 13") {
		t.Errorf("the live row reads %q", live)
	}
	screenshot(t, ctx, "calls.png")
}
