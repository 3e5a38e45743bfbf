package console

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/luavm/calltrace"
)

var t0 = time.Date(2026, 12, 1, 7, 30, 0, 0, time.UTC)

func layer(id string, n int, at time.Time) Layer {
	return Layer{Time: at, CallID: id, DID: "0722776772", Caller: "0501234567", LayerID: n, DTMF: "1",
		Script: "layers/5", Action: "GO_TO_LAYER", Target: "13", Answer: `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":13}`,
		Took: 7 * time.Millisecond, Deadline: 3 * time.Second, Outcome: "ok"}
}

func TestCallsAreGroupedAndTheMostRecentlyActiveComeFirst(t *testing.T) {
	r := NewRecorder(10, 0)
	r.Record(layer("a", 5, t0))
	r.Record(layer("b", 5, t0.Add(time.Second)))
	r.Record(layer("a", 13, t0.Add(2*time.Second)))
	calls := r.Calls(Filter{}, 10)
	if len(calls) != 2 || calls[0].ID != "a" || calls[1].ID != "b" {
		t.Fatalf("calls %v, want a then b", ids(calls))
	}
	if got := calls[0].Layers; len(got) != 2 || got[0].LayerID != 5 || got[1].LayerID != 13 {
		t.Errorf("a's layers %+v, want 5 then 13", got)
	}
	if rowOf(&calls[0]).Path != "5 → 13 → GO_TO_LAYER 13" {
		t.Errorf("path %q", rowOf(&calls[0]).Path)
	}
	// A reader's copy does not see later layers.
	r.Record(layer("a", 21, t0.Add(3*time.Second)))
	if len(calls[0].Layers) != 2 {
		t.Errorf("a copy changed: %d layers", len(calls[0].Layers))
	}
	if c, _ := r.Get("a"); len(c.Layers) != 3 {
		t.Errorf("a has %d layers, want 3", len(c.Layers))
	}
}

func TestALoopingCallKeepsItsLatestLayers(t *testing.T) {
	r := NewRecorder(10, 0)
	for i := range MaxLayers*3 + 5 {
		r.Record(layer("loop", i, t0))
	}
	c, _ := r.Get("loop")
	if len(c.Layers) > MaxLayers || c.Dropped+len(c.Layers) != MaxLayers*3+5 || c.Last().LayerID != MaxLayers*3+4 {
		t.Errorf("%d layers kept, %d dropped, last %d", len(c.Layers), c.Dropped, c.Last().LayerID)
	}
}

func ids(calls []Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.ID)
	}
	return out
}

// The ring stays within its call count and byte budget however many
// calls pass, and the heap with it.
func TestTheRingIsBounded(t *testing.T) {
	const calls, budget = 1000, 2 << 20
	r := NewRecorder(calls, budget)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	big := strings.Repeat("x", 400)
	for i := range 100_000 {
		l := layer(fmt.Sprintf("call-%06d", i), 5, t0.Add(time.Duration(i)*time.Millisecond))
		l.Error = big
		l.Requests = []calltrace.Request{{Method: "GET", URL: "https://crm.example.com/contacts/" + big[:50], Host: "crm.example.com", Status: 200}}
		r.Record(l)
		if i%2 == 0 {
			r.Record(layer(l.CallID, 13, l.Time))
		}
	}
	st := r.Stats()
	if st.Calls > calls || st.Bytes > budget || st.Evicted < 100_000-calls {
		t.Fatalf("held %d calls in %d bytes, %d evicted: over %d calls, %d bytes", st.Calls, st.Bytes, st.Evicted, calls, budget)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 2*budget {
		t.Errorf("the heap grew %d bytes holding a ring of %d", grew, budget)
	}
	if got := r.Calls(Filter{}, 1); got[0].ID != "call-099999" {
		t.Errorf("newest %s", got[0].ID)
	}
	if _, ok := r.Get("call-000000"); ok {
		t.Error("the oldest call was kept")
	}
	// Past the call count alone.
	r = NewRecorder(10, 0)
	for i := range 1000 {
		r.Record(layer(fmt.Sprint(i), 1, t0))
	}
	if st := r.Stats(); st.Calls != 10 {
		t.Errorf("%d calls held, want 10", st.Calls)
	}
}

func TestFilters(t *testing.T) {
	r := NewRecorder(10, 0)
	a := layer("a", 5, t0)
	r.Record(a)
	b := layer("b", 5, t0.Add(time.Hour))
	b.DID, b.Caller, b.Outcome = "0399999999", "0527777777", "timeout"
	r.Record(b)
	r.Record(layer("b", 13, t0.Add(time.Hour)))
	for _, tc := range []struct {
		query string
		want  string
	}{
		{"", "b,a"},
		{"did=0399", "b"},
		{"caller=7777", "b"},
		{"layer=13", "b"},
		{"layer=5", "b,a"},
		{"outcome=timeout", "b"},
		{"outcome=ok", "b,a"},
		{"outcome=busy", ""},
		{"since=2026-12-01T08:00", "b"},
		{"until=2026-12-01T08:00", "a"},
		{"since=2026-12-01T08:30:00Z", "b"},
		{"since=10m", ""},
		{"id=a", "a"},
		{"did=0399&layer=99", ""},
	} {
		q, _ := url.ParseQuery(tc.query)
		f, problems := ParseFilter(q, t0.Add(3*time.Hour))
		if len(problems) > 0 {
			t.Errorf("%s: %v", tc.query, problems)
		}
		if got := strings.Join(ids(r.Calls(f, 10)), ","); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.query, got, tc.want)
		}
		// A filter survives its round trip through a link.
		g, _ := ParseFilter(f.Query(), t0)
		if strings.Join(ids(r.Calls(g, 10)), ",") != tc.want {
			t.Errorf("%s: round trip %v", tc.query, f.Query())
		}
	}
	_, problems := ParseFilter(url.Values{"layer": {"x"}, "since": {"yesterday"}}, t0)
	if len(problems) != 2 {
		t.Errorf("problems %v", problems)
	}
}

func get(t *testing.T, h http.Handler, remote, target string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	req.RemoteAddr = remote
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func checkHeaders(t *testing.T, w *httptest.ResponseRecorder, what string) {
	t.Helper()
	csp := w.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("%s: CSP %q", what, csp)
	}
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s: %s %q, want %q", what, k, got, v)
		}
	}
}

func TestHostileValuesAreEscaped(t *testing.T) {
	r := NewRecorder(10, 0)
	l := layer(`x"><script>alert(1)</script>`, 5, t0)
	l.CallerName = "<script>alert('name')</script>"
	l.DID = `<img src=x onerror=alert(1)>`
	l.Error = "</code><script>alert(2)</script>"
	l.Answer = `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":13,"CALLER_NAME":"<script>alert(3)</script>"}`
	l.Requests = []calltrace.Request{{Method: "GET", URL: "https://crm/<script>", Host: "crm", Failure: "failed", Error: "<b>boom</b>"}}
	l.HTTPTotal = 1
	r.Record(l)
	h := Handler(Options{Recorder: r})
	for _, target := range []string{"/console/", "/console/call/" + url.PathEscape(l.CallID)} {
		w := get(t, h, "127.0.0.1:5000", target)
		body := w.Body.String()
		if w.Code != 200 {
			t.Fatalf("%s: %d\n%s", target, w.Code, body)
		}
		checkHeaders(t, w, target)
		for _, bad := range []string{"<script>alert", "<img src", "<b>boom"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s shows %q unescaped", target, bad)
			}
		}
		if !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Errorf("%s: the DID is not shown escaped", target)
		}
		if n := strings.Count(body, "<script"); n != 1 { // the console's own, by src
			t.Errorf("%s: %d script tags", target, n)
		}
	}
	w := get(t, h, "127.0.0.1:5000", "/console/call/"+url.PathEscape(l.CallID))
	if !strings.Contains(w.Body.String(), "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;") {
		t.Errorf("the caller name is not shown escaped")
	}
}

func TestAccess(t *testing.T) {
	r := NewRecorder(10, 0)
	r.Record(layer("a", 5, t0))
	open := Handler(Options{Recorder: r})
	for _, tc := range []struct {
		remote string
		want   int
	}{{"127.0.0.1:5000", 200}, {"[::1]:5000", 200}, {"10.0.0.7:5000", 403}, {"[::ffff:127.0.0.1]:1", 200}} {
		for _, target := range []string{"/console/", "/console/call/a", "/console/scripts", "/console/static/console.js"} {
			w := get(t, open, tc.remote, target)
			if w.Code != tc.want {
				t.Errorf("no token, %s %s: %d, want %d", tc.remote, target, w.Code, tc.want)
			}
			checkHeaders(t, w, target)
		}
	}
	h := Handler(Options{Recorder: r, Token: "s3cret"})
	for _, remote := range []string{"127.0.0.1:5000", "10.0.0.7:5000"} {
		if w := get(t, h, remote, "/console/"); w.Code != 401 {
			t.Errorf("token set, none sent from %s: %d", remote, w.Code)
		}
		if w := get(t, h, remote, "/console/?token=wrong"); w.Code != 401 {
			t.Errorf("wrong token from %s: %d", remote, w.Code)
		}
		if w := get(t, h, remote, "/console/", "Authorization", "Bearer s3cret"); w.Code != 200 {
			t.Errorf("bearer from %s: %d", remote, w.Code)
		}
		if w := get(t, h, remote, "/console/", "Cookie", cookieName+"=s3cret"); w.Code != 401 {
			t.Errorf("the token itself as the cookie from %s: %d", remote, w.Code)
		}
		w := get(t, h, remote, "/console/?did=07&token=s3cret")
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/?did=07" {
			t.Fatalf("?token= from %s: %d to %q", remote, w.Code, w.Header().Get("Location"))
		}
		cookie := w.Result().Cookies()[0]
		if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || strings.Contains(cookie.Value, "s3cret") {
			t.Errorf("cookie %+v", cookie)
		}
		if w := get(t, h, remote, "/console/call/a", "Cookie", cookie.String()); w.Code != 200 {
			t.Errorf("cookie from %s: %d", remote, w.Code)
		}
	}
}

func TestJourneyPage(t *testing.T) {
	r := NewRecorder(10, 0)
	l := layer("j", 5, t0)
	l.Action, l.Target = "SAY_DIGITS", "2"
	l.Answer = `{"STATUS":0,"ACTION":"SAY_DIGITS","LANGUAGE":"EN","NEXT_LAYER":2,"DATA":[{"RecordType":"Number","Content":"112"}]}`
	l.Requests = []calltrace.Request{{Method: "GET", URL: "https://crm.example.com/contacts", Host: "crm.example.com", Status: 200, Took: 12 * time.Millisecond}}
	l.HTTPTotal = 3
	r.Record(l)
	h := Handler(Options{Recorder: r})
	body := get(t, h, "127.0.0.1:1", "/console/call/j").Body.String()
	for _, want := range []string{"one hundred and twelve", "https://crm.example.com/contacts", "and 2 more", "7.0 ms of 3000.0 ms", "layers/5", "SAY_DIGITS"} {
		if !strings.Contains(body, want) {
			t.Errorf("the journey lacks %q", want)
		}
	}
	if w := get(t, h, "127.0.0.1:1", "/console/call/nope"); w.Code != 404 {
		t.Errorf("unknown call: %d", w.Code)
	}
}

func TestEventsDeliverANewCall(t *testing.T) {
	r := NewRecorder(10, 0)
	srv := httptest.NewServer(Handler(Options{Recorder: r}))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/console/events?did=0722")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	rd := bufio.NewReader(res.Body)
	readUntil(t, rd, ": ivrouter console")
	other := layer("other", 5, t0)
	other.DID = "0399999999" // filtered out
	r.Record(other)
	r.Record(layer("live-1", 5, t0))
	data := readUntil(t, rd, "data: ")
	var row Row
	if err := json.Unmarshal([]byte(strings.TrimPrefix(data, "data: ")), &row); err != nil || row.ID != "live-1" || row.URL != "/console/call/live-1" {
		t.Errorf("event %q: %+v %v", data, row, err)
	}
}

func readUntil(t *testing.T, rd *bufio.Reader, prefix string) string {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				done <- "error: " + err.Error()
				return
			}
			if strings.HasPrefix(line, prefix) {
				done <- strings.TrimSpace(line)
				return
			}
		}
	}()
	select {
	case line := <-done:
		if strings.HasPrefix(line, "error: ") {
			t.Fatal(line)
		}
		return line
	case <-time.After(5 * time.Second):
		t.Fatalf("no %q within 5s", prefix)
	}
	return ""
}

func TestStaticFilesAreServed(t *testing.T) {
	h := Handler(Options{Recorder: NewRecorder(1, 0)})
	w := get(t, h, "127.0.0.1:1", "/console/static/console.js")
	if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Type"), "javascript") || !strings.Contains(w.Body.String(), "EventSource") {
		t.Errorf("console.js: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	if w := get(t, h, "127.0.0.1:1", "/console"); w.Code != http.StatusFound {
		t.Errorf("/console: %d", w.Code)
	}
	_ = io.Discard
}

// BenchmarkRecord is the console's cost on the hot path: a layer of a
// new call, and a layer of a call that loops through the same layers.
func BenchmarkRecord(b *testing.B) {
	ids := make([]string, 1<<16)
	for i := range ids {
		ids[i] = fmt.Sprintf("call-%08d", i)
	}
	b.Run("new-call", func(b *testing.B) {
		r := NewRecorder(10000, 0)
		l := layer("", 5, t0)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			l.CallID = ids[i&(len(ids)-1)]
			r.Record(l)
		}
	})
	b.Run("same-call", func(b *testing.B) {
		r := NewRecorder(10000, 0)
		l := layer("loop", 5, t0)
		b.ReportAllocs()
		for b.Loop() {
			r.Record(l)
		}
	})
}

// A CDR joins a held call, replaces an earlier one, counts against the
// byte budget and brings the call to the front; a CDR for a call the ring
// does not hold takes no place in it.
func TestACDRJoinsOnlyAHeldCall(t *testing.T) {
	r := NewRecorder(10, 0)
	r.Record(layer("a", 5, t0))
	r.Record(layer("b", 5, t0.Add(time.Second)))
	before := r.Stats().Bytes
	if r.SetCDR("never-seen", CDR{Status: "ANSWER"}) {
		t.Fatal("a CDR for an unknown call was kept")
	}
	if st := r.Stats(); st.Calls != 2 || st.Bytes != before {
		t.Fatalf("an unknown call's CDR changed the ring: %+v", st)
	}
	big := CDR{Status: "ANSWER", Duration: 38, RecordURL: strings.Repeat("x", 10000), Layers: []CDRLayer{{ID: 5, Name: "ID"}}}
	if !r.SetCDR("a", big) {
		t.Fatal("a held call's CDR was refused")
	}
	grown := r.Stats().Bytes
	if grown < before+10000 {
		t.Errorf("the CDR's bytes are not counted: %d → %d", before, grown)
	}
	if calls := r.Calls(Filter{}, 10); ids(calls)[0] != "a" || rowOf(&calls[0]).Ended != "ANSWER 38 s" {
		t.Errorf("after its CDR, a is not first with its end: %v", ids(calls))
	}
	r.SetCDR("a", CDR{Status: "NOANSWER", Duration: 3})
	c, _ := r.Get("a")
	if c.CDR.Status != "NOANSWER" || r.Stats().Bytes >= grown {
		t.Errorf("a newer CDR did not replace the old one: %+v, %d bytes", c.CDR, r.Stats().Bytes)
	}

	// Past the byte budget, the least recently active call goes.
	small := NewRecorder(10, 4000)
	small.Record(layer("old", 5, t0))
	small.Record(layer("new", 5, t0.Add(time.Second)))
	small.SetCDR("new", CDR{Status: "ANSWER", RecordURL: strings.Repeat("x", 3000)})
	if _, ok := small.Get("old"); ok || small.Stats().Bytes > 4000 {
		t.Errorf("the ring kept %d bytes and the old call over a 4000-byte budget", small.Stats().Bytes)
	}
}
