package luavm_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/luavm"
)

// catastrophic backtracks for days: O(n^3) steps over 300 KB.
const catastrophic = `string.rep("a", 300000):find(".-.-.-x")`

// TestCatastrophicPatternStopsAfterTheDeadline wants the call answered at
// its deadline and, unlike a match that cannot be cancelled, the abandoned
// VM's goroutine out of the match soon after.
func TestCatastrophicPatternStopsAfterTheDeadline(t *testing.T) {
	const deadline = 200 * time.Millisecond
	e := newEngine(t, map[string]string{
		"evil.lua": `return { deadline = 200, handle = function() return ` + catastrophic + ` end }`,
		// The default deadline, seconds: the replacement VM may take a
		// while to start on a loaded machine.
		"ok.lua": `return function(x) return "ok:" .. x end`,
	}, luavm.Options{VMs: 1})
	start := time.Now()
	_, err := call(t, e, "evil", 0, "a")
	// Generous: only an answer long after the deadline is a failure here;
	// the hostile suite checks the deadline + 100 ms on the real binary.
	if took := time.Since(start); took > deadline+2*time.Second {
		t.Errorf("answered after %v, deadline %v", took, deadline)
	}
	if !errors.Is(err, luavm.ErrTimeout) {
		t.Fatalf("got %v, want luavm.ErrTimeout", err)
	}
	if got := mustCall(t, e, "ok", 0, "b"); got != "ok:b" {
		t.Errorf("the replacement VM answered %q", got)
	}
	for limit := time.Now().Add(10 * time.Second); luavm.StuckVMs(e.Current()) != 0; {
		if time.Now().After(limit) {
			t.Fatal("the abandoned VM is still matching 10s after its deadline")
		}
		time.Sleep(time.Millisecond) // polling, bounded by limit
	}
}
