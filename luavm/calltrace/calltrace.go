// Package calltrace records what a call's script did on its way to an
// answer, beyond the answer itself: for now, the HTTP requests it made. The
// call log line shows it (so a CRM timeout no longer reads as a plain
// outcome=ok), and a view of one call's journey can read the same record.
//
// The server keeps one Trace per call it answers, resets it before the
// script runs, and exposes it to Go modules through its luavm.Call (see
// Of). A Trace is bounded (MaxRequests recorded, then only counted) and
// holds only Go strings and numbers, never the request's buffers.
package calltrace

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ivrouter/ivrouter/luavm"
	lua "github.com/yuin/gopher-lua"
)

// MaxRequests is how many requests a Trace records; later ones are only
// counted.
const MaxRequests = 32

// Request is one HTTP request a script asked for.
type Request struct {
	Method string
	// URL is scheme://host/path, without the user info, query or fragment,
	// where tokens and callers' numbers travel.
	URL  string
	Host string // host[:port], as the ivrouter_http_* metrics name it
	// Status is the response's status, 0 when there was none.
	Status int
	// Failure is why the script got nil and an error, as a short code
	// (Timeout, CircuitOpen, ...); "" when it got the response.
	Failure string
	// Error is the error message the script got, when Failure is set.
	Error string
	// Took is how long the request took; 0 when nothing was sent.
	Took time.Duration
}

// Request.Failure codes.
const (
	Timeout     = "timeout"      // no answer within the request's timeout or the call's deadline
	CircuitOpen = "circuit_open" // refused unsent: the host's circuit is open
	NoTime      = "no_time"      // refused unsent: the call's deadline had passed
	Denied      = "denied"       // refused: a denied address (the router's own, cloud metadata)
	TooLarge    = "too_large"    // the response's body was over the module's bound
	Failed      = "failed"       // any other error: connection refused, DNS, TLS, ...
)

// Trace is one call's record. Its methods may be called from the call's VM
// and from the server at once (a call cut short at its deadline may still
// finish a request), and on a nil *Trace, which records nothing.
type Trace struct {
	n        atomic.Int32 // requests made, recorded or not
	mu       sync.Mutex
	requests []Request // the first MaxRequests
}

// Reset empties t for the next call, keeping its storage.
func (t *Trace) Reset() {
	if t == nil || t.n.Load() == 0 {
		return
	}
	t.mu.Lock()
	clear(t.requests) // let the strings go
	t.requests = t.requests[:0]
	t.n.Store(0)
	t.mu.Unlock()
}

// AddRequest records one request.
func (t *Trace) AddRequest(r Request) {
	if t == nil {
		return
	}
	t.mu.Lock()
	if len(t.requests) < MaxRequests {
		t.requests = append(t.requests, r)
	}
	t.n.Add(1)
	t.mu.Unlock()
}

// RequestCount is how many requests the call made, MaxRequests or more;
// reading it costs no lock.
func (t *Trace) RequestCount() int {
	if t == nil {
		return 0
	}
	return int(t.n.Load())
}

// Requests appends the recorded requests (at most MaxRequests) to dst, and
// returns it with how many requests the call made in all.
func (t *Trace) Requests(dst []Request) ([]Request, int) {
	if t == nil {
		return dst, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return append(dst, t.requests...), int(t.n.Load())
}

// Traced is a luavm.Call that keeps a Trace.
type Traced interface {
	Trace() *Trace
}

// Of returns the Trace of the call L is answering, or nil when there is no
// call (a script loading) or the call keeps none.
func Of(L *lua.LState) *Trace {
	if c, ok := luavm.CallOf(L).(Traced); ok {
		return c.Trace()
	}
	return nil
}
