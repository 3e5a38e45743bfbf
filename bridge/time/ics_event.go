package time

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// addICS adds an event's occurrences, none of them in skip, and returns
// how many it added; budget is how many more the file may have.
func (b *calBuilder) addICS(e ical.Event, skip []time.Time, budget int) (int, error) {
	if status, err := e.Status(); err != nil {
		return 0, err
	} else if status == ical.EventCancelled {
		return 0, nil
	}
	summary, err := e.Props.Text(ical.PropSummary)
	if err != nil {
		return 0, propErr("SUMMARY", err)
	}
	sp := e.Props.Get(ical.PropDateTimeStart)
	if sp == nil {
		return 0, errors.New("no DTSTART")
	}
	start, wall, err := when(sp)
	if err != nil {
		return 0, propErr("DTSTART", err)
	}
	length, err := eventLength(e, sp, start, wall)
	if err != nil {
		return 0, err
	}
	starts, err := occurrences(e, start, skip, budget)
	if err != nil {
		return 0, err
	}
	idx := b.event(event{summary: summary, eve: isEve(e)})
	for _, s := range starts {
		iv := interval{start: s, end: s + length, ev: idx}
		if wall {
			b.cal.wall = append(b.cal.wall, iv)
		} else {
			b.cal.abs = append(b.cal.abs, iv)
		}
	}
	return len(starts), nil
}

// when reads a date or date-time property. wall is true for dates and
// floating times (no TZID, no Z): those are read as UTC, so that their
// unix seconds are the civil seconds of what they say, and are placed in
// a zone only when asked from one.
func when(p *ical.Prop) (t time.Time, wall bool, err error) {
	wall = p.Params.Get(ical.ParamTimezoneID) == "" && !strings.HasSuffix(strings.ToUpper(p.Value), "Z")
	t, err = p.DateTime(time.UTC)
	return t, wall, err
}

func isDate(p *ical.Prop) bool {
	return strings.EqualFold(p.Params.Get(ical.ParamValue), string(ical.ValueDate)) || len(p.Value) == len("20060102")
}

// eventLength is how long each occurrence lasts, in seconds: DTEND -
// DTSTART, else DURATION, else a day for an all-day event and nothing for
// a timed one (RFC 5545 3.6.1).
func eventLength(e ical.Event, sp *ical.Prop, start time.Time, wall bool) (int64, error) {
	if ep := e.Props.Get(ical.PropDateTimeEnd); ep != nil {
		end, endWall, err := when(ep)
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

// occurrences lists the starts (unix or civil seconds) of an event: its
// DTSTART, RRULE (expanded by rrule-go up to the horizon) and RDATEs, less
// its EXDATEs and skip.
func occurrences(e ical.Event, start time.Time, skip []time.Time, budget int) ([]int64, error) {
	opt, err := e.Props.RecurrenceRule()
	if err != nil {
		return nil, propErr("RRULE", err)
	}
	set := &rrule.Set{}
	if opt != nil {
		opt.Dtstart = start
		r, err := rrule.NewRRule(*opt)
		if err != nil {
			return nil, propErr("RRULE", err)
		}
		set.RRule(r)
	} else {
		set.RDate(start)
	}
	if err := dateList(e, ical.PropRecurrenceDates, set.RDate); err != nil {
		return nil, err
	}
	if err := dateList(e, ical.PropExceptionDates, set.ExDate); err != nil {
		return nil, err
	}
	for _, t := range skip {
		set.ExDate(t)
	}
	var out []int64
	next := set.Iterator()
	for t, ok := next(); ok && t.Unix() < horizon; t, ok = next() {
		if len(out) >= budget {
			return nil, propErr("RRULE", fmt.Errorf("more than %d occurrences in the file before 2100: give it an UNTIL or a COUNT", maxOccurrences))
		}
		out = append(out, t.Unix())
	}
	return out, nil
}

// dateList passes each date of every name property (RDATE, EXDATE) to
// add. The values may be comma-separated lists, which go-ical's DateTime
// reads one at a time.
func dateList(e ical.Event, name string, add func(time.Time)) error {
	for _, p := range e.Props.Values(name) {
		if strings.EqualFold(p.Params.Get(ical.ParamValue), "PERIOD") {
			return propErr(name, errors.New("periods are not supported, list dates or date-times"))
		}
		for _, v := range strings.Split(p.Value, ",") {
			one := p
			one.Value = strings.TrimSpace(v)
			t, _, err := when(&one)
			if err != nil {
				return propErr(name, err)
			}
			add(t)
		}
	}
	return nil
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
