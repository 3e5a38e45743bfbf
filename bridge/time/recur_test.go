package time

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teambition/rrule-go"
)

// expandAll lists a rule's dates in [from, end] with the module's
// iterator.
func expandAll(t *testing.T, r *recurRule, from, end time.Time) []time.Time {
	t.Helper()
	b := &budget{steps: 1 << 40}
	it := r.iter(from, end, b)
	var out []time.Time
	for d, ok := it.next(); ok; d, ok = it.next() {
		if d.After(end) {
			break
		}
		if !d.Before(from) {
			out = append(out, d)
		}
	}
	if it.err != nil {
		t.Fatal(it.err)
	}
	return out
}

// randomRule writes an RRULE of the kinds calendars have, and of some
// they should not.
func randomRule(rnd *rand.Rand) string {
	freqs := []string{"YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY"}
	f := rnd.IntN(len(freqs))
	parts := []string{"FREQ=" + freqs[f]}
	if rnd.IntN(3) == 0 && f < 4 { // rrule-go loops for ever on HOURLY;INTERVAL=5;BYHOUR=3 and the like
		parts = append(parts, fmt.Sprintf("INTERVAL=%d", 1+rnd.IntN(4)))
	}
	list := func(name string, n int, val func() string) {
		if rnd.IntN(3) != 0 {
			return
		}
		var vs []string
		for range 1 + rnd.IntN(n) {
			if v := val(); !slices.Contains(vs, v) { // rrule-go counts repeats in BYSETPOS
				vs = append(vs, v)
			}
		}
		parts = append(parts, name+"="+strings.Join(vs, ","))
	}
	days := []string{"MO", "TU", "WE", "TH", "FR", "SA", "SU"}
	list("BYMONTH", 3, func() string { return fmt.Sprint(1 + rnd.IntN(12)) })
	list("BYMONTHDAY", 3, func() string {
		d := 1 + rnd.IntN(31)
		if rnd.IntN(4) == 0 {
			d = -d
		}
		return fmt.Sprint(d)
	})
	list("BYDAY", 3, func() string {
		if f <= 1 && rnd.IntN(2) == 0 {
			n := 1 + rnd.IntN(4)
			if rnd.IntN(3) == 0 {
				n = -n
			}
			return fmt.Sprint(n) + days[rnd.IntN(7)]
		}
		return days[rnd.IntN(7)]
	})
	if f == 0 {
		list("BYYEARDAY", 2, func() string { return fmt.Sprint(1 + rnd.IntN(366)) })
		list("BYWEEKNO", 2, func() string { return fmt.Sprint(1 + rnd.IntN(53)) })
	}
	list("BYHOUR", 2, func() string { return fmt.Sprint(rnd.IntN(24)) })
	list("BYMINUTE", 2, func() string { return fmt.Sprint(rnd.IntN(60)) })
	if f >= 4 {
		list("BYSECOND", 2, func() string { return fmt.Sprint(rnd.IntN(60)) })
	}
	list("BYSETPOS", 2, func() string {
		if f >= 4 {
			return "1" // one that matches nothing would walk seconds to 9999
		}
		p := 1 + rnd.IntN(3)
		if rnd.IntN(2) == 0 {
			p = -p
		}
		return fmt.Sprint(p)
	})
	if rnd.IntN(4) == 0 {
		parts = append(parts, "WKST="+days[rnd.IntN(7)])
	}
	switch rnd.IntN(4) {
	case 0:
		parts = append(parts, fmt.Sprintf("COUNT=%d", 1+rnd.IntN(50)))
	case 1:
		parts = append(parts, "UNTIL=2027"+fmt.Sprintf("%02d%02d", 1+rnd.IntN(12), 1+rnd.IntN(28))+"T000000Z")
	}
	return strings.Join(parts, ";")
}

// The iterator gives rrule-go's dates, whether it starts at DTSTART or
// skips to the range.
func TestRecurMatchesRRuleGo(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	jlm, _ := time.LoadLocation("Asia/Jerusalem")
	checked, slow := 0, 0
	for i := range 500 {
		text := randomRule(rnd)
		opt, err := rrule.StrToROption(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		loc := time.UTC
		if i%2 == 0 {
			loc = jlm
		}
		dtstart := time.Date(2020+rnd.IntN(6), time.Month(1+rnd.IntN(12)), 1+rnd.IntN(28), rnd.IntN(24), rnd.IntN(60), rnd.IntN(60), 0, loc)
		span := 3 * 365 * 24 * time.Hour
		switch opt.Freq {
		case rrule.HOURLY:
			span = 40 * 24 * time.Hour
		case rrule.MINUTELY, rrule.SECONDLY:
			span = 3 * 24 * time.Hour
			if opt.Freq == rrule.SECONDLY {
				span = 6 * time.Hour
			}
		}
		from := dtstart.Add(time.Duration(rnd.Int64N(int64(span))))
		end := from.Add(time.Duration(rnd.Int64N(int64(span))))
		if opt.Freq >= rrule.MINUTELY && opt.Until.IsZero() && opt.Count == 0 {
			opt.Until = end.Add(time.Hour) // rrule-go walks to 9999 otherwise
		}
		opt.Dtstart = dtstart
		want, err := rrule.NewRRule(*opt)
		if err != nil {
			continue
		}
		r, err := compileRule(*opt, dtstart)
		if err != nil {
			if strings.Contains(err.Error(), "never match") {
				continue
			}
			t.Fatalf("%s: %v", text, err)
		}
		got := expandAll(t, r, from, end)
		done := make(chan []time.Time, 1)
		go func() { done <- want.Between(from, end, true) }()
		var exp []time.Time
		select {
		case exp = <-done:
		case <-time.After(50 * time.Millisecond):
			slow++
			continue // rrule-go walks to the year 9999
		}
		if !slices.EqualFunc(got, exp, time.Time.Equal) {
			t.Fatalf("%s from %v, between %v and %v:\n got %v\nwant %v", text, dtstart, from, end, got, exp)
		}
		checked++
	}
	t.Logf("%d rules, %d left out (rrule-go too slow)", checked, slow)
}
