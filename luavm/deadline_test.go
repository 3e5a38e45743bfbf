package luavm

import (
	"context"
	"testing"
	"time"
)

// TestAVMStopsItselfAtItsDeadline: the VM reads the clock every 1024
// instructions, so a script past its deadline stops even if the goroutine
// that would close abort never runs.
func TestAVMStopsItselfAtItsDeadline(t *testing.T) {
	j := &job{abort: make(chan struct{}), deadline: time.Now().Add(-time.Millisecond)}
	c := &runCtx{job: j}
	stopped := -1
	for i := 0; i < 2048; i++ {
		select {
		case <-c.Done():
			stopped = i
		default:
		}
		if stopped >= 0 {
			break
		}
	}
	if stopped < 0 || stopped > 1024 {
		t.Fatalf("stopped after %d asks, want within 1024", stopped)
	}
	if c.Err() != context.DeadlineExceeded {
		t.Errorf("Err: %v", c.Err())
	}
	select {
	case <-j.abort:
		t.Error("abort is the waiter's to close")
	default:
	}
	// A call within its deadline is not stopped.
	c = &runCtx{job: &job{abort: make(chan struct{}), deadline: time.Now().Add(time.Hour)}}
	for i := 0; i < 4096; i++ {
		select {
		case <-c.Done():
			t.Fatalf("stopped at %d before its deadline", i)
		default:
		}
	}
}
