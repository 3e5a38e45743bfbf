package time

// The expansion of RRULEs, adapted from rrule-go's iterator
// (github.com/teambition/rrule-go v1.8.2, rrule.go and util.go, MIT
// License, Copyright (c) 2017-2023 Teambition; itself a port of Python's
// dateutil.rrule). rrule-go still parses the rules (go-ical hands them
// over as rrule.ROption); its iterator is not used because it cannot be
// bounded: it walks every period up to the year 9999 looking for the next
// date, so a rule that never matches (FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30)
// costs half a second and FREQ=SECONDLY;BYSETPOS=2 runs for ever, and a
// rule from 1990 must be walked from 1990 to reach today. This one
//
//   - starts at the period just before the range asked for, when the rule
//     has no COUNT (periods are counted from DTSTART, so the dates are the
//     same as from DTSTART);
//   - stops at the end of the range, whether or not a date matched;
//   - charges every day, time and candidate it looks at to a budget, and
//     gives up with an error when the budget is spent;
//   - keeps no state in the rule, so that one rule is expanded by many
//     goroutines at once.

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/teambition/rrule-go"
)

const (
	maxYear     = 9999 // rrule-go's MAXYEAR: no dates after it
	maxInterval = 100_000_000
)

// recurRule is an RRULE, checked and made ready to expand. It is never
// modified after compileRule.
type recurRule struct {
	freq                    rrule.Frequency
	dtstart                 time.Time
	loc                     *time.Location
	interval                int
	wkst                    int // 0 = Monday, as Python
	count                   int
	until                   time.Time // zero: none
	bysetpos                []int
	bymonth                 []int
	bymonthday, bynmonthday []int
	byyearday               []int
	byweekno                []int
	byweekday               []int
	bynweekday              []nthWeekday
	byhour                  []int
	byminute                []int
	bysecond                []int
}

type nthWeekday struct{ weekday, n int }

// compileRule checks a rule and fills in what RFC 5545 takes from
// DTSTART when the rule does not say it.
func compileRule(opt rrule.ROption, dtstart time.Time) (*recurRule, error) {
	if len(opt.Byeaster) > 0 {
		return nil, errors.New("BYEASTER is not part of iCalendar")
	}
	if err := ruleBounds(opt); err != nil {
		return nil, err
	}
	dtstart = dtstart.Truncate(time.Second)
	if opt.Interval > maxInterval {
		return nil, fmt.Errorf("INTERVAL over %d", maxInterval)
	}
	r := &recurRule{freq: opt.Freq, dtstart: dtstart, loc: dtstart.Location(), interval: max(opt.Interval, 1), count: max(opt.Count, 0)}
	if r.freq < rrule.YEARLY || r.freq > rrule.SECONDLY {
		return nil, fmt.Errorf("unknown FREQ %d", r.freq)
	}
	if !opt.Until.IsZero() {
		r.until = opt.Until.Truncate(time.Second)
	}
	wkst := opt.Wkst
	r.wkst = wkst.Day()
	r.bysetpos = set(opt.Bysetpos)
	bymonth, bymonthday, byweekday := set(opt.Bymonth), set(opt.Bymonthday), opt.Byweekday
	if len(opt.Byweekno) == 0 && len(opt.Byyearday) == 0 && len(bymonthday) == 0 && len(byweekday) == 0 {
		switch r.freq {
		case rrule.YEARLY:
			if len(bymonth) == 0 {
				bymonth = []int{int(dtstart.Month())}
			}
			bymonthday = []int{dtstart.Day()}
		case rrule.MONTHLY:
			bymonthday = []int{dtstart.Day()}
		case rrule.WEEKLY:
			byweekday = []rrule.Weekday{pyWeekdays[pyWeekday(dtstart.Weekday())]}
		}
	}
	r.bymonth = bymonth
	r.byyearday = set(opt.Byyearday)
	for _, d := range bymonthday {
		if d > 0 {
			r.bymonthday = append(r.bymonthday, d)
		} else {
			r.bynmonthday = append(r.bynmonthday, d)
		}
	}
	r.byweekno = set(opt.Byweekno)
	seen := map[nthWeekday]bool{}
	for _, w := range byweekday {
		d := nthWeekday{weekday: w.Day(), n: w.N()}
		if seen[d] {
			continue
		}
		seen[d] = true
		if d.n == 0 || r.freq > rrule.MONTHLY {
			if !slices.Contains(r.byweekday, d.weekday) {
				r.byweekday = append(r.byweekday, d.weekday)
			}
		} else {
			r.bynweekday = append(r.bynweekday, d)
		}
	}
	r.byhour, r.byminute, r.bysecond = set(opt.Byhour), set(opt.Byminute), set(opt.Bysecond)
	if len(r.byhour) == 0 && r.freq < rrule.HOURLY {
		r.byhour = []int{dtstart.Hour()}
	}
	if len(r.byminute) == 0 && r.freq < rrule.MINUTELY {
		r.byminute = []int{dtstart.Minute()}
	}
	if len(r.bysecond) == 0 && r.freq < rrule.SECONDLY {
		r.bysecond = []int{dtstart.Second()}
	}
	if err := r.impossible(); err != nil {
		return nil, err
	}
	return r, nil
}

// pyWeekdays are rrule-go's weekdays, Monday first.
var pyWeekdays = [7]rrule.Weekday{rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU}

// set returns list sorted and without repeats: BYSECOND=0,0,0,... must
// not multiply the work.
func set(list []int) []int {
	if len(list) == 0 {
		return nil
	}
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

// ruleBounds is rrule-go's validateBounds: values RFC 5545 allows.
func ruleBounds(o rrule.ROption) error {
	for _, b := range []struct {
		list   []int
		name   string
		lo, hi int
		neg    bool // -hi..-lo too
	}{
		{o.Bysecond, "BYSECOND", 0, 59, false},
		{o.Byminute, "BYMINUTE", 0, 59, false},
		{o.Byhour, "BYHOUR", 0, 23, false},
		{o.Bymonthday, "BYMONTHDAY", 1, 31, true},
		{o.Byyearday, "BYYEARDAY", 1, 366, true},
		{o.Byweekno, "BYWEEKNO", 1, 53, true},
		{o.Bymonth, "BYMONTH", 1, 12, false},
		{o.Bysetpos, "BYSETPOS", 1, 366, true},
	} {
		for _, v := range b.list {
			if (v < b.lo || v > b.hi) && (!b.neg || v > -b.lo || v < -b.hi) {
				if b.neg {
					return fmt.Errorf("%s must be between %d and %d or -%d and -%d, got %d", b.name, b.lo, b.hi, b.lo, b.hi, v)
				}
				return fmt.Errorf("%s must be between %d and %d, got %d", b.name, b.lo, b.hi, v)
			}
		}
	}
	for _, w := range o.Byweekday {
		if n := w.N(); n > 53 || n < -53 {
			return errors.New("BYDAY must be between 1 and 53 or -1 and -53 weeks")
		}
	}
	if o.Interval < 0 {
		return errors.New("INTERVAL must be positive")
	}
	return nil
}

// monthDays is the longest each month can be.
var monthDays = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// impossible rejects the rules that can be seen never to match without
// expanding them: days of the month that none of the months has
// (BYMONTH=2;BYMONTHDAY=30), hours past the end of an hourly interval.
func (r *recurRule) impossible() error {
	if len(r.bymonthday)+len(r.bynmonthday) > 0 && len(r.byyearday) == 0 && len(r.byweekno) == 0 {
		months := r.bymonth
		if len(months) == 0 {
			months = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
		}
		longest := 0
		for _, m := range months {
			longest = max(longest, monthDays[m])
		}
		ok := false
		for _, d := range r.bymonthday {
			ok = ok || d <= longest
		}
		for _, d := range r.bynmonthday {
			ok = ok || -d <= longest
		}
		if !ok {
			return fmt.Errorf("can never match: no month of BYMONTH=%v has BYMONTHDAY=%v", months, append(slices.Clone(r.bymonthday), r.bynmonthday...))
		}
	}
	return nil
}

// errBudget is returned when expanding costs more than the budget.
var errBudget = errors.New("budget spent")

// budget bounds the work of expanding: steps (days, times and dates
// looked at), occurrences kept, and wall time.
type budget struct {
	steps    int
	occ      int
	deadline time.Time // zero: none
	tick     int
	expired  bool
}

// spend charges n steps, and says whether the budget still holds.
func (b *budget) spend(n int) bool {
	b.steps -= n
	if b.tick += n; b.tick >= 4096 && !b.deadline.IsZero() {
		b.tick = 0
		if time.Now().After(b.deadline) {
			b.expired = true
			b.steps = -1
		}
	}
	return b.steps >= 0
}

// recurIter lists the dates of a rule in order, from the period before
// from to the end of the range.
type recurIter struct {
	r                    *recurRule
	year                 int
	month                time.Month
	day                  int
	hour, minute, second int
	weekday              int
	ii                   iterInfo
	timeset              []clockTime
	count                int
	remain               []time.Time
	finished             bool
	dayset               []optInt
	endDay               int64 // no period that starts after this civil day is looked at
	b                    *budget
	err                  error
}

type clockTime struct{ h, m, s int }

type optInt struct {
	i       int
	defined bool
}

// iter returns an iterator of the rule's dates from about from (earlier
// ones may come too) to end (later ones may come too), charged to b.
func (r *recurRule) iter(from, end time.Time, b *budget) *recurIter {
	it := &recurIter{r: r, b: b, count: r.count}
	e := end.In(r.loc)
	it.endDay = civilDays(e.Year(), e.Month(), e.Day()) + 1
	it.year, it.month, it.day = r.dtstart.Date()
	it.hour, it.minute, it.second = r.dtstart.Clock()
	it.weekday = pyWeekday(r.dtstart.Weekday())
	if r.count == 0 && from.After(r.dtstart) {
		it.skipTo(from.Add(-2 * 24 * time.Hour).In(r.loc))
	}
	it.ii = iterInfo{rrule: r}
	it.ii.rebuild(it.year, it.month)
	if r.freq < rrule.HOURLY {
		it.timeset = r.timeset(b)
	} else if r.freq >= rrule.HOURLY && len(r.byhour) != 0 && !slices.Contains(r.byhour, it.hour) ||
		r.freq >= rrule.MINUTELY && len(r.byminute) != 0 && !slices.Contains(r.byminute, it.minute) ||
		r.freq >= rrule.SECONDLY && len(r.bysecond) != 0 && !slices.Contains(r.bysecond, it.second) {
		it.timeset = nil
	} else {
		it.fillTimeSet()
	}
	return it
}

// skipTo moves the iterator from DTSTART's period to the last period
// that starts no later than f, one before that to be safe. Periods are
// counted in whole intervals from DTSTART's, so the dates are those the
// rule has when walked from DTSTART.
func (it *recurIter) skipTo(f time.Time) {
	r := it.r
	d := r.dtstart
	iv := int64(r.interval)
	periods := func(n int64) int64 { return max(n/iv-1, 0) * iv }
	switch r.freq {
	case rrule.YEARLY:
		it.year += int(periods(int64(f.Year() - d.Year())))
	case rrule.MONTHLY:
		m := int64(d.Year())*12 + int64(d.Month()) - 1
		m += periods(int64(f.Year())*12 + int64(f.Month()) - 1 - m)
		it.year, it.month = int(m/12), time.Month(m%12+1)
	case rrule.WEEKLY:
		days := civilDays(f.Year(), f.Month(), f.Day()) - civilDays(d.Year(), d.Month(), d.Day())
		k := max(days/(7*iv)-1, 0)
		if k == 0 {
			return
		}
		// Periods after the first start on WKST.
		back := (it.weekday - r.wkst + 7) % 7
		it.setDate(d.Year(), d.Month(), d.Day()-back+int(k*7*iv))
		it.weekday = r.wkst
	case rrule.DAILY:
		days := civilDays(f.Year(), f.Month(), f.Day()) - civilDays(d.Year(), d.Month(), d.Day())
		it.setDate(d.Year(), d.Month(), d.Day()+int(periods(days)))
	default:
		unit := map[rrule.Frequency]int64{rrule.HOURLY: 3600, rrule.MINUTELY: 60, rrule.SECONDLY: 1}[r.freq]
		secs := civilSeconds(f) - civilSeconds(d)
		c := civilSeconds(d) + periods(secs/unit)*unit
		t := time.Unix(c, 0).UTC()
		it.year, it.month, it.day = t.Date()
		it.hour, it.minute, it.second = t.Clock()
		it.weekday = pyWeekday(t.Weekday())
	}
}

func (it *recurIter) setDate(y int, m time.Month, d int) {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	it.year, it.month, it.day = t.Date()
	it.weekday = pyWeekday(t.Weekday())
}

// civilDays is the day number (days since 1970-01-01) of a date.
func civilDays(y int, m time.Month, d int) int64 {
	return floorDiv(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix(), daySeconds)
}

// civilSeconds is t's wall-clock reading as seconds since 1970-01-01.
func civilSeconds(t time.Time) int64 {
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, m, d, h, mi, s, 0, time.UTC).Unix()
}

// timeset lists the times of day of a rule of FREQ=DAILY or less often.
func (r *recurRule) timeset(b *budget) []clockTime {
	n := len(r.byhour) * len(r.byminute) * len(r.bysecond)
	if !b.spend(n) {
		return nil
	}
	out := make([]clockTime, 0, n)
	for _, h := range r.byhour {
		for _, m := range r.byminute {
			for _, s := range r.bysecond {
				out = append(out, clockTime{h, m, s})
			}
		}
	}
	return out // sorted: the lists are
}

func (it *recurIter) fillTimeSet() {
	r := it.r
	it.timeset = it.timeset[:0]
	switch r.freq {
	case rrule.HOURLY:
		for _, m := range r.byminute {
			for _, s := range r.bysecond {
				it.timeset = append(it.timeset, clockTime{it.hour, m, s})
			}
		}
	case rrule.MINUTELY:
		for _, s := range r.bysecond {
			it.timeset = append(it.timeset, clockTime{it.hour, it.minute, s})
		}
	case rrule.SECONDLY:
		it.timeset = append(it.timeset, clockTime{it.hour, it.minute, it.second})
	}
}

// next returns the next date, or false at the end of the rule or of the
// range, or when the budget is spent (then it.err is set).
func (it *recurIter) next() (time.Time, bool) {
	if len(it.remain) == 0 {
		it.generate()
	}
	if len(it.remain) == 0 {
		return time.Time{}, false
	}
	t := it.remain[0]
	it.remain = it.remain[1:]
	return t, true
}

func (it *recurIter) stop(err error) {
	it.finished = true
	if err != nil && it.err == nil {
		it.err = err
	}
}

// periodDay is the civil day number on which the current period starts.
func (it *recurIter) periodDay() int64 {
	switch it.r.freq {
	case rrule.YEARLY:
		return civilDays(it.year, 1, 1)
	case rrule.MONTHLY:
		return civilDays(it.year, it.month, 1)
	}
	return civilDays(it.year, it.month, it.day)
}

// emit queues a candidate date; false ends the period.
func (it *recurIter) emit(res time.Time) bool {
	r := it.r
	if !r.until.IsZero() && res.After(r.until) {
		it.stop(nil)
		return false
	}
	if res.Before(r.dtstart) {
		return true
	}
	it.remain = append(it.remain, res)
	if it.count != 0 {
		it.count--
		if it.count == 0 {
			it.stop(nil)
			return false
		}
	}
	return true
}

func (it *recurIter) date(i int) (int, time.Month, int) {
	return time.Date(it.year, 1, 1+i, 0, 0, 0, 0, time.UTC).Date()
}

func (it *recurIter) generate() {
	r := it.r
	ii := &it.ii
	for len(it.remain) == 0 && !it.finished {
		if it.year > maxYear || it.periodDay() > it.endDay {
			it.stop(nil)
			return
		}
		it.daySet()
		if !it.b.spend(periodSteps + len(it.dayset)) {
			it.stop(errBudget)
			return
		}
		filtered := false
		for k, d := range it.dayset {
			i := d.i
			if len(r.bymonth) != 0 && !slices.Contains(r.bymonth, ii.mmask[i]) ||
				len(r.byweekno) != 0 && ii.wnomask[i] == 0 ||
				len(r.byweekday) != 0 && !slices.Contains(r.byweekday, ii.wdaymask[i]) ||
				len(ii.nwdaymask) != 0 && ii.nwdaymask[i] == 0 ||
				(len(r.bymonthday) != 0 || len(r.bynmonthday) != 0) &&
					!slices.Contains(r.bymonthday, ii.mdaymask[i]) &&
					!slices.Contains(r.bynmonthday, ii.nmdaymask[i]) ||
				len(r.byyearday) != 0 &&
					(i < ii.yearlen &&
						!slices.Contains(r.byyearday, i+1) &&
						!slices.Contains(r.byyearday, -ii.yearlen+i) ||
						i >= ii.yearlen &&
							!slices.Contains(r.byyearday, i+1-ii.yearlen) &&
							!slices.Contains(r.byyearday, -ii.nextyearlen+i-ii.yearlen)) {
				it.dayset[k].defined = false
				filtered = true
			}
		}
		if len(r.bysetpos) != 0 && len(it.timeset) != 0 {
			var days []int
			for _, d := range it.dayset {
				if d.defined {
					days = append(days, d.i)
				}
			}
			var poslist []time.Time
			for _, pos := range r.bysetpos {
				if !it.b.spend(1) {
					it.stop(errBudget)
					return
				}
				var daypos, timepos int
				if pos < 0 {
					daypos, timepos = divmod(pos, len(it.timeset))
				} else {
					daypos, timepos = divmod(pos-1, len(it.timeset))
				}
				if daypos < 0 {
					daypos += len(days)
				}
				if daypos < 0 || daypos >= len(days) {
					continue
				}
				y, m, d := it.date(days[daypos])
				c := it.timeset[timepos]
				res := time.Date(y, m, d, c.h, c.m, c.s, 0, r.loc)
				if !slices.ContainsFunc(poslist, res.Equal) {
					poslist = append(poslist, res)
				}
			}
			slices.SortFunc(poslist, func(a, b time.Time) int { return a.Compare(b) })
			for _, res := range poslist {
				if !it.emit(res) {
					return
				}
			}
		} else {
			for _, d := range it.dayset {
				if !d.defined {
					continue
				}
				if !it.b.spend(len(it.timeset)) {
					it.stop(errBudget)
					return
				}
				y, m, day := it.date(d.i)
				for _, c := range it.timeset {
					if !it.emit(time.Date(y, m, day, c.h, c.m, c.s, 0, r.loc)) {
						return
					}
				}
			}
		}
		if !it.advance(filtered) {
			return
		}
	}
}

// periodSteps is what a period costs besides its days: finding its
// dates, the masks of a new year.
const periodSteps = 8

// daySet lists the days of the current period, as indexes into the
// year. Days of months that BYMONTH leaves out are left out at once
// rather than filtered one by one: a yearly rule looks at 31 days a
// year, not 366.
func (it *recurIter) daySet() {
	r, ii := it.r, &it.ii
	it.dayset = it.dayset[:0]
	add := func(start, end int) {
		for i := start; i < end; i++ {
			it.dayset = append(it.dayset, optInt{i, true})
		}
	}
	switch {
	case r.freq == rrule.YEARLY && len(r.bymonth) > 0:
		for _, m := range r.bymonth { // sorted
			add(ii.mrange[m-1], ii.mrange[m])
		}
	case r.freq == rrule.MONTHLY && len(r.bymonth) > 0 && !slices.Contains(r.bymonth, int(it.month)):
	default:
		add(ii.calcDaySet(r.freq, it.year, it.month, it.day))
	}
}

// advance moves to the next period (rrule-go's "handle frequency and
// interval"), and says whether to go on.
func (it *recurIter) advance(filtered bool) bool {
	r := it.r
	fixday := false
	switch r.freq {
	case rrule.YEARLY:
		it.year += r.interval
		if it.year > maxYear {
			it.stop(nil)
			return false
		}
		it.ii.rebuild(it.year, it.month)
		return true
	case rrule.MONTHLY:
		m := int64(it.year)*12 + int64(it.month) - 1 + int64(r.interval)
		if m/12 > maxYear {
			it.stop(nil)
			return false
		}
		it.year, it.month = int(m/12), time.Month(m%12+1)
		it.ii.rebuild(it.year, it.month)
		return true
	case rrule.WEEKLY:
		if r.wkst > it.weekday {
			it.day += -(it.weekday + 1 + (6 - r.wkst)) + r.interval*7
		} else {
			it.day += -(it.weekday - r.wkst) + r.interval*7
		}
		it.weekday = r.wkst
		fixday = true
	case rrule.DAILY:
		it.day += r.interval
		fixday = true
	default:
		if !it.advanceClock(filtered) {
			return false
		}
		fixday = true
	}
	if fixday && it.day > 28 {
		if it.day > 400*(maxYear+1) { // huge INTERVALs: past any date
			it.stop(nil)
			return false
		}
		y, m, d := time.Date(it.year, it.month, it.day, 0, 0, 0, 0, time.UTC).Date()
		if y > maxYear {
			it.stop(nil)
			return false
		}
		if y != it.year || m != it.month {
			it.year, it.month, it.day = y, m, d
			it.ii.rebuild(it.year, it.month)
		}
		it.day = d
	}
	return true
}

// advanceClock moves an HOURLY, MINUTELY or SECONDLY rule to its next
// time that BYHOUR, BYMINUTE and BYSECOND allow.
func (it *recurIter) advanceClock(filtered bool) bool {
	r := it.r
	startDay := it.day
	if filtered { // jump to one interval before the next day
		switch r.freq {
		case rrule.HOURLY:
			it.hour += ((23 - it.hour) / r.interval) * r.interval
		case rrule.MINUTELY:
			it.minute += ((1439 - (it.hour*60 + it.minute)) / r.interval) * r.interval
		case rrule.SECONDLY:
			it.second += ((86399 - (it.hour*3600 + it.minute*60 + it.second)) / r.interval) * r.interval
		}
	}
	for {
		if !it.b.spend(1) {
			it.stop(errBudget)
			return false
		}
		switch r.freq {
		case rrule.HOURLY:
			it.hour += r.interval
		case rrule.MINUTELY:
			it.minute += r.interval
		case rrule.SECONDLY:
			it.second += r.interval
		}
		// Carry with the day in 64 bits: INTERVAL may be huge.
		secs := int64(it.hour)*3600 + int64(it.minute)*60 + int64(it.second)
		days := floorDiv(secs, daySeconds)
		secs -= days * daySeconds
		it.hour, it.minute, it.second = int(secs/3600), int(secs/60%60), int(secs%60)
		if days != 0 {
			if int64(it.day)+days > 400*(maxYear+1) {
				it.stop(nil)
				return false
			}
			it.day += int(days)
			if it.day-startDay > 0 && civilDays(it.year, it.month, it.day) > it.endDay {
				it.stop(nil)
				return false
			}
		}
		if (len(r.byhour) == 0 || slices.Contains(r.byhour, it.hour)) &&
			(r.freq < rrule.MINUTELY || len(r.byminute) == 0 || slices.Contains(r.byminute, it.minute)) &&
			(r.freq < rrule.SECONDLY || len(r.bysecond) == 0 || slices.Contains(r.bysecond, it.second)) {
			break
		}
	}
	it.fillTimeSet()
	return true
}

func pyWeekday(d time.Weekday) int { return (int(d) + 6) % 7 }

func isLeap(year int) int {
	if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 1
	}
	return 0
}

func pymod(a, b int) int {
	r := a % b
	if r*b < 0 {
		r += b
	}
	return r
}

func divmod(a, b int) (int, int) {
	m := pymod(a, b)
	return (a - m) / b, m
}

// Every mask is 7 days longer, for weekly periods across a new year.
var (
	m366Mask, m365Mask, mday366Mask, mday365Mask, nmday366Mask, nmday365Mask, wdayMask []int

	m366Range = []int{0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366}
	m365Range = []int{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365}
)

func init() {
	repeat := func(v, n int) []int { return slices.Repeat([]int{v}, n) }
	rng := func(a, b int) []int {
		var out []int
		for i := a; i < b; i++ {
			out = append(out, i)
		}
		return out
	}
	m366Mask = slices.Concat(repeat(1, 31), repeat(2, 29), repeat(3, 31), repeat(4, 30), repeat(5, 31), repeat(6, 30),
		repeat(7, 31), repeat(8, 31), repeat(9, 30), repeat(10, 31), repeat(11, 30), repeat(12, 31), repeat(1, 7))
	m365Mask = slices.Concat(m366Mask[:59], m366Mask[60:])
	m29, m30, m31 := rng(1, 30), rng(1, 31), rng(1, 32)
	mday366Mask = slices.Concat(m31, m29, m31, m30, m31, m30, m31, m31, m30, m31, m30, m31, m31[:7])
	mday365Mask = slices.Concat(mday366Mask[:59], mday366Mask[60:])
	m29, m30, m31 = rng(-29, 0), rng(-30, 0), rng(-31, 0)
	nmday366Mask = slices.Concat(m31, m29, m31, m30, m31, m30, m31, m31, m30, m31, m30, m31, m31[:7])
	nmday365Mask = slices.Concat(nmday366Mask[:31], nmday366Mask[32:])
	wdayMask = slices.Repeat([]int{0, 1, 2, 3, 4, 5, 6}, 55)
}

// iterInfo is rrule-go's: the masks of the year being walked.
type iterInfo struct {
	rrule       *recurRule
	lastyear    int
	lastmonth   time.Month
	yearlen     int
	nextyearlen int
	yearweekday int
	mmask       []int
	mrange      []int
	mdaymask    []int
	nmdaymask   []int
	wdaymask    []int
	wnomask     []int
	nwdaymask   []int
}

func (info *iterInfo) rebuild(year int, month time.Month) {
	r := info.rrule
	if year != info.lastyear {
		info.yearlen = 365 + isLeap(year)
		info.nextyearlen = 365 + isLeap(year+1)
		info.yearweekday = pyWeekday(time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC).Weekday())
		info.wdaymask = wdayMask[info.yearweekday:]
		if info.yearlen == 365 {
			info.mmask, info.mdaymask, info.nmdaymask, info.mrange = m365Mask, mday365Mask, nmday365Mask, m365Range
		} else {
			info.mmask, info.mdaymask, info.nmdaymask, info.mrange = m366Mask, mday366Mask, nmday366Mask, m366Range
		}
		if len(r.byweekno) == 0 {
			info.wnomask = nil
		} else {
			info.weekNumbers(year)
		}
	}
	if len(r.bynweekday) != 0 && (month != info.lastmonth || year != info.lastyear) {
		var ranges [][]int
		if r.freq == rrule.YEARLY {
			if len(r.bymonth) != 0 {
				for _, m := range r.bymonth {
					ranges = append(ranges, info.mrange[m-1:m+1])
				}
			} else {
				ranges = [][]int{{0, info.yearlen}}
			}
		} else if r.freq == rrule.MONTHLY {
			ranges = [][]int{info.mrange[month-1 : month+1]}
		}
		if len(ranges) != 0 {
			info.nwdaymask = make([]int, info.yearlen)
			for _, x := range ranges {
				first, last := x[0], x[1]-1
				for _, y := range r.bynweekday {
					wday, n := y.weekday, y.n
					var i int
					if n < 0 {
						i = last + (n+1)*7
						if i < 0 || i >= len(info.wdaymask) {
							continue
						}
						i -= pymod(info.wdaymask[i]-wday, 7)
					} else {
						i = first + (n-1)*7
						if i < 0 || i >= len(info.wdaymask) {
							continue
						}
						i += pymod(7-info.wdaymask[i]+wday, 7)
					}
					if first <= i && i <= last {
						info.nwdaymask[i] = 1
					}
				}
			}
		} else {
			info.nwdaymask = nil
		}
	}
	info.lastyear = year
	info.lastmonth = month
}

// weekNumbers fills wnomask for BYWEEKNO (ISO 8601 weeks, starting on
// WKST).
func (info *iterInfo) weekNumbers(year int) {
	r := info.rrule
	info.wnomask = make([]int, info.yearlen+7)
	firstwkst := pymod(7-info.yearweekday+r.wkst, 7)
	no1wkst := firstwkst
	var wyearlen int
	if no1wkst >= 4 {
		no1wkst = 0
		wyearlen = info.yearlen + pymod(info.yearweekday-r.wkst, 7)
	} else {
		wyearlen = info.yearlen - no1wkst
	}
	div, mod := divmod(wyearlen, 7)
	numweeks := div + mod/4
	mark := func(i int) {
		for j := 0; j < 7 && i < len(info.wnomask); j++ {
			info.wnomask[i] = 1
			i++
			if info.wdaymask[i] == r.wkst {
				break
			}
		}
	}
	for _, n := range r.byweekno {
		if n < 0 {
			n += numweeks + 1
		}
		if !(0 < n && n <= numweeks) {
			continue
		}
		var i int
		if n > 1 {
			i = no1wkst + (n-1)*7
			if no1wkst != firstwkst {
				i -= 7 - firstwkst
			}
		} else {
			i = no1wkst
		}
		mark(i)
	}
	if slices.Contains(r.byweekno, 1) {
		i := no1wkst + numweeks*7
		if no1wkst != firstwkst {
			i -= 7 - firstwkst
		}
		if i < info.yearlen {
			mark(i)
		}
	}
	if no1wkst != 0 {
		var lnumweeks int
		if !slices.Contains(r.byweekno, -1) {
			lyearweekday := pyWeekday(time.Date(year-1, 1, 1, 0, 0, 0, 0, time.UTC).Weekday())
			lno1wkst := pymod(7-lyearweekday+r.wkst, 7)
			lyearlen := 365 + isLeap(year-1)
			if lno1wkst >= 4 {
				lnumweeks = 52 + pymod(lyearlen+pymod(lyearweekday-r.wkst, 7), 7)/4
			} else {
				lnumweeks = 52 + pymod(info.yearlen-no1wkst, 7)/4
			}
		} else {
			lnumweeks = -1
		}
		if slices.Contains(r.byweekno, lnumweeks) {
			for i := 0; i < no1wkst; i++ {
				info.wnomask[i] = 1
			}
		}
	}
}

func (info *iterInfo) calcDaySet(freq rrule.Frequency, year int, month time.Month, day int) (start, end int) {
	switch freq {
	case rrule.YEARLY:
		return 0, info.yearlen
	case rrule.MONTHLY:
		return info.mrange[month-1], info.mrange[month]
	case rrule.WEEKLY:
		i := time.Date(year, month, day, 0, 0, 0, 0, time.UTC).YearDay() - 1
		start, end = i, i+1
		for j := 0; j < 7; j++ {
			i++
			if info.wdaymask[i] == info.rrule.wkst {
				break
			}
			end = i + 1
		}
		return start, end
	}
	i := time.Date(year, month, day, 0, 0, 0, 0, time.UTC).YearDay() - 1
	return i, i + 1
}
