package time

import (
	"math"
	"time"
)

// Wall-clock times are kept as "civil seconds": the seconds since
// 1970-01-01T00:00:00 of a clock on the wall, as if the zone were UTC. They
// are what opening hours and all-day events are written in; instants (unix
// seconds) are what a call happens at.

const daySeconds = 24 * 60 * 60

// civil is the wall-clock reading of instant u in loc.
func civil(u int64, loc *time.Location) int64 {
	_, off := time.Unix(u, 0).In(loc).Zone()
	return u + int64(off)
}

// civilDay is the day number (days since 1970-01-01) of a civil time.
func civilDay(c int64) int64 {
	return floorDiv(c, daySeconds)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// instant is the first instant at which a clock in loc reads w or later.
// Most wall times name one instant. On a spring-forward day a skipped time
// (02:30 when 02:00 jumps to 03:00) becomes the jump itself, when the clock
// first reads past it; on a fall-back day a repeated time (01:30 when 02:00
// goes back to 01:00) is its first, summer-time reading. Both keep a range
// of wall times a range of instants in the same order, which is all the
// opening-hours logic relies on.
func instant(w int64, loc *time.Location) int64 {
	offs := offsetsNear(w, loc)
	best := int64(math.MaxInt64)
	for _, o := range offs {
		if u := w - o; offsetAt(u, loc) == o && u < best {
			best = u
		}
	}
	if best != math.MaxInt64 {
		return best
	}
	// w was skipped: the answer is the transition that skipped it, which
	// starts the zone period of w read with the offset before the jump.
	for _, o := range offs {
		start, _ := time.Unix(w-o, 0).In(loc).ZoneBounds()
		if s := start.Unix(); !start.IsZero() && s < best && civil(s, loc) >= w {
			best = s
		}
	}
	if best == math.MaxInt64 {
		best = w - offs[0] // no zone does this; keep a total function anyway
	}
	return best
}

// offsetsNear lists the UTC offsets loc uses within two days of w, which
// covers every offset (at most ±14 h) and transition w could be read in.
func offsetsNear(w int64, loc *time.Location) []int64 {
	var offs []int64
	for _, d := range [...]int64{0, -2, -1, 1, 2} {
		o := offsetAt(w+d*daySeconds, loc)
		seen := false
		for _, x := range offs {
			seen = seen || x == o
		}
		if !seen {
			offs = append(offs, o)
		}
	}
	return offs
}

func offsetAt(u int64, loc *time.Location) int64 {
	_, off := time.Unix(u, 0).In(loc).Zone()
	return int64(off)
}
