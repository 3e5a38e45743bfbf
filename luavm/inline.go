package luavm

import (
	"fmt"
	"time"
)

// lazyTimer is a call's deadline as a timer, started only when the call
// has to wait for something (a VM, a worker's answer): a call that finds a
// VM free and runs inline never starts one.
type lazyTimer struct {
	deadline time.Time
	t        *time.Timer
}

// C starts the timer if need be and returns its channel.
func (l *lazyTimer) C() <-chan time.Time {
	if l.t == nil {
		l.t = timerPool.Get().(*time.Timer)
		l.t.Reset(time.Until(l.deadline))
	}
	return l.t.C
}

func (l *lazyTimer) stop() {
	if l.t != nil {
		l.t.Stop()
		timerPool.Put(l.t)
	}
}

// runInline runs j on the caller's goroutine, on a VM from the idle pool,
// waiting for one until the deadline when all are busy.
func (s *Set) runInline(j *job, t *lazyTimer) error {
	var v *vm
	select {
	case v = <-s.idle:
	default:
		s.opts.stats.waits.Add(1) // every VM is busy: queue
		select {
		case v = <-s.idle:
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
	}
	j.state.Store(running) // j.started is the call's start: its request was read then
	slot := &s.running[v.slot]
	slot.Store(j)
	err := s.serve(v, j)
	slot.Store(nil)
	if !j.state.CompareAndSwap(running, finished) && !j.state.CompareAndSwap(finishing, finished) {
		// Engine.Close cut it short and closed its abort channel: the
		// job cannot be reused, and its caller answers the fallback.
		s.retireVM(v, true)
		return fmt.Errorf("%w: %w", ErrClosed, ErrTimeout)
	}
	s.retireVM(v, err != nil)
	putJob(j)
	return err
}

// retireVM gives v back to the idle pool after a call, or when the call
// failed (a failed VM may hold half-done state) closes it and starts its
// replacement off the caller's goroutine, which has an answer to send.
func (s *Set) retireVM(v *vm, failed bool) {
	if failed {
		s.opts.stats.replaced.Add(1)
		v.close()
		if s.halted() || s.retired() {
			return
		}
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			s.refill(v.slot)
		}()
		return
	}
	select {
	case <-s.quit: // retired while the call ran
		v.close()
	default:
		s.idle <- v // never blocks: the pool holds at most one VM per slot
		select {
		case <-s.quit: // retired as it went back: Close may have drained already
			s.drainIdle()
		default:
		}
	}
}

// retired reports whether s was closed: its VMs are not worth replacing.
func (s *Set) retired() bool {
	select {
	case <-s.quit:
		return true
	default:
		return false
	}
}

// refill starts the VM of slot and makes it idle, unless the set retired
// meanwhile.
func (s *Set) refill(slot int) {
	v := s.freshVM()
	v.slot = slot
	select {
	case <-s.quit:
		v.close()
	default:
		s.idle <- v
		select {
		case <-s.quit:
			s.drainIdle()
		default:
		}
	}
}

// drainIdle closes the idle VMs of a retired set.
func (s *Set) drainIdle() {
	for {
		select {
		case v := <-s.idle:
			v.close()
		default:
			return
		}
	}
}

// haltRunning cuts short every call running inline on s: each stops at its
// next instruction, or as its Go module call sees the abort, and its
// caller answers the fallback (ErrClosed).
func (s *Set) haltRunning() {
	for i := range s.running {
		if j := s.running[i].Load(); j != nil && j.state.CompareAndSwap(running, abandoned) {
			close(j.abort)
		}
	}
}
