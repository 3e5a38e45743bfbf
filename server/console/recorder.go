// Package console is the admin listener's web console: the journey of each
// recent call through the layers (which script answered each request, with
// what inputs, the CRM requests it made, its answer as JSON and as words,
// and how long it took against its deadline), and the scripts' state.
//
// The server records each answered request with Recorder.Record, a cheap
// step on the hot path: the Layer it is given holds only Go strings and
// numbers, and the Recorder keeps a bounded ring of calls grouped by
// IVR_UNIQUE_ID, evicting the least recently active call past its call
// count or its byte budget. Handler serves the pages (html/template,
// embedded, no build step and nothing fetched from elsewhere) and a
// Server-Sent Events stream that keeps the calls page live.
package console

import (
	"sync"
	"time"
	"unsafe"

	"github.com/ivrouter/ivrouter/luavm/calltrace"
)

// Defaults for a Recorder's bounds.
const (
	DefaultCalls = 10000
	// DefaultBytes keeps the process within its 64 MiB resident target
	// with the ring full: about 4,800 three-layer calls with their CDRs.
	DefaultBytes = 12 << 20
	// MaxLayers is how many requests one call keeps: a call that loops
	// through more drops its earliest and counts them.
	MaxLayers = 64
	// maxReloads is how many reloads the scripts page lists.
	maxReloads = 50
)

// Layer is one answered request of a call: what Voicenter asked, which
// script answered, and how. Its strings are the server's, already masked
// per --mask-caller.
type Layer struct {
	Time    time.Time // when it was answered
	CallID  string    // IVR_UNIQUE_ID
	DID     string
	Caller  string // CALLER_ID, masked per --mask-caller
	LayerID int
	DTMF    string // masked per --mask-caller
	Script  string // the script that answered ("layers/5", "caller"); "" for none
	Action  string // GO_TO_LAYER, SAY_DIGITS, DIAL, STATUS_1
	Target  string
	// CallerName is the answer's CALLER_NAME, masked per --mask-caller.
	CallerName string
	// Answer is the answer sent, as JSON (CALLER_NAME and CUSTOM_DATA
	// values masked per --mask-caller).
	Answer string
	// Requests are the CRM requests the script made (the first
	// calltrace.MaxRequests); HTTPTotal counts them all.
	Requests  []calltrace.Request
	HTTPTotal int
	// Logs are the lines the script logged (the first calltrace.MaxLogs,
	// as the log level let them through, unmasked as in the log);
	// LogTotal counts them all.
	Logs     []calltrace.Log
	LogTotal int
	// Caches are the script's cache lookups (the first
	// calltrace.MaxCaches, keys masked per --mask-caller); CacheTotal
	// counts them all.
	Caches     []calltrace.Cache
	CacheTotal int
	Took       time.Duration // read to answer
	Deadline   time.Duration // the script's deadline
	Outcome    string        // ok, fallback, script_error, timeout, busy, shutdown
	Error      string
}

// size is about the bytes l holds, for the byte budget. Strings shared
// with other layers are counted for each, so the budget errs on the safe
// side.
func (l *Layer) size() int64 {
	n := int64(unsafe.Sizeof(*l)) + int64(len(l.CallID)+len(l.DID)+len(l.Caller)+len(l.DTMF)+len(l.Script)+
		len(l.Action)+len(l.Target)+len(l.CallerName)+len(l.Answer)+len(l.Outcome)+len(l.Error))
	n += tracedSize(l.Requests, l.Logs)
	for i := range l.Caches {
		c := &l.Caches[i]
		n += int64(unsafe.Sizeof(*c)) + int64(len(c.Op)+len(c.Key)+len(c.Result))
	}
	return n
}

// tracedSize is about the bytes of a trace's requests and log lines.
func tracedSize(reqs []calltrace.Request, logs []calltrace.Log) int64 {
	var n int64
	for i := range logs {
		g := &logs[i]
		n += int64(unsafe.Sizeof(*g)) + int64(len(g.Level)+len(g.Message)+len(g.Where)+len(g.Fields))
	}
	for i := range reqs {
		r := &reqs[i]
		n += int64(unsafe.Sizeof(*r)) + int64(len(r.Method)+len(r.URL)+len(r.Host)+len(r.Failure)+len(r.Error))
	}
	return n
}

// CDR is how a call ended, as Voicenter's CDR notification (POST
// /events/cdr on the main listener) told it, and what the events/cdr.lua
// script did with it. Its strings are the server's, masked per
// --mask-caller.
type CDR struct {
	Received time.Time
	Encoding string // json, xml-rpc, form
	Type     string // "Incoming Call", ...
	Status   string // ANSWER, NOANSWER, BUSY, ABANDONE, ...
	Caller   string
	Target   string
	DID      string
	// Answered is who took the call: the representative's or the target
	// extension's name, as Voicenter names them.
	Answered  string
	Queue     string
	Duration  int // seconds, the whole call
	DialTime  int // seconds ringing
	RecordURL string
	// Layers are the layers Voicenter says the call passed, in order.
	Layers []CDRLayer
	// Script is the events script run for the CDR ("" for none), and
	// ScriptOutcome how it went: pending, ok, script_error, timeout,
	// dropped (its queue was full), shutdown.
	Script        string
	ScriptOutcome string
	ScriptError   string
	Requests      []calltrace.Request
	HTTPTotal     int
	Logs          []calltrace.Log
	LogTotal      int
}

// CDRLayer is one layer of a CDR's IVR list.
type CDRLayer struct {
	ID, Number int
	Name, DTMF string
}

func (c *CDR) size() int64 {
	n := int64(unsafe.Sizeof(*c)) + int64(len(c.Encoding)+len(c.Type)+len(c.Status)+len(c.Caller)+len(c.Target)+
		len(c.DID)+len(c.Answered)+len(c.Queue)+len(c.RecordURL)+len(c.Script)+len(c.ScriptOutcome)+len(c.ScriptError))
	for i := range c.Layers {
		n += int64(unsafe.Sizeof(c.Layers[i])) + int64(len(c.Layers[i].Name)+len(c.Layers[i].DTMF))
	}
	return n + tracedSize(c.Requests, c.Logs)
}

// Call is one call's record: its layers in the order they were answered.
type Call struct {
	ID      string
	Layers  []Layer
	Dropped int    // earliest layers dropped past MaxLayers
	Seq     uint64 // the recorder's sequence at its last change
	// CDR is how the call ended, once Voicenter's CDR arrived; never
	// changed once set (a newer one replaces it whole).
	CDR *CDR

	bytes      int64
	prev, next *Call // recency list: front is the most recently active
}

// Last is the call's latest layer.
func (c *Call) Last() *Layer { return &c.Layers[len(c.Layers)-1] }

// First is the call's earliest kept layer.
func (c *Call) First() *Layer { return &c.Layers[0] }

// clone copies c for a reader, outside the recorder's lock. Layers are
// never changed once recorded, so they are shared.
func (c *Call) clone() Call {
	return Call{ID: c.ID, Layers: c.Layers[:len(c.Layers):len(c.Layers)], Dropped: c.Dropped, Seq: c.Seq, CDR: c.CDR, bytes: c.bytes}
}

// Reload is one load of the scripts directory.
type Reload struct {
	Time    time.Time
	Version string
	Scripts int
	Errors  []string
}

// Recorder keeps the recent calls. Its methods are safe for concurrent
// use; a nil *Recorder records nothing.
type Recorder struct {
	maxCalls int
	maxBytes int64

	mu         sync.Mutex
	calls      map[string]*Call
	head, tail *Call // most and least recently active
	bytes      int64
	seq        uint64
	evicted    uint64
	subs       map[chan string]struct{}
	reloads    []Reload
}

// NewRecorder returns a Recorder keeping at most calls calls in at most
// bytes bytes (about); zero or less takes the defaults.
func NewRecorder(calls int, bytes int64) *Recorder {
	if calls <= 0 {
		calls = DefaultCalls
	}
	if bytes <= 0 {
		bytes = DefaultBytes
	}
	return &Recorder{maxCalls: calls, maxBytes: bytes, calls: make(map[string]*Call), subs: make(map[chan string]struct{})}
}

// Record adds l to its call's journey, making the call the most recently
// active, and evicts the least recently active calls past the bounds.
func (r *Recorder) Record(l Layer) {
	if r == nil {
		return
	}
	size := l.size()
	r.mu.Lock()
	r.seq++
	c := r.calls[l.CallID]
	if c == nil {
		c = &Call{ID: l.CallID, Layers: make([]Layer, 0, 2)}
		r.calls[l.CallID] = c
		c.bytes = int64(unsafe.Sizeof(*c)) + int64(len(l.CallID)) + 64 // the map's entry
		r.bytes += c.bytes
	} else {
		r.unlink(c)
	}
	if len(c.Layers) == MaxLayers {
		// Keep the latest half, in a fresh array (readers may hold the
		// old one): a looping call costs one copy per MaxLayers/2 layers.
		keep := MaxLayers / 2
		var dropped int64
		for i := range c.Layers[:len(c.Layers)-keep] {
			dropped += c.Layers[i].size()
		}
		c.Layers = append(make([]Layer, 0, MaxLayers), c.Layers[len(c.Layers)-keep:]...)
		c.Dropped += MaxLayers - keep
		c.bytes -= dropped
		r.bytes -= dropped
	} else if len(c.Layers) == cap(c.Layers) {
		grow := int64(unsafe.Sizeof(l)) * int64(cap(c.Layers)) // append doubles the array
		c.bytes += grow
		r.bytes += grow
	}
	c.Layers = append(c.Layers, l)
	c.bytes += size
	r.bytes += size
	c.Seq = r.seq
	r.pushFront(c)
	for (len(r.calls) > r.maxCalls || r.bytes > r.maxBytes) && r.tail != nil && r.tail != c {
		r.evict(r.tail)
	}
	r.notify(l.CallID)
	r.mu.Unlock()
}

// notify tells the event streams that call id changed; r.mu is held.
func (r *Recorder) notify(id string) {
	for ch := range r.subs {
		select {
		case ch <- id:
		default: // a slow reader misses updates; its page catches up on reload
		}
	}
}

// SetCDR attaches how call id ended to its journey, replacing any CDR it
// had (Voicenter may send one again, and the events script's outcome
// arrives after the CDR). It reports false, keeping nothing, when the
// call is not held: Voicenter sends CDRs for every call of the account,
// most of which never reached ivrouter, and those must not push out the
// journeys that did.
func (r *Recorder) SetCDR(id string, cdr CDR) bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls[id]
	if c == nil {
		return false
	}
	var old int64
	if c.CDR != nil {
		old = c.CDR.size()
	}
	size := cdr.size()
	c.CDR = &cdr
	c.bytes += size - old
	r.bytes += size - old
	r.seq++
	c.Seq = r.seq
	r.unlink(c) // its end is news: the calls page shows it at the top
	r.pushFront(c)
	for r.bytes > r.maxBytes && r.tail != nil && r.tail != c {
		r.evict(r.tail)
	}
	r.notify(id)
	return true
}

func (r *Recorder) unlink(c *Call) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		r.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		r.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

func (r *Recorder) pushFront(c *Call) {
	c.next = r.head
	if r.head != nil {
		r.head.prev = c
	}
	r.head = c
	if r.tail == nil {
		r.tail = c
	}
}

func (r *Recorder) evict(c *Call) {
	r.unlink(c)
	delete(r.calls, c.ID)
	r.bytes -= c.bytes
	r.evicted++
}

// Stats are a Recorder's fill.
type Stats struct {
	Calls, MaxCalls int
	Bytes, MaxBytes int64
	Evicted         uint64
}

// Stats reports how full r is.
func (r *Recorder) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{Calls: len(r.calls), MaxCalls: r.maxCalls, Bytes: r.bytes, MaxBytes: r.maxBytes, Evicted: r.evicted}
}

// Get returns a copy of the call id, or false.
func (r *Recorder) Get(id string) (Call, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls[id]
	if c == nil {
		return Call{}, false
	}
	return c.clone(), true
}

// Calls returns copies of up to limit calls that match f, the most
// recently active first.
func (r *Recorder) Calls(f Filter, limit int) []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Call
	for c := r.head; c != nil && len(out) < limit; c = c.next {
		if f.Match(c) {
			out = append(out, c.clone())
		}
	}
	return out
}

// Reloaded records a load of the scripts directory: its version and
// routing scripts, or the errors that kept the previous set serving.
func (r *Recorder) Reloaded(t time.Time, version string, scripts int, errs []string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reloads) == maxReloads {
		r.reloads = append(r.reloads[:0:0], r.reloads[1:]...)
	}
	r.reloads = append(r.reloads, Reload{Time: t, Version: version, Scripts: scripts, Errors: errs})
}

// Reloads returns the recorded loads, the latest first.
func (r *Recorder) Reloads() []Reload {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Reload, len(r.reloads))
	for i, rl := range r.reloads {
		out[len(out)-1-i] = rl
	}
	return out
}

// Subscribe returns a channel receiving the ID of each call as it gets a
// layer or its CDR, or false when max subscribers already listen. A
// subscriber that falls 64 behind misses IDs: it reads the calls again.
// Unsubscribe releases it.
func (r *Recorder) Subscribe(max int) (chan string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.subs) >= max {
		return nil, false
	}
	ch := make(chan string, 64)
	r.subs[ch] = struct{}{}
	return ch, true
}

// Unsubscribe stops sending to ch.
func (r *Recorder) Unsubscribe(ch chan string) {
	r.mu.Lock()
	delete(r.subs, ch)
	r.mu.Unlock()
}
