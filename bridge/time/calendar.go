package time

import (
	"sync"
	"time"
)

// event is what a calendar says of one of its events.
type event struct {
	summary string
	eve     bool // an eve: not a closure, but a day with eve hours
}

// calendar is a parsed holiday calendar, shared read-only by every VM of
// a load.
type calendar struct {
	name   string
	events []event
	abs    []interval // timed events with a zone or in UTC: unix seconds
	wall   []interval // all-day and floating events: civil seconds
	// zone, when set, is where the wall events happen (the file's
	// X-WR-TIMEZONE; Asia/Jerusalem for the built-in israel). Without it
	// they happen in the asker's zone: a clinic's "closed on 1 May" closes
	// 1 May wherever its hours are.
	zone *time.Location

	byZone sync.Map // zone name → *resolved, filled on first use
}

// resolved is a calendar's occurrences as instants, for one zone.
type resolved struct {
	cal      *calendar
	closures *spans
	eves     *spans
}

// in returns the calendar's occurrences as seen from loc. Wall events are
// turned into instants once per zone and kept: a calendar is asked from a
// handful of zones, by every call.
func (c *calendar) in(loc *time.Location) *resolved {
	if c.zone != nil {
		loc = c.zone
	}
	key := loc.String()
	if r, ok := c.byZone.Load(key); ok {
		return r.(*resolved)
	}
	r, _ := c.byZone.LoadOrStore(key, c.resolve(loc))
	return r.(*resolved)
}

func (c *calendar) resolve(loc *time.Location) *resolved {
	var closures, eves []interval
	add := func(iv interval) {
		if c.events[iv.ev].eve {
			eves = append(eves, iv)
		} else {
			closures = append(closures, iv)
		}
	}
	for _, iv := range c.abs {
		add(iv)
	}
	for _, iv := range c.wall {
		add(interval{start: instant(iv.start, loc), end: instant(iv.end, loc), ev: iv.ev})
	}
	return &resolved{cal: c, closures: newSpans(closures), eves: newSpans(eves)}
}

// event returns the event in progress at u: a closure rather than an eve,
// and of several the one that started last.
func (r *resolved) event(u int64) (event, bool) {
	if iv, ok := r.closures.at(u); ok {
		return r.cal.events[iv.ev], true
	}
	if iv, ok := r.eves.at(u); ok {
		return r.cal.events[iv.ev], true
	}
	return event{}, false
}

// eveDuring reports whether an eve overlaps [lo, hi).
func (r *resolved) eveDuring(lo, hi int64) bool {
	found := false
	r.eves.overlapping(lo, hi, func(interval) bool {
		found = true
		return false
	})
	return found
}
