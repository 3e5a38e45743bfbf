package luavm

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Engine serves calls from the current Set of a scripts directory and swaps
// in a new one on Reload: build, validate, swap, then retire the old set,
// whose calls in flight finish where they started.
type Engine struct {
	dir    string
	opts   Options
	cur    atomic.Pointer[Set]
	reload sync.Mutex
	closed atomic.Bool
}

// ErrClosed: the engine was closed.
var ErrClosed = errors.New("script engine closed")

// NewEngine builds the first Set of dir.
func NewEngine(dir string, opts Options) (*Engine, error) {
	opts = opts.withDefaults()
	e := &Engine{dir: dir, opts: opts}
	s, err := Build(dir, opts)
	if err != nil {
		return nil, err
	}
	e.cur.Store(s)
	return e, nil
}

// Reload rebuilds the scripts directory. Only a set that loads cleanly
// replaces the current one; on error the current set keeps serving.
func (e *Engine) Reload() (*Set, error) {
	e.reload.Lock()
	defer e.reload.Unlock()
	s, err := Build(e.dir, e.opts)
	if err != nil {
		return nil, err
	}
	if e.closed.Load() { // closed while building: the new set must not outlive it
		s.Close()
		return nil, ErrClosed
	}
	old := e.cur.Swap(s)
	old.Close()
	return s, nil
}

// Stats reports the pool's counters.
func (e *Engine) Stats() PoolStats {
	return PoolStats{Waits: e.opts.stats.waits.Load(), Replaced: e.opts.stats.replaced.Load(), Detached: e.opts.stats.detached.Load(),
		SharedMemory: int64(e.opts.SharedMemory) - e.opts.shared.free.Load()}
}

// Current is the set serving calls now.
func (e *Engine) Current() *Set { return e.cur.Load() }

// Run answers a call with the script for the route (see Set.Lookup), within
// the script's deadline counted from start. It returns the script it ran,
// nil with ErrNoScript if none answers the route, and an error if the script
// failed (*Error), overran (ErrTimeout), found no free VM (ErrBusy) or was
// cut short by Close (ErrClosed). After an error that matches ErrTimeout
// (ErrClosed wraps it for a call that was running) the VM may still touch c
// for a while: c must not be reused.
func (e *Engine) Run(name string, layer int, start time.Time, c Call) (*Script, error) {
	for {
		if e.closed.Load() {
			return nil, ErrClosed
		}
		s := e.cur.Load()
		sc := s.Lookup(name, layer)
		if sc == nil {
			return nil, ErrNoScript
		}
		err := s.run(sc, start, c)
		if !errors.Is(err, errRetired) {
			return sc, err
		}
	}
}

// Close retires the current set. Calls still running return ErrClosed at
// once, so their callers can answer the fallback before the process exits;
// their VMs are stopped.
func (e *Engine) Close() {
	e.closed.Store(true)
	e.opts.halt.close()
	e.reload.Lock() // a reload in progress swaps in its set first, or sees closed
	defer e.reload.Unlock()
	cur := e.cur.Load()
	cur.Close()
	cur.haltRunning()
}
