package time

import (
	"container/list"
	"sync"
	"time"
)

// event is what a calendar says of one of its events.
type event struct {
	summary string
	eve     bool // an eve: not a closure, but a day with eve hours
}

// calendar is a parsed holiday calendar. It is shared read-only by every
// VM of a load, and by later loads of the same file (see calCache): all
// its fields are fixed once it is built, except the caches of its
// expansions and zone views, which are guarded.
//
// Events without an RRULE are kept whole (fixed). Recurring events are
// kept as rules and expanded by UTC year (block): the years of the load
// window when the file is loaded, so that a rule too costly to expand
// fails the load, and any other year when a query first needs it.
type calendar struct {
	events []event
	fixed  occurrences
	rules  []*recurrence
	// zone, when set, is where the wall events happen (the file's
	// X-WR-TIMEZONE; Asia/Jerusalem for the built-in israel). Without it
	// they happen in the asker's zone: a clinic's "closed on 1 May" closes
	// 1 May wherever its hours are.
	zone *time.Location

	firstYear int      // of the load window
	loaded    []*block // its years, from firstYear: expanded when loading

	mu    sync.Mutex
	extra map[int]*list.Element // year → *block, other years, least recently used last
	lru   *list.List

	views sync.Map // *time.Location → *view
}

// occurrences are intervals of events: abs in unix seconds (timed events
// with a zone or in UTC), wall in civil seconds (all-day and floating
// events).
type occurrences struct {
	abs, wall []interval
}

// maxExtraYears bounds the years a calendar keeps expanded beyond its
// load window, for queries far from the load.
const maxExtraYears = 16

// block is the occurrences of a calendar's rules that overlap one UTC
// year, or why they could not be found.
type block struct {
	year   int
	occ    occurrences
	err    error
	byZone sync.Map // *time.Location → *spanPair
}

// spanPair is occurrences as instants, for one zone, split in closures
// and eves.
type spanPair struct {
	closures, eves *spans
}

// view is a calendar as seen from one zone: its fixed events resolved
// there once, its rules' years resolved on first use.
type view struct {
	cal   *calendar
	loc   *time.Location
	fixed *spanPair
}

// in returns the calendar as seen from loc. Wall events are turned into
// instants once per zone and kept: a calendar is asked from a handful of
// zones, by every call.
func (c *calendar) in(loc *time.Location) *view {
	if c.zone != nil {
		loc = c.zone
	}
	if v, ok := c.views.Load(loc); ok {
		return v.(*view)
	}
	v := &view{cal: c, loc: loc, fixed: c.fixed.resolve(c.events, loc)}
	for _, b := range c.loaded {
		b.in(c.events, loc)
	}
	actual, _ := c.views.LoadOrStore(loc, v)
	return actual.(*view)
}

func (b *block) in(events []event, loc *time.Location) *spanPair {
	if p, ok := b.byZone.Load(loc); ok {
		return p.(*spanPair)
	}
	p, _ := b.byZone.LoadOrStore(loc, b.occ.resolve(events, loc))
	return p.(*spanPair)
}

func (o occurrences) resolve(events []event, loc *time.Location) *spanPair {
	var closures, eves []interval
	add := func(iv interval) {
		if events[iv.ev].eve {
			eves = append(eves, iv)
		} else {
			closures = append(closures, iv)
		}
	}
	for _, iv := range o.abs {
		add(iv)
	}
	for _, iv := range o.wall {
		add(interval{start: instant(iv.start, loc), end: instant(iv.end, loc), ev: iv.ev})
	}
	return &spanPair{closures: newSpans(closures), eves: newSpans(eves)}
}

// blockError is a year of a calendar that could not be expanded when a
// query needed it. It is raised as a panic through the hours logic and
// turned into a Lua error by the module's methods (guard).
type blockError struct{ err error }

func (e *blockError) Error() string { return e.err.Error() }

// year returns the block of year y, expanding it if needed; it panics
// with a *blockError if that fails.
func (c *calendar) year(y int) *block {
	if i := y - c.firstYear; i >= 0 && i < len(c.loaded) {
		return c.loaded[i]
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.extra == nil {
		c.extra, c.lru = map[int]*list.Element{}, list.New()
	}
	if e, ok := c.extra[y]; ok {
		c.lru.MoveToFront(e)
		return c.checked(e.Value.(*block))
	}
	b := c.expandYear(y, newBudget())
	c.extra[y] = c.lru.PushFront(b)
	if c.lru.Len() > maxExtraYears {
		old := c.lru.Remove(c.lru.Back()).(*block)
		delete(c.extra, old.year)
	}
	return c.checked(b)
}

func (c *calendar) checked(b *block) *block {
	if b.err != nil {
		panic(&blockError{b.err})
	}
	return b
}

// expandYear expands the rules over UTC year y.
func (c *calendar) expandYear(y int, bud *budget) *block {
	b := &block{year: y}
	lo, hi := yearStart(y), yearStart(y+1)
	for _, r := range c.rules {
		var err error
		if r.wall {
			// A civil time is at most 14 hours from the instant it names.
			b.occ.wall, err = r.expand(lo-2*daySeconds, hi+2*daySeconds, bud, b.occ.wall)
		} else {
			b.occ.abs, err = r.expand(lo, hi, bud, b.occ.abs)
		}
		if err != nil {
			b.err = &expandError{year: y, summary: c.events[r.ev].summary, line: r.line, err: err}
			b.occ = occurrences{}
			break
		}
	}
	return b
}

// yearStart is the unix second at which UTC year y starts.
func yearStart(y int) int64 {
	return time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC).Unix()
}

// yearOf is the UTC year of unix second u.
func yearOf(u int64) int {
	return time.Unix(u, 0).UTC().Year()
}

// parts calls f with the fixed events and with the years of the rules
// that hold what is in progress in [lo, hi), until f returns false.
func (v *view) parts(lo, hi int64, f func(*spanPair) bool) {
	if !f(v.fixed) || len(v.cal.rules) == 0 {
		return
	}
	for y := yearOf(lo); y <= yearOf(max(hi-1, lo)); y++ {
		if !f(v.cal.year(y).in(v.cal.events, v.loc)) {
			return
		}
	}
}

// at returns the closure in progress at u or, when there is none and
// eves is set, the eve: of several, the one that started last.
func (v *view) at(u int64, eves bool) (interval, bool) {
	var found interval
	ok := false
	v.parts(u, u+1, func(p *spanPair) bool {
		s := p.closures
		if eves {
			s = p.eves
		}
		if iv, in := s.at(u); in && (!ok || iv.start > found.start || iv.start == found.start && iv.ev > found.ev) {
			found, ok = iv, true
		}
		return true
	})
	return found, ok
}

// closed reports whether a closure is in progress at u.
func (v *view) closed(u int64) bool {
	_, ok := v.at(u, false)
	return ok
}

// event returns the event in progress at u: a closure rather than an
// eve, and of several the one that started last.
func (v *view) event(u int64) (event, bool) {
	if iv, ok := v.at(u, false); ok {
		return v.cal.events[iv.ev], true
	}
	if iv, ok := v.at(u, true); ok {
		return v.cal.events[iv.ev], true
	}
	return event{}, false
}

// eveDuring reports whether an eve overlaps [lo, hi).
func (v *view) eveDuring(lo, hi int64) bool {
	found := false
	v.parts(lo, hi, func(p *spanPair) bool {
		p.eves.overlapping(lo, hi, func(interval) bool {
			found = true
			return false
		})
		return !found
	})
	return found
}

// closedUntil returns the latest end among the closures in progress at u.
func (v *view) closedUntil(u int64) (int64, bool) {
	end, ok := u, false
	v.parts(u, u+1, func(p *spanPair) bool {
		if e, in := p.closures.until(u); in {
			end, ok = max(end, e), true
		}
		return true
	})
	return end, ok
}

// firstClosure returns the earliest start of a closure in [lo, hi).
func (v *view) firstClosure(lo, hi int64) (int64, bool) {
	first, ok := hi, false
	v.parts(lo, hi, func(p *spanPair) bool {
		if s, in := p.closures.firstStart(lo, first); in {
			first, ok = s, true
		}
		return true
	})
	return first, ok
}
