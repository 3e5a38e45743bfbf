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
// waiting for one until the deadline when all are busy. A script not yet
// trusted runs on a goroutine of its own instead (detach).
func (s *Set) runInline(j *job, t *lazyTimer) error {
	v, err := s.takeVM(j, t)
	if err != nil {
		return err
	}
	if !j.script.trusted() {
		return s.detach(v, j, t)
	}
	s.begin(v, j)
	ended, held, err := s.runOn(v, j)
	if !ended {
		// Engine.Close cut it short and closed its abort channel: the
		// job cannot be reused, and its caller answers the fallback.
		return fmt.Errorf("%w: %w", ErrClosed, ErrTimeout)
	}
	if !held {
		putJob(j)
	}
	return err
}

// begin marks j running on v, where haltRunning finds it. j.started is
// already the call's start: its request was read then.
func (s *Set) begin(v *vm, j *job) {
	j.state.Store(running)
	s.running[v.slot].Store(j)
}

// runOn runs j, begun on v, then gives v back (or replaces it) and counts
// how the call ended for its script. ended is false when the call was
// abandoned (at its deadline, or by Engine.Close): its caller answers the
// fallback and j is never reused. held is true when haltRunning took j from
// its slot and may still act on it, so j must not be reused either.
func (s *Set) runOn(v *vm, j *job) (ended, held bool, err error) {
	err = s.serve(v, j)
	held = !s.running[v.slot].CompareAndSwap(j, nil)
	if !j.state.CompareAndSwap(running, finished) && !j.state.CompareAndSwap(finishing, finished) {
		j.script.settle(ErrTimeout, j.mem)
		s.retireVM(v, true)
		return false, held, err
	}
	j.script.settle(err, j.mem)
	s.retireVM(v, err != nil)
	return true, held, err
}

// takeVM takes an idle VM for j, waiting until t fires when every VM is
// busy. On an error j is released.
func (s *Set) takeVM(j *job, t *lazyTimer) (*vm, error) {
	select {
	case v := <-s.idle:
		return v, nil
	default:
	}
	s.opts.stats.waits.Add(1) // every VM is busy: queue
	select {
	case v := <-s.idle:
		return v, nil
	case <-t.C():
		putJob(j)
		return nil, ErrBusy
	case <-s.quit:
		putJob(j)
		return nil, errRetired
	case <-s.opts.halt.ch:
		putJob(j)
		return nil, ErrClosed
	}
}

// detach runs j on v on a goroutine of its own while the caller waits for
// its answer until t fires, as calls handed off do: the caller answers at
// the deadline however the script behaves. At the deadline the call is
// abandoned (its VM stops at its next instruction and is replaced), and j,
// which the VM may still touch, is never reused.
func (s *Set) detach(v *vm, j *job, t *lazyTimer) error {
	s.begin(v, j) // before the caller can give up on it
	s.opts.stats.detached.Add(1)
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		ended, held, err := s.runOn(v, j)
		if !ended {
			return // abandoned: its caller has answered
		}
		j.err, j.held = err, held
		j.done <- struct{}{}
	}()
	halted := false
	select {
	case <-j.done:
		return finishJob(j)
	case <-t.C():
	case <-s.opts.halt.ch:
		halted = true
	}
	switch {
	case j.state.CompareAndSwap(running, abandoned):
		close(j.abort)
	case j.state.Load() == abandoned: // Engine.Close cut it short first
		halted = true
	default: // it finished, or is reading its result, as the deadline passed: use its answer
		<-j.done
		return finishJob(j)
	}
	if halted {
		return fmt.Errorf("%w: %w", ErrClosed, ErrTimeout)
	}
	return ErrTimeout
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

// finishJob returns a detached call's result and releases its job, unless
// haltRunning took it from its slot and may still act on it.
func finishJob(j *job) error {
	err := j.err
	if !j.held {
		putJob(j)
	}
	return err
}

// haltRunning cuts short every call running on s's VMs (inline or
// detached): each stops at its next instruction, or as its Go module call
// sees the abort, and its caller answers the fallback (ErrClosed). It takes
// each job out of its slot first, so the job's runner knows not to reuse
// it: a job reused by another call, perhaps another engine's, must not be
// aborted by this one.
func (s *Set) haltRunning() {
	for i := range s.running {
		if j := s.running[i].Swap(nil); j != nil && j.state.CompareAndSwap(running, abandoned) {
			close(j.abort)
		}
	}
}
