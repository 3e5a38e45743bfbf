// Package luavm runs routing scripts: it compiles a scripts directory once,
// keeps a bounded pool of sandboxed gopher-lua VMs that share the compiled
// protos, and runs one handler call per request under a hard deadline.
//
// A call that overruns its deadline is answered by the caller of Run while
// the VM that overran is cancelled and never reused, so a script that loops,
// blocks or panics costs one answer, never a hang.
package luavm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Module is a Go module scripts can require. Loader has the lua.LGFunction
// shape: it pushes the module's table. It runs once per VM.
type Module struct {
	Name   string
	Loader lua.LGFunction
	// Global also binds the module to a global of the same name.
	Global bool
	// Load, when set, runs once per load of the scripts directory (start
	// and every reload), before any VM, and returns the Loader of that
	// load's VMs. A module that reads files of the directory (the time
	// module's calendars/) reads them here, once, and shares what it read
	// read-only; an error fails the load like a broken script, so a reload
	// never swaps in a set whose files are broken.
	Load func(dir string) (lua.LGFunction, error)
	// Bounded promises that every function of the module returns by the
	// call's deadline (DeadlineOf, Budget), so calls may run inline
	// (Options.Inline). One module without it keeps every call handed to
	// a VM goroutine, where the caller answers at the deadline whatever
	// the module does.
	Bounded bool
	// Signatures describe the module's functions for ivrouter check, which
	// reads scripts without running them: by function name.
	Signatures map[string]Signature
}

// Signature describes a Go module function for static checks.
type Signature struct {
	// OptionsArg is the 1-based position of the function's options table,
	// 0 for none; Options are that table's keys.
	OptionsArg int
	Options    []Option
	// Action marks a function whose value a handler returns as its answer.
	Action bool
	// Args check literal positional arguments, by position (Args[0] is the
	// first); nil entries and missing ones are not checked.
	Args []Arg
}

// Arg checks one positional argument when a script gives it as a literal.
type Arg struct {
	// Check is given the literal's value (string, float64 or bool) and
	// returns what is wrong with it, or nil: time.now("Asia/Jerusalm").
	Check func(v any) error
}

// Option is one key of an options table.
type Option struct {
	Name string
	// Types are the Lua types a literal value may have ("number",
	// "string", "boolean", "table", "function"); none means any.
	Types []string
	// Required options must be in every literal options table.
	Required bool
	// Check, when set, is given a literal value of the option (string,
	// float64 or bool) and returns what is wrong with it, or nil:
	// time.hours{mon = "8-18"}.
	Check func(v any) error
}

// LiteralValue is a literal the static checks hand to a Check (a string,
// float64 or bool) as the Lua value a call would get, so that a check can
// run the module's own parser of that argument.
func LiteralValue(v any) lua.LValue {
	switch v := v.(type) {
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	}
	return lua.LNil
}

// Options configure how scripts are loaded and run.
type Options struct {
	// Modules are the Go modules scripts may require, besides lib.* scripts.
	Modules []Module
	// VMs bounds the pool: at most this many calls run at once.
	VMs int
	// Deadline is how long a call may take when its script sets no deadline.
	Deadline time.Duration
	// Reserve is what Budget keeps back of a call's deadline for the script
	// to answer once a Go module gives up waiting (for a CRM, for another
	// call's loader). Zero keeps a tenth of what is left, at most 50 ms.
	// Tests set seconds, so that a module's timeout cannot race the
	// deadline on a loaded machine.
	Reserve time.Duration
	// MaxString caps strings built by string.rep, so one call cannot ask
	// for gigabytes at once.
	MaxString int
	// LoadTimeout bounds running a script's top level when it loads.
	LoadTimeout time.Duration
	// Logger receives warnings from loading and scripts' print output.
	Logger *slog.Logger
	// CallMemory bounds the bytes one call (or one script's load) may
	// allocate: strings built, tables grown, values handed to Go modules.
	// It is checked before each allocation, so a script that doubles a
	// string in a loop gets a Lua error, not the process an out-of-memory
	// crash. It counts what is allocated, not what is live: a string
	// rebuilt in a loop counts every copy.
	CallMemory int
	// SharedMemory bounds what every call in flight together may charge
	// beyond the first MiB each (PrivateMemory): a VM's calls that overran
	// their deadline still run until they notice, so VMs × 2 calls can
	// hold CallMemory each at once. Past it, a call that asks for more
	// gets ErrMemory, while calls within their first MiB, which is every
	// ordinary call, are never refused. Zero means no shared bound; give
	// it a fraction of the process's memory limit.
	SharedMemory int
	// LogLines and LogBytes bound what one call may write with print and
	// log.*; past them lines are dropped and one line says how many.
	LogLines, LogBytes int
	// Clock, when set, is read once at the start of each call for the
	// instant the call's scripts see (Now); tests freeze it. Without it a
	// call's instant is when its request arrived.
	Clock func() time.Time
	// Inline runs each call on the goroutine that asks for it (Run's
	// caller: the connection's), on a VM taken from the pool, instead of
	// handing it to the VM's own goroutine: no channel hand-off, no timer,
	// no context switch per call. The deadline then holds because the VM
	// stops itself (it looks at the clock every 1024 instructions), every
	// builtin is bounded, and every Go module call gives up at the call's
	// deadline (DeadlineOf, Budget): it takes effect only when every
	// Module is Bounded. A script runs inline only once its last
	// TrustAfter calls each ended well (no error, within PrivateMemory):
	// until then, and again after any call that failed, overran or
	// allocated more, its calls run on a goroutine of their own while the
	// caller waits until the deadline, as without Inline. A call that runs
	// wild inline can only be answered once its goroutine notices (after a
	// garbage-collection assist, say); one handed off is answered by its
	// caller on time.
	Inline bool

	stats  *poolStats  // shared by every Set an Engine builds
	shared *sharedPool // SharedMemory, likewise
	halt   *halt       // closed by Engine.Close: calls in flight give up
}

// PoolStats count what the VM pool has done since the engine started,
// across reloads, for metrics.
type PoolStats struct {
	// Waits counts calls that found no VM ready to take them at once and
	// queued: every VM busy, or the free ones between calls.
	Waits uint64
	// Replaced counts VMs closed after a call overran or failed, and
	// started afresh.
	Replaced uint64
	// Detached counts calls run on a goroutine of their own, with
	// Options.Inline, because their script had not yet earned running
	// inline (TrustAfter).
	Detached uint64
	// SharedMemory is the bytes of Options.SharedMemory that calls in
	// flight hold now.
	SharedMemory int64
}

type poolStats struct{ waits, replaced, detached atomic.Uint64 }

// halt tells every set of an engine that it is closing, so calls still
// waiting for a VM or an answer return ErrClosed at once and their callers
// answer the fallback, instead of running on past a shutdown.
type halt struct {
	ch   chan struct{}
	once sync.Once
}

func (h *halt) close() { h.once.Do(func() { close(h.ch) }) }

// Defaults for zero Options fields.
const (
	DefaultVMs         = 16
	DefaultDeadline    = 3 * time.Second
	DefaultMaxString   = 4 << 20
	DefaultLoadTimeout = 2 * time.Second
	DefaultCallMemory  = 64 << 20
	// PrivateMemory is what a call may charge before it draws on
	// SharedMemory.
	PrivateMemory   = 1 << 20
	DefaultLogLines = 100
	DefaultLogBytes = 64 << 10
	// MaxDeadline is Voicenter's own limit: past it, the call is on its
	// failover whatever we answer.
	MaxDeadline = 5 * time.Second
	// WarnDeadline leaves too little slack for the network on the way back.
	WarnDeadline = 4500 * time.Millisecond
)

func (o Options) withDefaults() Options {
	if o.VMs <= 0 {
		o.VMs = DefaultVMs
	}
	if o.Deadline <= 0 {
		o.Deadline = DefaultDeadline
	}
	if o.MaxString <= 0 {
		o.MaxString = DefaultMaxString
	}
	if o.LoadTimeout <= 0 {
		o.LoadTimeout = DefaultLoadTimeout
	}
	if o.CallMemory <= 0 {
		o.CallMemory = DefaultCallMemory
	}
	if o.LogLines <= 0 {
		o.LogLines = DefaultLogLines
	}
	if o.LogBytes <= 0 {
		o.LogBytes = DefaultLogBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.stats == nil {
		o.stats = &poolStats{}
	}
	if o.shared == nil {
		o.shared = &sharedPool{}
		o.shared.free.Store(int64(o.SharedMemory))
	}
	if o.halt == nil {
		o.halt = &halt{ch: make(chan struct{})}
	}
	for _, m := range o.Modules {
		o.Inline = o.Inline && m.Bounded
	}
	return o
}

// Call is one request for a script to answer. Its methods run on the VM's
// goroutine, possibly after Run has given up on the call, so they must not
// touch anything the caller reuses once Run returns an error.
type Call interface {
	// Arg builds the argument passed to the script's handler.
	Arg(L *lua.LState) lua.LValue
	// Result reads the handler's return value and copies out what it keeps.
	Result(L *lua.LState, ret lua.LValue) error
	// ID names the call in logs (Voicenter's IVR_UNIQUE_ID).
	ID() string
}

// CallOf returns the call a VM is answering, or nil while a script loads.
// Go modules use it to reach per-call data. They use Budget or DeadlineOf
// for time limits and CallContext to be cut short; they must not derive
// contexts from L.Context(): it is the VM's, reused from call to call.
func CallOf(L *lua.LState) Call {
	if c, ok := L.Context().(*runCtx); ok && c.job != nil {
		return c.job.call
	}
	return nil
}

// ScriptOf returns the script whose call L is answering, or nil.
func ScriptOf(L *lua.LState) *Script {
	if c, ok := L.Context().(*runCtx); ok && c.job != nil {
		return c.job.script
	}
	return nil
}

// Now is the instant of the call L is answering: the same for every read
// during one call, so a handler that reads the clock twice cannot see
// 17:59:59 and then 18:00:00. Outside a call (a script's top level) it is
// the clock's current time.
func Now(L *lua.LState) time.Time {
	if c, ok := L.Context().(*runCtx); ok && c.job != nil && !c.job.now.IsZero() {
		return c.job.now
	}
	if c, ok := L.Context().(*runCtx); ok && c.clock != nil {
		return c.clock()
	}
	return time.Now()
}

// DeadlineOf returns when the call L is answering must be answered.
func DeadlineOf(L *lua.LState) (time.Time, bool) {
	if ctx := L.Context(); ctx != nil {
		return ctx.Deadline()
	}
	return time.Time{}, false
}

// Budget is how long a Go module may block for the call L is answering and
// still leave the script time to answer: what is left of the deadline, less
// a reserve (Options.Reserve, by default a tenth, at most 50 ms). ok is
// false outside a call.
func Budget(L *lua.LState) (d time.Duration, ok bool) {
	deadline, ok := DeadlineOf(L)
	if !ok {
		return 0, false
	}
	left := time.Until(deadline)
	if c, isRun := L.Context().(*runCtx); isRun && c.reserve > 0 {
		return left - c.reserve, true
	}
	return left - min(50*time.Millisecond, left/10), true
}

// CallContext is a context for a Go module's blocking work in the call L
// is answering: done when the call is cut short (Engine.Close, or a
// caller that gave up on it), with the call's deadline. A module derives
// its own from it (context.WithTimeout(luavm.CallContext(L), d)) and
// cancels that before it returns; it never keeps it past the call.
// Outside a call it is context.Background().
func CallContext(L *lua.LState) context.Context {
	if c, ok := L.Context().(*runCtx); ok && c.job != nil {
		return jobCtx{c.job}
	}
	return context.Background()
}

// jobCtx is one call's context.Context: unlike runCtx, the VM's, it
// stays the call's after the VM moves on.
type jobCtx struct{ j *job }

func (c jobCtx) Deadline() (time.Time, bool) { return c.j.deadline, true }
func (c jobCtx) Done() <-chan struct{}       { return c.j.abort }
func (c jobCtx) Value(any) any               { return nil }
func (c jobCtx) Err() error {
	select {
	case <-c.j.abort:
		return context.Canceled
	default:
		return nil
	}
}

// Errors Run returns besides *Error.
var (
	// ErrNoScript: no script answers the route.
	ErrNoScript = errors.New("no script for this route")
	// ErrBusy: every VM stayed busy until the deadline.
	ErrBusy = errors.New("no VM free before the deadline")
	// ErrTimeout: the script was still running at the deadline.
	ErrTimeout = errors.New("script overran its deadline")
	// ErrMemory: the call spent its memory budget (Options.CallMemory).
	ErrMemory = errors.New("call memory budget spent")
	// errRetired: the set was replaced by a reload while the call waited.
	errRetired = errors.New("script set retired")
)

// Error is a script failure: a Lua error, a Go panic in code it called, or a
// wrong return value. Where is "file:line" when known, else the file.
type Error struct {
	Where string
	Msg   string
}

func (e *Error) Error() string { return e.Where + ": " + e.Msg }

// runCtx is the context.Context of a VM. gopher-lua asks for Done before
// every instruction, so closing the current job's abort channel stops a
// script; and every 1024th ask compares the clock with the deadline, so an
// overrunning script stops itself at its deadline even when the goroutine
// waiting to give up on it has not had the CPU to say so (a few spinning
// scripts on a small machine).
type runCtx struct {
	job     *job
	clock   func() time.Time // Options.Clock
	mem     int              // Options.CallMemory
	reserve time.Duration    // Options.Reserve
	// shared is Options.SharedMemory's pool, nil when it is unbounded;
	// sharedSize its size, for errors.
	shared     *sharedPool
	sharedSize int
	ticks      uint32
}

// expired is Done's channel once a call is past its deadline.
var expired = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (c *runCtx) Deadline() (time.Time, bool) {
	if c.job == nil {
		return time.Time{}, false
	}
	return c.job.deadline, true
}

func (c *runCtx) Done() <-chan struct{} {
	j := c.job
	if j == nil {
		return nil
	}
	if j.expired {
		return expired
	}
	if c.ticks++; c.ticks&1023 == 0 {
		return c.check(j)
	}
	return j.abort
}

// check is Done's look at the clock, every 1024 instructions: past the
// deadline the call stops; a call that has run for more than a moment
// yields its CPU, so that on a machine with more busy VMs than cores the
// goroutines answering calls (a fallback at its deadline, a healthy call's
// result) run within microseconds instead of after the busy VMs' time
// slices. Calls of ordinary length never get here long enough to yield.
func (c *runCtx) check(j *job) <-chan struct{} {
	now := time.Now()
	if now.After(j.deadline) {
		j.expired = true
		return expired
	}
	if now.Sub(j.started) > yieldAfter {
		runtime.Gosched()
	}
	return j.abort
}

// yieldAfter is how long a call runs before it starts yielding its CPU.
const yieldAfter = 2 * time.Millisecond

func (c *runCtx) Err() error {
	j := c.job
	if j == nil {
		return nil
	}
	if j.expired {
		return context.DeadlineExceeded
	}
	select {
	case <-j.abort:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

func (c *runCtx) Value(any) any { return nil }

// Alloc charges n bytes to the call being run, before they are allocated:
// gopher-lua (ivrouter's build of it, luavm/gopher-lua) calls it for
// strings and tables scripts build, and Go modules through Alloc(L, n).
func (c *runCtx) Alloc(n int) error {
	j := c.job
	if j == nil {
		return nil
	}
	if n > c.mem-j.mem { // n may be math.MaxInt: compare, then add
		j.mem = c.mem
		return fmt.Errorf("%w: over %s", ErrMemory, sizeText(c.mem))
	}
	j.mem += n
	if over := j.mem - PrivateMemory - j.shared; over > 0 && c.shared != nil {
		take := (over + sharedChunk - 1) / sharedChunk * sharedChunk
		if !c.shared.take(take) {
			j.mem -= n
			return fmt.Errorf("%w: the scripts' shared memory (%s) is in use by other calls", ErrMemory, sizeText(c.sharedSize))
		}
		j.shared += take
	}
	return nil
}

// sharedChunk is how much of SharedMemory a call takes at a time, so that
// the pool's counter is touched once per MiB, not once per table.
const sharedChunk = 1 << 20

// sharedPool is SharedMemory's free bytes. Calls take from it in chunks
// and give back when they end.
type sharedPool struct{ free atomic.Int64 }

func (p *sharedPool) take(n int) bool {
	for {
		f := p.free.Load()
		if f < int64(n) {
			return false
		}
		if p.free.CompareAndSwap(f, f-int64(n)) {
			return true
		}
	}
}

func (p *sharedPool) give(n int) { p.free.Add(int64(n)) }

// Alloc charges n bytes, about to be allocated for the call L is
// answering, to its memory budget; an error means the budget is spent and
// the allocation must not happen. Go modules call it before building a
// value whose size a script controls (a JSON text, a decoded table, a
// value stored in the cache).
func Alloc(L *lua.LState, n int) error {
	if c, ok := L.Context().(*runCtx); ok {
		return c.Alloc(n)
	}
	return nil
}

// Log asks for room for one log line of n bytes in the call L is
// answering: false once the call's lines or bytes (Options.LogLines,
// LogBytes) are spent, and the line is then counted as dropped. Outside a
// call (a script's top level) every line is written.
func Log(L *lua.LState, n int) bool {
	c, ok := L.Context().(*runCtx)
	if !ok || c.job == nil || c.job.call == nil {
		return true
	}
	return c.job.log.take(n, c.job.logLimit)
}

func sizeText(n int) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
