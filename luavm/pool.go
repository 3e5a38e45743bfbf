package luavm

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// job is one call handed to a worker. The caller waits on done until its
// deadline; if it gives up it closes abort, which stops the Lua code, and
// never reuses the job.
type job struct {
	script   *Script
	call     Call
	now      time.Time // the call's instant, as scripts see it
	started  time.Time // when the VM took the call, on the monotonic clock
	deadline time.Time
	state    atomic.Int32
	replaced bool // the caller started a worker to replace this one
	held     bool // haltRunning took it from its VM's slot: never reused
	expired  bool // the VM saw its deadline pass (runCtx.Done)
	mem      int  // bytes charged to the call (runCtx.Alloc)
	shared   int  // of them, bytes taken from Options.SharedMemory
	log      logUse
	logLimit logUse
	err      error
	done     chan struct{}
	abort    chan struct{}
}

const (
	queued int32 = iota
	running
	finishing // the script returned; its result is being read
	finished
	abandoned
)

var jobPool = sync.Pool{New: func() any {
	return &job{done: make(chan struct{}, 1), abort: make(chan struct{})}
}}

func getJob() *job { return jobPool.Get().(*job) }

func putJob(j *job) {
	j.script, j.call, j.err, j.replaced, j.held, j.expired, j.mem, j.shared, j.log = nil, nil, nil, false, false, false, 0, 0, logUse{}
	j.state.Store(queued)
	jobPool.Put(j)
}

var timerPool = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// run hands the call to a VM and waits for its answer until sc's deadline
// counted from start.
func (s *Set) run(sc *Script, start time.Time, c Call) error {
	deadline := start.Add(s.DeadlineOf(sc))
	now := start
	if s.opts.Clock != nil {
		now = s.opts.Clock()
	}
	t := &lazyTimer{deadline: deadline}
	defer t.stop()
	j := getJob()
	j.script, j.call, j.now, j.deadline = sc, c, now, deadline
	j.logLimit = logUse{lines: s.opts.LogLines, bytes: s.opts.LogBytes}
	if s.opts.Inline {
		j.started = start
		return s.runInline(j, t)
	}
	select {
	case s.jobs <- j:
		return s.wait(j, t)
	default:
		s.opts.stats.waits.Add(1) // every VM is busy: queue
	}
	select {
	case s.jobs <- j:
	case <-t.C():
		putJob(j)
		return ErrBusy
	case <-s.quit:
		putJob(j)
		return errRetired
	case <-s.opts.halt.ch:
		putJob(j)
		return ErrClosed
	}
	return s.wait(j, t)
}

// wait waits for a VM's answer to j until t fires.
func (s *Set) wait(j *job, t *lazyTimer) error {
	select {
	case <-j.done:
		err := j.err
		putJob(j)
		return err
	case <-t.C():
	case <-s.opts.halt.ch:
		err := s.abandon(j)
		if !errors.Is(err, ErrTimeout) {
			return err // it finished as the engine closed
		}
		// Still ErrTimeout too: the VM may yet touch the call, so the
		// caller must not reuse it.
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return s.abandon(j)
}

// abandon gives up on a call at its deadline. The worker running it is
// replaced at once, up to one spare per VM, so a stuck call does not shrink
// the pool; its VM is closed when the call finally returns.
func (s *Set) abandon(j *job) error {
	if j.state.CompareAndSwap(queued, abandoned) {
		return ErrTimeout // taken but not started: the worker drops it
	}
	j.replaced = s.stuck.Add(1) <= int32(s.opts.VMs)
	if j.state.CompareAndSwap(running, abandoned) {
		close(j.abort)
		if j.replaced && !s.halted() {
			s.spawn(nil)
		}
		return ErrTimeout // the VM never reads the call's result now
	}
	s.stuck.Add(-1)
	<-j.done // it finished, or is reading its result, as the deadline passed: use its answer
	err := j.err
	putJob(j)
	return err
}

// halted reports whether the engine is closing: no VM is worth starting.
func (s *Set) halted() bool {
	select {
	case <-s.opts.halt.ch:
		return true
	default:
		return false
	}
}

// worker serves calls on one VM until the set retires.
func (s *Set) worker(v *vm) {
	defer s.workers.Done()
	if v == nil {
		select {
		case <-s.quit: // retired before it started
			return
		default:
		}
		v = s.freshVM()
	}
	for {
		select {
		case j := <-s.jobs:
			if !j.state.CompareAndSwap(queued, running) {
				continue
			}
			j.started = time.Now()
			err := s.serve(v, j)
			if j.state.CompareAndSwap(running, finished) || j.state.CompareAndSwap(finishing, finished) {
				j.err = err
				if err != nil {
					s.opts.stats.replaced.Add(1) // counted before the caller hears of it
				}
				j.done <- struct{}{}
				if err != nil { // a failed VM may hold half-done state
					v.close()
					v = s.freshVM()
				}
				continue
			}
			v.close()
			s.opts.stats.replaced.Add(1)
			s.stuck.Add(-1)
			if j.replaced {
				return
			}
			v = s.freshVM()
		case <-s.quit:
			v.close()
			return
		}
	}
}

// freshVM starts a VM (one of a new set's, or one replacing a VM that
// failed or overran), loading every script before it takes a call, on the
// worker's goroutine so no caller waits for it. A script that loaded in
// the validating VM but fails here is logged, and loads again, in the call
// that needs it.
func (s *Set) freshVM() *vm {
	v := newVM(s)
	if err := v.preload(s.scripts, s.opts.LoadTimeout); err != nil {
		s.opts.Logger.Error("a VM could not load every script ahead of calls: the script loads again when called", "error", err)
	}
	return v
}

// serve runs one call, turning a panic outside Lua into an error and a
// script stopped by its own deadline into ErrTimeout.
func (s *Set) serve(v *vm, j *job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Where: j.script.Path, Msg: fmt.Sprintf("Go panic: %v", r)}
		}
		if err != nil && j.expired {
			err = ErrTimeout
		}
		s.reportDroppedLog(j)
	}()
	return v.call(j)
}

// logUse counts a call's log lines and bytes, and what was dropped.
type logUse struct{ lines, bytes, droppedLines, droppedBytes int }

func (u *logUse) take(n int, limit logUse) bool {
	if u.lines+1 > limit.lines || u.bytes+n > limit.bytes {
		u.droppedLines++
		u.droppedBytes += n
		return false
	}
	u.lines++
	u.bytes += n
	return true
}

// reportDroppedLog writes the one line that says a call's log was cut.
func (s *Set) reportDroppedLog(j *job) {
	if j.log.droppedLines == 0 {
		return
	}
	s.opts.Logger.Warn("script log over its per-call budget: lines dropped",
		"ivr_unique_id", j.call.ID(), "script", j.script.Name,
		"dropped_lines", j.log.droppedLines, "dropped_bytes", j.log.droppedBytes,
		"budget_lines", j.logLimit.lines, "budget_bytes", j.logLimit.bytes)
}
