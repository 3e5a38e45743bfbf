package main

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	// Three rounds out of order: the median round is the 12,000 one, whose
	// p99 is not the median p99; failures add up over every round.
	runs := []wrkResult{
		{RPS: 15000, P50: 1 * time.Millisecond, P99: 9 * time.Millisecond},
		{RPS: 9000, P50: 3 * time.Millisecond, P99: 2 * time.Millisecond, Non2xx: 4},
		{RPS: 12000, P50: 2 * time.Millisecond, P99: 5 * time.Millisecond, Non2xx: 1, SockErrors: 2},
	}
	want := summary{wrkResult: wrkResult{RPS: 12000, P50: 2 * time.Millisecond, P99: 5 * time.Millisecond,
		Non2xx: 5, SockErrors: 2}, min: 9000, max: 15000}
	if got := summarize(runs); got != want {
		t.Errorf("three rounds: got %+v, want %+v", got, want)
	}
	if runs[0].RPS != 15000 || runs[1].Non2xx != 4 {
		t.Errorf("summarize changed its input: %+v", runs)
	}

	// Of an even number, the slower middle round.
	if got := summarize(runs[:2]); got.RPS != 9000 || got.min != 9000 || got.max != 15000 {
		t.Errorf("two rounds: got %+v", got)
	}
	if got := summarize(runs[2:]); got.wrkResult != runs[2] || got.min != 12000 || got.max != 12000 {
		t.Errorf("one round: got %+v", got)
	}
	if got := summarize(nil); got != (summary{}) {
		t.Errorf("no rounds: got %+v", got)
	}
	if got := (summary{min: 9000, max: 15000}).spread(3); got != "9,000–15,000" {
		t.Errorf("spread = %q", got)
	}
	if got := (summary{min: 9000, max: 9000}).spread(1); got != "—" {
		t.Errorf("spread of one round = %q", got)
	}
}
