package scripttest

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ivrouter/ivrouter/bridge/cache"
	"github.com/ivrouter/ivrouter/bridge/state"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/server"
	"github.com/ivrouter/ivrouter/server/cdr"
	"github.com/valyala/fasthttp"
)

// Harness is a server built as the runner builds one for a case, for
// programs that answer calls outside a test run (ivrouter simulate): one
// VM, the clock it is given, stores that keep serve's bounds and judge
// expiry by that clock, the scripts' HTTP requests answered by stubs or
// sent on and recorded, and a log kept per request. Requests go to the
// server's own handler, in memory, so what comes back is what serve would
// answer under the same Config.
//
// A Harness answers one request at a time (Do is not for concurrent use)
// and holds state (the state and cache modules') from one request to the
// next, as serve holds it across the layers of a call.
type Harness struct {
	srv   *server.Server
	at    atomic.Pointer[time.Time] // nil: the real clock
	rec   *recorder
	stubs *transport // nil without stubs
	cache *store
	state *store
	log   *capture
}

// Setup is what a Harness is built from.
type Setup struct {
	// Config is the server's: serve's settings (scripts directory, fallback
	// layer, language, deadline, Timezone as given: nil is the machine's
	// zone, as serve's), ScriptEnv included. The Harness replaces its VMs,
	// Clock, HTTPTransport, stores and logs, and drops what guards the
	// front door (Token, AllowIPs, TrustProxies, TLS): in-memory requests
	// carry no token and come from nowhere in particular.
	Config server.Config
	// At freezes the clock: every call sees this instant (time.now), until
	// a Request moves it. Zero is the real clock, as serve.
	At time.Time
	// Stubs answer the scripts' HTTP requests; a request none matches gets
	// an error and is listed in Exchange.Unstubbed. Nil sends the requests
	// through Transport.
	Stubs *Stubs
	// Transport carries the requests when Stubs is nil; nil is a pooled
	// transport of the network (NetworkTransport).
	Transport http.RoundTripper
	// Cache and State seed the stores, fresh for SeedTTL on the clock;
	// State's entries are the call Call's (its IVR_UNIQUE_ID).
	Cache, State map[string]any
	Call         string
}

// Request is one request to a Harness.
type Request struct {
	// Path is where it is posted: "/" or "/NAME".
	Path string
	// Body is the IVR_LAYER_INPUT JSON (see Call.Body).
	Body []byte
	// At, when not zero and the clock is frozen, moves the clock there
	// first.
	At time.Time
	// CDR, when set, makes the request a CDR instead (Path and Body are
	// not used): the events script (server.CDRScript, events/cdr.lua)
	// runs on it as serve runs it on a CDR posted to server.CDRPath, but
	// on Do's goroutine, so that Do returns with its outcome.
	CDR *cdr.Record
}

// Exchange is what one request did.
type Exchange struct {
	// Status and Body are the HTTP answer: Body is the exact JSON. A CDR
	// has none (0 and nil): the events script's return value is ignored.
	Status int
	Body   []byte
	// Outcome, Error and Script are the call line's: ok, script_error,
	// fallback (no script for the layer), ...; the Lua error with its
	// file:line; the script that answered (layers/5, id-entry), empty for
	// none. A CDR's are the events script's run: ok, script_error,
	// timeout, busy, or not_found without events/cdr.lua.
	Outcome, Error, Script string
	// Log is the script's own lines, "LEVEL message k=v ... (file:line)".
	Log []string
	// HTTP is the requests the script made, in order.
	HTTP []HTTPRequest
	// Unstubbed lists the requests ("METHOD URL") no stub matched.
	Unstubbed []string
}

// HTTPRequest is one request a script made: what was asked, and the
// status or the transport's error.
type HTTPRequest struct {
	Method, URL string
	Status      int    // 0 with Err
	Err         string // a network error, a stub's error or timeout, no stub
	Took        time.Duration
}

// String is "METHOD URL", as test files list requests.
func (r HTTPRequest) String() string { return r.Method + " " + r.URL }

// NewHarness builds the server of s.
func NewHarness(s Setup) (*Harness, error) {
	h := &Harness{log: &capture{}}
	now := time.Now
	cfg := s.Config
	cfg.Clock = nil
	if !s.At.IsZero() {
		at := s.At
		h.at.Store(&at)
		now = func() time.Time { return *h.at.Load() }
		cfg.Clock = now
	}
	// The stores keep serve's bounds, as the modules' own stores would.
	h.cache = newStore(now, cache.DefaultGrace, orDefault(cfg.CacheEntries, cache.DefaultMaxEntries),
		orDefault(cfg.CacheBytes, cache.DefaultMaxBytes))
	h.state = newStore(now, 0, state.DefaultMaxCalls, orDefault(cfg.StateBytes, state.DefaultMaxBytes))
	for k, v := range s.Cache {
		h.cache.seed(k, v)
	}
	if len(s.State) > 0 {
		h.state.seed(s.Call, s.State)
	}
	inner := s.Transport
	switch {
	case s.Stubs != nil:
		h.stubs = &transport{stubs: s.Stubs.lists}
		inner = h.stubs
	case inner == nil:
		inner = NetworkTransport()
	}
	h.rec = &recorder{next: inner}
	cfg.VMs = 1
	cfg.HTTPTransport, cfg.CacheStore, cfg.StateStore = h.rec, h.cache, h.state
	cfg.Logger = slog.New(handler{c: h.log})
	cfg.CallLog, cfg.CallLogJSON, cfg.MaskCaller = h.log, true, false
	cfg.Token, cfg.AllowIPs, cfg.TrustProxies, cfg.TLSCert, cfg.TLSKey = "", nil, nil, "", ""
	var err error
	h.srv, err = server.New(cfg)
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Close stops the server's VM.
func (h *Harness) Close() { h.srv.Engine().Close() }

// clientAddr is where the in-memory requests come from.
var clientAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}

// Do sends r through the server's handler, in memory, and returns what it
// did.
func (h *Harness) Do(r Request) *Exchange {
	if !r.At.IsZero() && h.at.Load() != nil {
		at := r.At
		h.at.Store(&at)
	}
	if r.CDR != nil {
		return h.doCDR(r.CDR)
	}
	var req fasthttp.Request
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(r.Path)
	req.Header.SetContentType("application/json")
	req.SetBody(r.Body)
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, clientAddr, nil)
	h.srv.Handler(&ctx)
	x := &Exchange{Status: ctx.Response.StatusCode(), Body: append([]byte(nil), ctx.Response.Body()...)}
	calls := h.take(x)
	if len(calls) > 0 {
		last := calls[len(calls)-1]
		x.Outcome, x.Error, x.Script = last.outcome, last.err, last.script
	}
	return x
}

// doCDR runs the events script on rec and returns what it did.
func (h *Harness) doCDR(rec *cdr.Record) *Exchange {
	outcome, _, err := h.srv.RunEvent(rec)
	x := &Exchange{Outcome: outcome, Script: server.CDRScript}
	switch {
	case errors.Is(err, luavm.ErrNoScript):
		x.Script, x.Error = "", "no script answers "+server.CDRScript+" (no "+server.CDRScript+".lua)"
	case err != nil:
		x.Error = err.Error()
	}
	h.take(x)
	return x
}

// take moves into x the requests and the script's log lines of the
// request just done, and returns its call lines.
func (h *Harness) take(x *Exchange) []callLine {
	x.HTTP = h.rec.take()
	if h.stubs != nil {
		x.Unstubbed = h.stubs.take()
	}
	logs, calls := h.log.take()
	x.Log = logs
	return calls
}

// NetworkTransport is a pooled transport of the network, for a Harness
// without stubs. Unlike serve's, its dials do not check the addresses
// scripts may not reach: the http module checks URLs that name an IP
// (the cloud metadata address, Config.DenyHosts), not names resolving to
// one; the dial refuses the metadata addresses whatever name led there.
func NetworkTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}
	t.DialContext = dialer.DialContext
	dialer.Control = func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(host); ip != nil && (ip.Equal(metadataV4) || ip.Equal(metadataV6)) {
			return errors.New("the cloud metadata address is not for scripts")
		}
		return nil
	}
	return t
}

var (
	metadataV4 = net.ParseIP("169.254.169.254")
	metadataV6 = net.ParseIP("fd00:ec2::254")
)

// recorder records the requests it carries: method, URL, status or error,
// and how long each took.
type recorder struct {
	next     http.RoundTripper
	mu       sync.Mutex
	requests []HTTPRequest
}

// RoundTrip implements http.RoundTripper.
func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	res, err := r.next.RoundTrip(req)
	rec := HTTPRequest{Method: req.Method, URL: req.URL.String(), Took: time.Since(start)}
	if err != nil {
		rec.Err = err.Error()
	} else {
		rec.Status = res.StatusCode
	}
	r.mu.Lock()
	r.requests = append(r.requests, rec)
	r.mu.Unlock()
	return res, err
}

func (r *recorder) take() []HTTPRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.requests
	r.requests = nil
	return out
}

// Call is one IVR_LAYER_INPUT request's fields, as Voicenter sends them.
type Call struct {
	DID, CallerID, UniqueID string
	// DTMF is sent when not empty (the script then sees "0").
	DTMF    string
	LayerID int
	// PreviousLayerID is sent when HasPrevious.
	PreviousLayerID int
	HasPrevious     bool
	// CustomData is sent as CUSTOM_DATA when not nil: a JSON object.
	CustomData json.RawMessage
}

// Body is the request's JSON, every ID a string as Voicenter sends it.
func (c Call) Body() []byte {
	d := wireData{DID: c.DID, CallerID: c.CallerID, UniqueID: c.UniqueID, DTMF: c.DTMF,
		LayerID: itoa(c.LayerID), CustomData: c.CustomData}
	if c.HasPrevious {
		d.Previous = itoa(c.PreviousLayerID)
	}
	return wireBody(d)
}
