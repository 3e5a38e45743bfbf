package time

import (
	"fmt"
	"slices"
	"time"
)

// Limits on the work of expanding a calendar's recurrences.
const (
	// maxOccurrences bounds the occurrences of a file in its load window
	// (fixed events included), and those of its rules in any other year:
	// a minutely RRULE must fail the load, not fill the memory.
	maxOccurrences = 100000
	// maxSteps bounds the days, times and dates looked at while expanding
	// a file's rules over the load window, or over one other year: about
	// 0.1 s of work. A rule that seldom or never matches
	// (FREQ=MINUTELY;BYHOUR=25 cannot be written, but
	// FREQ=SECONDLY;BYSETPOS=2 can) spends it without producing anything.
	maxSteps = 4_000_000
	// windowBefore and windowAfter are the load window: from 1 January of
	// the year before the load's to the end of the third year after it,
	// so at least a year back and three years ahead.
	windowBefore, windowAfter = 1, 3
)

// expandTime bounds the wall time of expanding a file's rules, in case a
// step costs more than it should. A variable only so that tests whose
// verdict is another limit can lift it: on a loaded machine under -race,
// work well within maxSteps may take a second.
var expandTime = time.Second

func newBudget() *budget {
	return &budget{steps: maxSteps, occ: maxOccurrences, deadline: time.Now().Add(expandTime)}
}

// recurrence is an event with an RRULE: what it takes to list its
// occurrences in any range. It is never modified once built.
type recurrence struct {
	ev      int32
	line    int  // of its BEGIN:VEVENT, for errors
	wall    bool // all-day or floating: rule, dates and range in civil seconds
	length  int64
	rule    *recurRule
	rdates  []int64 // sorted
	exdates []int64 // sorted, with the starts of moved occurrences
}

// expand appends to out the occurrences that overlap [lo, hi).
func (r *recurrence) expand(lo, hi int64, b *budget, out []interval) ([]interval, error) {
	from := lo - r.length
	var starts []int64
	it := r.rule.iter(time.Unix(from, 0), time.Unix(hi, 0), b)
	for t, ok := it.next(); ok; t, ok = it.next() {
		u := t.Unix()
		if u >= hi {
			break
		}
		if u+r.length > lo || (r.length == 0 && u >= lo) {
			if len(starts) >= b.occ {
				return out, errOccurrences
			}
			starts = append(starts, u)
		}
	}
	if it.err != nil {
		return out, b.failure()
	}
	i, _ := slices.BinarySearch(r.rdates, from)
	for ; i < len(r.rdates) && r.rdates[i] < hi; i++ {
		if r.rdates[i]+r.length > lo {
			starts = append(starts, r.rdates[i])
		}
	}
	slices.Sort(starts)
	starts = slices.Compact(starts)
	for _, s := range starts {
		if _, ex := slices.BinarySearch(r.exdates, s); ex {
			continue
		}
		if b.occ--; b.occ < 0 {
			return out, errOccurrences
		}
		if r.length > 0 { // an empty occurrence is never in progress
			out = append(out, interval{start: s, end: s + r.length, ev: r.ev})
		}
	}
	return out, nil
}

var errOccurrences = fmt.Errorf("more than %d occurrences in the file: give it an UNTIL or a COUNT", maxOccurrences)

// failure says why the step budget ran out.
func (b *budget) failure() error {
	if b.expired {
		return fmt.Errorf("expanding the file's recurrences took over %v: a rule that seldom or never matches?", expandTime)
	}
	return fmt.Errorf("expanding the file's recurrences took over %d steps: a rule that seldom or never matches, or matches too often?", maxSteps)
}

// expandLoad expands every rule over the load window, years first to
// last, and fails on the first rule that breaks the budget.
func (c *calendar) expandLoad(first, last int, b *budget) error {
	c.firstYear = first
	for y := first; y <= last; y++ {
		blk := c.expandYear(y, b)
		if blk.err != nil {
			return blk.err
		}
		c.loaded = append(c.loaded, blk)
	}
	return nil
}

// expandError is a rule that could not be expanded over a year.
type expandError struct {
	year    int
	summary string
	line    int
	err     error
}

func (e *expandError) Error() string {
	return fmt.Sprintf("calendar event %q (line %d): RRULE: in %d: %v", e.summary, e.line, e.year, e.err)
}

func (e *expandError) Unwrap() error { return e.err }
