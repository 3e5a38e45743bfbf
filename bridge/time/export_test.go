package time

import (
	"os"
	"testing"
	"time"
)

// TestMain lifts the wall-time bound on expanding recurrences for every
// test of the package, so that the step and occurrence budgets decide
// whatever the machine's load: under -race on a busy machine, expansions
// well within maxSteps can take over a second. TestBudget checks the time
// bound itself, with a deadline of its own.
func TestMain(m *testing.M) {
	expandTime = time.Hour
	os.Exit(m.Run())
}
