// Package calltrace records what a call's script did on its way to an
// answer, beyond the answer itself: the HTTP requests it made, its cache
// lookups, and the lines it logged. The call log line shows the requests (so a CRM timeout no longer reads as a plain
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

// MaxLogs is how many of a script's log lines a Trace records, and
// MaxLogBytes how long each line's fields may be; later lines are only
// counted.
const (
	MaxLogs     = 16
	MaxLogBytes = 512
)

// Log is one line a script wrote with the log module (and that the log
// level let through).
type Log struct {
	Time    time.Time
	Level   string // DEBUG, INFO, WARN, ERROR
	Message string
	Where   string // the Lua file:line
	Fields  string // name=value ..., at most MaxLogBytes
}

// Trace is one call's record. Its methods may be called from the call's VM
// and from the server at once (a call cut short at its deadline may still
// finish a request), and on a nil *Trace, which records nothing.
type Trace struct {
	n        atomic.Int32 // requests made, recorded or not
	mu       sync.Mutex
	requests []Request // the first MaxRequests
	nl       atomic.Int32
	logs     []Log // the first MaxLogs
	nc       atomic.Int32
	caches   []Cache // the first MaxCaches
}

// MaxCaches is how many cache lookups a Trace records; later ones are only
// counted.
const MaxCaches = 32

// Cache is one lookup a script made in the cache module: the answer to
// "did this call ask the CRM, or was it served from the cache?".
type Cache struct {
	Op     string // get, remember
	Key    string // at most MaxLogBytes
	Result string // one of the Cache* results
}

// Cache.Result values.
const (
	CacheHit    = "hit"    // a fresh value was returned
	CacheMiss   = "miss"   // cache.get found nothing
	CacheLoaded = "loaded" // cache.remember ran (or waited for) the loader, which answered
	CacheStale  = "stale"  // the loader failed and an expired value stood in
	CacheFailed = "failed" // the loader failed and nothing stood in
)

// Reset empties t for the next call, keeping its storage.
func (t *Trace) Reset() {
	if t == nil || (t.n.Load() == 0 && t.nl.Load() == 0 && t.nc.Load() == 0) {
		return
	}
	t.mu.Lock()
	clear(t.requests) // let the strings go
	t.requests = t.requests[:0]
	t.n.Store(0)
	clear(t.logs)
	t.logs = t.logs[:0]
	t.nl.Store(0)
	clear(t.caches)
	t.caches = t.caches[:0]
	t.nc.Store(0)
	t.mu.Unlock()
}

// AddCache records one cache lookup, its Key cut to MaxLogBytes.
func (t *Trace) AddCache(c Cache) {
	if t == nil {
		return
	}
	if len(c.Key) > MaxLogBytes {
		c.Key = c.Key[:MaxLogBytes] + "..."
	}
	t.mu.Lock()
	if len(t.caches) < MaxCaches {
		t.caches = append(t.caches, c)
	}
	t.nc.Add(1)
	t.mu.Unlock()
}

// CacheCount is how many cache lookups the call made, MaxCaches or more;
// reading it costs no lock.
func (t *Trace) CacheCount() int {
	if t == nil {
		return 0
	}
	return int(t.nc.Load())
}

// Caches appends the recorded cache lookups (at most MaxCaches) to dst,
// and returns it with how many the call made in all.
func (t *Trace) Caches(dst []Cache) ([]Cache, int) {
	if t == nil {
		return dst, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return append(dst, t.caches...), int(t.nc.Load())
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

// AddLog records one log line, its Fields cut to MaxLogBytes.
func (t *Trace) AddLog(l Log) {
	if t == nil {
		return
	}
	if len(l.Fields) > MaxLogBytes {
		l.Fields = l.Fields[:MaxLogBytes] + "..."
	}
	t.mu.Lock()
	if len(t.logs) < MaxLogs {
		t.logs = append(t.logs, l)
	}
	t.nl.Add(1)
	t.mu.Unlock()
}

// LogCount is how many lines the call logged, MaxLogs or more; reading it
// costs no lock.
func (t *Trace) LogCount() int {
	if t == nil {
		return 0
	}
	return int(t.nl.Load())
}

// Logs appends the recorded log lines (at most MaxLogs) to dst, and
// returns it with how many lines the call logged in all.
func (t *Trace) Logs(dst []Log) ([]Log, int) {
	if t == nil {
		return dst, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return append(dst, t.logs...), int(t.nl.Load())
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
