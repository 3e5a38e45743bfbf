package time

import (
	"testing"
	"time"
)

// LiftExpandTime lifts the wall-time bound on expanding recurrences for
// the rest of t, so that the step and occurrence budgets decide whatever
// the machine's load. t must not run in parallel with other tests.
func LiftExpandTime(t testing.TB) {
	old := expandTime
	expandTime = time.Hour
	t.Cleanup(func() { expandTime = old })
}
