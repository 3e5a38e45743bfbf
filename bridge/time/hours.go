package time

import (
	"time"
)

// searchDays bounds next_open and next_close: hours that do not change
// within it are taken never to.
const searchDays = 400

// span is one opening range of a day, in seconds after its midnight on
// the wall clock; to may pass the next midnight (22:00-02:00), by less
// than a day.
type span struct{ from, to int64 }

// hours are opening hours: ranges of the wall clock by weekday, less
// what calendars close, with eve ranges on the days they mark as eves.
type hours struct {
	loc    *time.Location
	days   [7][]span // by time.Weekday, each sorted by from
	eve    []span
	hasEve bool
	cals   []*view // closed =, seen from loc
}

// at is the instant a range bound of civil day d falls on.
func (h *hours) at(d, sec int64) int64 {
	return instant(d*daySeconds+sec, h.loc)
}

// rangesOn returns the ranges of civil day d. Eve ranges replace those of
// a day that has some: a day closed every week stays closed on an eve
// (Erev Pesach on a Saturday does not open a clinic closed on Saturdays).
func (h *hours) rangesOn(d int64) []span {
	r := h.days[weekday(d)]
	if h.hasEve && len(r) > 0 && h.isEve(d) {
		return h.eve
	}
	return r
}

// isEve reports whether an eve overlaps civil day d.
func (h *hours) isEve(d int64) bool {
	lo, hi := h.at(d, 0), h.at(d+1, 0)
	for _, c := range h.cals {
		if c.eveDuring(lo, hi) {
			return true
		}
	}
	return false
}

// rangeEnd reports whether a range covers instant u and, if so, the
// latest end of those that do. Ranges of the day before are looked at
// too, for those that cross midnight.
func (h *hours) rangeEnd(u int64) (int64, bool) {
	d := civilDay(civil(u, h.loc))
	end, ok := u, false
	for day := d - 1; day <= d; day++ {
		for _, s := range h.rangesOn(day) {
			if from, to := h.at(day, s.from), h.at(day, s.to); from <= u && u < to {
				end, ok = max(end, to), true
			}
		}
	}
	return end, ok
}

// closedUntil reports whether a closure is in progress at u and, if so,
// when the closures that follow on from it end.
func (h *hours) closedUntil(u int64) (int64, bool) {
	end, closed := u, false
	for more := true; more; {
		more = false
		for _, c := range h.cals {
			if e, ok := c.closedUntil(end); ok && e > end {
				end, closed, more = e, true, true
			}
		}
	}
	return end, closed
}

func (h *hours) open(u int64) bool {
	if _, ok := h.rangeEnd(u); !ok {
		return false
	}
	_, closed := h.closedUntil(u)
	return !closed
}

// nextOpen returns the first instant from u on at which the hours are
// open: u itself when they are. Ranges are taken in order of start, so
// the first one with an open moment left has the earliest.
func (h *hours) nextOpen(u int64) (int64, bool) {
	if h.open(u) {
		return u, true
	}
	d := civilDay(civil(u, h.loc))
	for day := d - 1; day <= d+searchDays; day++ {
		for _, s := range h.rangesOn(day) {
			from, to := h.at(day, s.from), h.at(day, s.to)
			if to <= u {
				continue
			}
			c := max(from, u)
			if e, closed := h.closedUntil(c); closed {
				c = e
			}
			if c < to {
				return c, true
			}
		}
	}
	return 0, false
}

// nextClose returns the first instant from u on at which the hours are
// closed: u itself when they are.
func (h *hours) nextClose(u int64) (int64, bool) {
	for cur := u; cur <= u+searchDays*daySeconds; {
		end, ok := h.rangeEnd(cur)
		if !ok {
			return cur, true
		}
		if _, closed := h.closedUntil(cur); closed {
			return cur, true
		}
		if s, ok := h.nextClosure(cur, end); ok {
			return s, true
		}
		cur = end
	}
	return 0, false
}

// nextClosure returns the first start of a closure in [lo, hi).
func (h *hours) nextClosure(lo, hi int64) (int64, bool) {
	first, found := hi, false
	for _, c := range h.cals {
		if s, ok := c.firstClosure(lo, first); ok {
			first, found = s, true
		}
	}
	return first, found
}
