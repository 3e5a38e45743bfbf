package console

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/bridge/ivr/speech"
	"github.com/ivrouter/ivrouter/luavm/calltrace"
	"github.com/prometheus/client_golang/prometheus"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is where the console is served on the admin listener.
const Prefix = "/console/"

// MaxStreams bounds the event streams open at once.
const MaxStreams = 32

// ScriptSet describes the scripts serving.
type ScriptSet struct {
	Version, Dir string
	Loaded       time.Time
	Files        []ScriptFile
}

// ScriptFile is one script of the set.
type ScriptFile struct {
	Name, Path string
	Lib        bool
	Event      bool // an events/ script: it receives each CDR
	Deadline   time.Duration
	Fallback   string // the layer it falls back to, "" for the server's
}

// Options configure Handler.
type Options struct {
	Recorder *Recorder
	// Token, when set, is needed from every client (as ?token=, which
	// the console trades for a cookie, or Authorization: Bearer); without
	// one, only loopback clients are served: the rule of the admin
	// listener's write endpoints, since the console shows callers' numbers.
	Token string
	// Gatherer is where the scripts page reads per-script and per-host
	// figures (the server's metrics registry).
	Gatherer prometheus.Gatherer
	// Scripts describes the scripts serving.
	Scripts func() ScriptSet
	// MaskCaller says the numbers shown are masked (--mask-caller).
	MaskCaller bool
	// Heartbeat is how often an idle event stream gets a comment, so
	// proxies keep it open (default 15 s).
	Heartbeat time.Duration
}

type handler struct {
	opts   Options
	pages  map[string]*template.Template
	static http.Handler
	cookie string // the session cookie's value, derived from the token
}

const cookieName = "ivrouter_console"

// Handler serves the console under Prefix.
func Handler(opts Options) http.Handler {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	h := &handler{opts: opts, pages: map[string]*template.Template{}}
	if opts.Token != "" {
		sum := sha256.Sum256([]byte("ivrouter console session\x00" + opts.Token))
		h.cookie = hex.EncodeToString(sum[:])
	}
	for _, page := range []string{"calls", "call", "scripts", "error"} {
		h.pages[page] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html"))
	}
	sub, _ := fs.Sub(staticFS, "static")
	h.static = http.StripPrefix(Prefix+"static/", http.FileServerFS(sub))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusFound)
	})
	mux.HandleFunc("GET "+Prefix+"{$}", h.calls)
	mux.HandleFunc("GET "+Prefix+"call/{id}", h.call)
	mux.HandleFunc("GET "+Prefix+"scripts", h.scripts)
	mux.HandleFunc("GET "+Prefix+"events", h.events)
	mux.Handle("GET "+Prefix+"static/", h.static)
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, http.StatusNotFound, "No such page.")
	})
	return h.guard(mux)
}

// securityHeaders are set on every answer: no script but the console's
// own file, no framing, no referrer (a URL may carry ?token=).
func securityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
}

// guard applies the access rule: with a token, a request carrying it (a
// ?token= is traded for an HttpOnly cookie and a redirect, so it leaves
// the address bar and history); without, loopback clients only.
func (h *handler) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		if h.opts.Token == "" {
			if !Loopback(r.RemoteAddr) {
				h.fail(w, http.StatusForbidden, "The console shows callers' numbers: it answers loopback clients only when no admin token is set. Reach it through an SSH tunnel, or set --admin-token.")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if q := r.URL.Query(); q.Has("token") {
			if !equal(q.Get("token"), h.opts.Token) {
				h.unauthorized(w)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: cookieName, Value: h.cookie, Path: "/console", HttpOnly: true,
				SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
			q.Del("token")
			u := *r.URL
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "Bearer ") {
			if equal(strings.TrimSpace(auth[7:]), h.opts.Token) {
				next.ServeHTTP(w, r)
				return
			}
		} else if c, err := r.Cookie(cookieName); err == nil && equal(c.Value, h.cookie) {
			next.ServeHTTP(w, r)
			return
		}
		h.unauthorized(w)
	})
}

func (h *handler) unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="ivrouter console"`)
	h.fail(w, http.StatusUnauthorized, "Open the console with ?token=ADMIN_TOKEN (--admin-token, else --token) once; it is then kept in a cookie for this browser session.")
}

func equal(a, b string) bool {
	x, y := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}

// Loopback reports whether a peer address is on this machine's loopback.
func Loopback(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

func (h *handler) fail(w http.ResponseWriter, code int, msg string) {
	h.render(w, code, "error", map[string]any{"Title": http.StatusText(code), "Message": msg})
}

func (h *handler) render(w http.ResponseWriter, code int, page string, data any) {
	var buf bytes.Buffer
	if err := h.pages[page].Execute(&buf, data); err != nil {
		http.Error(w, "rendering "+page+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// maxRows is how many calls the calls page lists (?limit= up to it).
const maxRows = 500

// Row is a call as the calls page lists it and the event stream sends it.
type Row struct {
	ID      string `json:"id"`
	Time    string `json:"time"`
	Date    string `json:"date"`
	DID     string `json:"did"`
	Caller  string `json:"caller"`
	Path    string `json:"path"`
	Layers  int    `json:"layers"`
	Outcome string `json:"outcome"`
	Trouble bool   `json:"trouble"` // a request ended other than ok or fallback
	MS      string `json:"ms"`
	Ended   string `json:"ended"` // the CDR's status and duration, once it came
	URL     string `json:"url"`
}

func rowOf(c *Call) Row {
	last := c.Last()
	r := Row{ID: c.ID, Time: last.Time.UTC().Format("15:04:05.000"), Date: last.Time.UTC().Format("2006-01-02"),
		DID: last.DID, Caller: last.Caller, Layers: len(c.Layers) + c.Dropped, Outcome: last.Outcome,
		MS: ms(last.Took), URL: Prefix + "call/" + url.PathEscape(c.ID)}
	var path strings.Builder
	if c.Dropped > 0 {
		path.WriteString("… ")
	}
	for i := range c.Layers {
		l := &c.Layers[i]
		if i > 0 {
			path.WriteString(" → ")
		}
		path.WriteString(strconv.Itoa(l.LayerID))
		if l.Outcome != "ok" && l.Outcome != "fallback" {
			r.Trouble = true
		}
	}
	if last.Action != "" {
		path.WriteString(" → " + last.Action)
		if last.Target != "" {
			path.WriteString(" " + last.Target)
		}
	}
	r.Path = path.String()
	if c.CDR != nil {
		r.Ended = c.CDR.Status + " " + strconv.Itoa(c.CDR.Duration) + " s"
	}
	return r
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

var outcomes = []string{"ok", "fallback", "script_error", "timeout", "busy", "shutdown"}

func (h *handler) calls(w http.ResponseWriter, r *http.Request) {
	f, problems := ParseFilter(r.URL.Query(), time.Now())
	limit := 100
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 {
		limit = min(n, maxRows)
	}
	calls := h.opts.Recorder.Calls(f, limit)
	rows := make([]Row, len(calls))
	for i := range calls {
		rows[i] = rowOf(&calls[i])
	}
	q := f.Query()
	q.Set("limit", strconv.Itoa(limit))
	h.render(w, http.StatusOK, "calls", map[string]any{
		"Title": "Calls", "Rows": rows, "Filter": f, "Problems": problems, "Outcomes": outcomes,
		"Since": r.URL.Query().Get("since"), "Until": r.URL.Query().Get("until"),
		"Events": Prefix + "events?" + q.Encode(), "Limit": limit,
		"Stats": h.opts.Recorder.Stats(), "Masked": h.opts.MaskCaller,
	})
}

// Step is one layer of a journey as the call page shows it.
type Step struct {
	Layer
	N          int
	When       string
	Pretty     string // the answer, indented
	Words      string // the answer as the caller hears it and where it goes
	MS         string
	Deadline   string
	Late       bool
	CRM        []CRMRequest
	More       int // requests made past those recorded
	MoreLogs   int // lines logged past those recorded
	MoreCaches int // cache lookups past those recorded
}

// CRMRequest is one of a step's CRM requests.
type CRMRequest struct {
	Method, URL, Status, Error, MS string
	Failed                         bool
}

func stepOf(n int, l *Layer) Step {
	s := Step{Layer: *l, N: n, When: l.Time.UTC().Format("2006-01-02 15:04:05.000"), MS: ms(l.Took),
		Deadline: ms(l.Deadline), Late: l.Deadline > 0 && l.Took > l.Deadline, More: l.HTTPTotal - len(l.Requests),
		MoreLogs: l.LogTotal - len(l.Logs)}
	var pretty bytes.Buffer
	if json.Indent(&pretty, []byte(l.Answer), "", "  ") == nil {
		s.Pretty = pretty.String()
	} else {
		s.Pretty = l.Answer
	}
	if a, err := ivr.ParseAnswer([]byte(l.Answer)); err == nil {
		s.Words = speech.Describe(a)
	}
	s.CRM = crmRequests(l.Requests)
	s.MoreCaches = l.CacheTotal - len(l.Caches)
	return s
}

// crmRequests are trace requests as the call page lists them.
func crmRequests(reqs []calltrace.Request) []CRMRequest {
	out := make([]CRMRequest, 0, len(reqs))
	for _, rq := range reqs {
		c := CRMRequest{Method: rq.Method, URL: rq.URL, MS: ms(rq.Took), Error: rq.Failure}
		if rq.Status > 0 {
			c.Status = strconv.Itoa(rq.Status)
		}
		if rq.Error != "" {
			c.Error = rq.Failure + ": " + rq.Error
		}
		c.Failed = rq.Failure != "" || rq.Status >= 400
		out = append(out, c)
	}
	return out
}

func (h *handler) call(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c, ok := h.opts.Recorder.Get(id)
	if !ok {
		h.fail(w, http.StatusNotFound, "No call "+strconv.Quote(id)+" in the console's memory: it may have been evicted (the ring keeps the most recent calls), or not yet have reached ivrouter.")
		return
	}
	steps := make([]Step, len(c.Layers))
	for i := range c.Layers {
		steps[i] = stepOf(c.Dropped+i+1, &c.Layers[i])
	}
	var ended map[string]any
	if c.CDR != nil {
		ended = map[string]any{"CDR": c.CDR, "CRM": crmRequests(c.CDR.Requests), "More": c.CDR.HTTPTotal - len(c.CDR.Requests),
			"MoreLogs": c.CDR.LogTotal - len(c.CDR.Logs), "When": c.CDR.Received.UTC().Format("2006-01-02 15:04:05.000")}
	}
	h.render(w, http.StatusOK, "call", map[string]any{
		"Title": "Call " + c.ID, "Call": c, "Row": rowOf(&c), "Steps": steps, "Ended": ended,
		"Events": Prefix + "events?" + (Filter{ID: c.ID}).Query().Encode(), "Masked": h.opts.MaskCaller,
	})
}

func (h *handler) scripts(w http.ResponseWriter, r *http.Request) {
	var set ScriptSet
	if h.opts.Scripts != nil {
		set = h.opts.Scripts()
	}
	ss, hs, err := gatherStats(h.opts.Gatherer)
	var gatherErr string
	if err != nil {
		gatherErr = err.Error()
	}
	h.render(w, http.StatusOK, "scripts", map[string]any{
		"Title": "Scripts", "Set": set, "Reloads": h.opts.Recorder.Reloads(), "Stats": ss, "Hosts": hs,
		"GatherError": gatherErr, "Ring": h.opts.Recorder.Stats(),
	})
}

// events streams, as Server-Sent Events named "call", the Row of each
// call matching the query's filter whenever it gets a layer.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	f, _ := ParseFilter(r.URL.Query(), time.Now())
	f.Since, f.Until = time.Time{}, time.Time{} // live: whatever arrives is new
	ch, ok := h.opts.Recorder.Subscribe(MaxStreams)
	if !ok {
		http.Error(w, "too many open event streams", http.StatusServiceUnavailable)
		return
	}
	defer h.opts.Recorder.Unsubscribe(ch)
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n: ivrouter console\n\n")
	if rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(h.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case id := <-ch:
			c, ok := h.opts.Recorder.Get(id)
			if !ok || !f.Match(&c) {
				continue
			}
			b, _ := json.Marshal(rowOf(&c))
			fmt.Fprintf(w, "event: call\ndata: %s\n\n", b)
		}
		if rc.Flush() != nil {
			return
		}
	}
}

var funcs = template.FuncMap{
	"ms": ms,
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return time.Since(t).Round(time.Second).String() + " ago"
	},
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 MST")
	},
	"mib": func(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) },
	// logsOf shapes a CDR script's log lines as the "logs" template
	// takes a step's.
	"logsOf": func(logs []calltrace.Log, total, more int) map[string]any {
		return map[string]any{"Logs": logs, "LogTotal": total, "MoreLogs": more}
	},
}
