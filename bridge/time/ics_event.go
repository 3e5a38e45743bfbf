package time

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// fileBuilder turns the events of one file into a calendar.
type fileBuilder struct {
	cal    *calendar
	zones  *zoneResolver
	budget *budget
}

func (b *fileBuilder) event(e event) int32 {
	b.cal.events = append(b.cal.events, e)
	return int32(len(b.cal.events) - 1)
}

// addICS adds an event at line of the file, less the occurrences in
// skip (moved by RECURRENCE-ID): its occurrences if it has no RRULE, else
// its rule.
func (b *fileBuilder) addICS(e ical.Event, line int, skip []int64) error {
	if status, err := e.Status(); err != nil {
		return err
	} else if status == ical.EventCancelled {
		return nil
	}
	summary, err := e.Props.Text(ical.PropSummary)
	if err != nil {
		return propErr("SUMMARY", err)
	}
	sp := e.Props.Get(ical.PropDateTimeStart)
	if sp == nil {
		return errors.New("no DTSTART")
	}
	start, wall, err := b.when(sp)
	if err != nil {
		return propErr("DTSTART", err)
	}
	length, err := b.eventLength(e, sp, start, wall)
	if err != nil {
		return err
	}
	rdates, err := b.dateList(e, ical.PropRecurrenceDates)
	if err != nil {
		return err
	}
	exdates, err := b.dateList(e, ical.PropExceptionDates)
	if err != nil {
		return err
	}
	exdates = append(exdates, skip...)
	slices.Sort(exdates)
	opt, err := e.Props.RecurrenceRule()
	if err != nil {
		return propErr("RRULE", err)
	}
	idx := b.event(event{summary: summary, eve: isEve(e)})
	if opt == nil {
		return b.addFixed(append(rdates, start.Unix()), exdates, length, wall, idx)
	}
	rule, err := compileRule(*opt, start)
	if err != nil {
		return propErr("RRULE", err)
	}
	slices.Sort(rdates)
	b.cal.rules = append(b.cal.rules, &recurrence{
		ev: idx, line: line, wall: wall, length: length, rule: rule,
		rdates: slices.Compact(rdates), exdates: slices.Compact(exdates),
	})
	return nil
}

// addFixed adds the occurrences of an event without an RRULE: its
// DTSTART and RDATEs, less its EXDATEs.
func (b *fileBuilder) addFixed(starts, exdates []int64, length int64, wall bool, idx int32) error {
	slices.Sort(starts)
	for _, s := range slices.Compact(starts) {
		if _, ex := slices.BinarySearch(exdates, s); ex {
			continue
		}
		if b.budget.occ--; b.budget.occ < 0 {
			return errOccurrences
		}
		if length == 0 {
			continue // never in progress
		}
		iv := interval{start: s, end: s + length, ev: idx}
		if wall {
			b.cal.fixed.wall = append(b.cal.fixed.wall, iv)
		} else {
			b.cal.fixed.abs = append(b.cal.fixed.abs, iv)
		}
	}
	return nil
}

// Formats of iCalendar dates and date-times.
const (
	icsDate     = "20060102"
	icsDateTime = "20060102T150405"
)

// when reads a date or date-time property. wall is true for dates and
// floating times (no TZID, no Z): those are read as UTC, so that their
// unix seconds are the civil seconds of what they say, and are placed in
// a zone only when asked from one.
func (b *fileBuilder) when(p *ical.Prop) (t time.Time, wall bool, err error) {
	v := strings.TrimSpace(p.Value)
	if isDate(p) {
		t, err = time.Parse(icsDate, v)
		return t, true, err
	}
	if s, ok := strings.CutSuffix(strings.ToUpper(v), "Z"); ok {
		t, err = time.Parse(icsDateTime, s)
		return t, false, err
	}
	if tzid := p.Params.Get(ical.ParamTimezoneID); tzid != "" {
		loc, err := b.zones.zone(tzid)
		if err != nil {
			return time.Time{}, false, err
		}
		t, err = time.ParseInLocation(icsDateTime, v, loc)
		return t, false, err
	}
	t, err = time.Parse(icsDateTime, v)
	return t, true, err
}

func isDate(p *ical.Prop) bool {
	return strings.EqualFold(p.Params.Get(ical.ParamValue), string(ical.ValueDate)) || len(strings.TrimSpace(p.Value)) == len(icsDate)
}

// eventLength is how long each occurrence lasts, in seconds: DTEND -
// DTSTART, else DURATION, else a day for an all-day event and nothing for
// a timed one (RFC 5545 3.6.1).
func (b *fileBuilder) eventLength(e ical.Event, sp *ical.Prop, start time.Time, wall bool) (int64, error) {
	if ep := e.Props.Get(ical.PropDateTimeEnd); ep != nil {
		end, endWall, err := b.when(ep)
		if err != nil {
			return 0, propErr("DTEND", err)
		}
		if isDate(ep) != isDate(sp) || endWall != wall {
			return 0, propErr("DTEND", errors.New("must be of DTSTART's kind: both dates, both floating times, or both times with a zone or Z"))
		}
		if end.Before(start) {
			return 0, propErr("DTEND", errors.New("before DTSTART"))
		}
		return end.Unix() - start.Unix(), nil
	}
	if dp := e.Props.Get(ical.PropDuration); dp != nil {
		d, err := dp.Duration()
		if err != nil {
			return 0, propErr("DURATION", err)
		}
		if d < 0 {
			return 0, propErr("DURATION", errors.New("negative"))
		}
		return int64(d / time.Second), nil
	}
	if isDate(sp) {
		return daySeconds, nil
	}
	return 0, nil
}

// dateList reads every name property (RDATE, EXDATE) as unix (or civil)
// seconds. The values may be comma-separated lists.
func (b *fileBuilder) dateList(e ical.Event, name string) ([]int64, error) {
	var out []int64
	for _, p := range e.Props.Values(name) {
		if strings.EqualFold(p.Params.Get(ical.ParamValue), "PERIOD") {
			return nil, propErr(name, errors.New("periods are not supported, list dates or date-times"))
		}
		for _, v := range strings.Split(p.Value, ",") {
			one := p
			one.Value = strings.TrimSpace(v)
			t, _, err := b.when(&one)
			if err != nil {
				return nil, propErr(name, err)
			}
			out = append(out, t.Unix())
		}
	}
	return out, nil
}

// isEve reports whether the event has the category "eve": a day of eve
// hours, not a closure.
func isEve(e ical.Event) bool {
	for _, p := range e.Props.Values(ical.PropCategories) {
		list, _ := p.TextList()
		for _, c := range list {
			if strings.EqualFold(strings.TrimSpace(c), "eve") {
				return true
			}
		}
	}
	return false
}
