package time_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	btime "github.com/ivrouter/ivrouter/bridge/time"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
)

// vcalendar wraps lines (with \n ends) in a VCALENDAR.
func vcalendar(lines ...string) string {
	return "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//ivrouter//tests//EN\n" + strings.Join(lines, "\n") + "\nEND:VCALENDAR\n"
}

// vevent is a VEVENT of the given properties.
func vevent(props ...string) string {
	return "BEGIN:VEVENT\n" + strings.Join(props, "\n") + "\nEND:VEVENT"
}

func itoa(u int64) string { return strconv.FormatInt(u, 10) }

// loadAt loads a scripts directory of files with the module's load
// window around clock's year.
func loadAt(t *testing.T, clock time.Time, files map[string]string) error {
	t.Helper()
	dir := luavmtest.Dir(t, "", files)
	_, err := btime.New(btime.Options{Zone: zone(t, "Asia/Jerusalem"), Clock: frozen(clock)}).Load(dir)
	return err
}

// Rules that can never match fail the load with an error that names the
// event and says why, whether the rule can be seen never to match
// (BYMONTH=2;BYMONTHDAY=30) or only spends the budget looking (BYSETPOS=2
// of SECONDLY periods, which have one date each); the loads return
// rather than walking to the year 9999. The tests lift the time bound
// (export_test.go), so it is the step budget that runs out, whatever the
// machine's load.
func TestNeverMatchingRulesFail(t *testing.T) {
	for rule, want := range map[string]string{
		"FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30": `:8: event "Never": RRULE: can never match: no month of BYMONTH=[2] has BYMONTHDAY=[30]`,
		"FREQ=YEARLY;BYMONTH=4,6;BYMONTHDAY=31": `:8: event "Never": RRULE: can never match: no month of BYMONTH=[4 6] has BYMONTHDAY=[31]`,
		"FREQ=SECONDLY;BYSETPOS=2":              `:8: event "Never": RRULE: expanding the file's recurrences took over 4000000 steps`,
		"FREQ=MINUTELY;BYSETPOS=-2":             `:8: event "Never": RRULE: expanding the file's recurrences took over 4000000 steps`,
	} {
		err := loadAt(t, utc(t, "2026-06-01T00:00:00Z"), map[string]string{
			"calendars/never.ics": vcalendar(vevent("UID:never", "SUMMARY:Never", "DTSTART:20260101T000000Z", "RRULE:"+rule)),
		})
		wantError(t, err, filepath.Join("calendars", "never.ics")+want)
		if err != nil && strings.Count(err.Error(), "\n") != 0 {
			t.Errorf("%s: one error per file, got:\n%v", rule, err)
		}
	}
}

// Rules that match nothing, or seldom, but cheaply, load: a calendar
// with an event that never happens is not broken. The seldom one is
// found in a year far from the load.
func TestSeldomMatchingRulesLoad(t *testing.T) {
	clock := utc(t, "2026-06-01T12:00:00Z")
	e := engine(t, frozen(clock), map[string]string{
		"cal.lua": handler("", calendarScript),
		"calendars/seldom.ics": vcalendar(
			// ISO week 1 is never in June.
			vevent("UID:a", "SUMMARY:Week one in June", "DTSTART;VALUE=DATE:20260601", "RRULE:FREQ=YEARLY;BYMONTH=6;BYWEEKNO=1"),
			// Every 6 hours from 00:00 never reaches 03:00.
			vevent("UID:b", "SUMMARY:Three", "DTSTART:20260101T000000Z", "DURATION:PT1H", "RRULE:FREQ=HOURLY;INTERVAL=6;BYHOUR=3"),
			// 29 February on a Monday: 2044 next.
			vevent("UID:c", "SUMMARY:Leap Monday", "DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO"),
		),
	})
	for at, want := range map[string]string{
		"2026-06-01T12:00:00Z": "false|nil|nil",
		"2026-07-01T03:30:00Z": "false|nil|nil",
		"2040-06-05T03:30:00Z": "false|nil|nil",
		"2028-02-29T12:00:00Z": "false|nil|nil", // a Tuesday
		"2040-02-29T12:00:00Z": "false|nil|nil", // a Wednesday
		"2044-02-29T12:00:00Z": "true|Leap Monday|false",
		"2044-02-28T21:59:59Z": "false|nil|nil", // Jerusalem's midnight
		"2044-02-28T22:00:00Z": "true|Leap Monday|false",
		"2072-02-29T12:00:00Z": "true|Leap Monday|false",
	} {
		if got := ask(t, e, "seldom", utc(t, at)); got != want {
			t.Errorf("seldom at %s: %s, want %s", at, got, want)
		}
	}
}

// An open-ended rule that started long ago loads, and is right in the
// load window and in years far outside it, expanded when first asked
// about, on days counted from its DTSTART.
func TestOpenEndedRule(t *testing.T) {
	clock := utc(t, "2026-12-01T10:00:00Z")
	e := engine(t, frozen(clock), map[string]string{
		"cal.lua": handler("", calendarScript),
		"now.lua": handler("", `return tostring(time.calendar(arg):contains())`),
		// 09:30-09:45 in Jerusalem every day since 1990.
		"calendars/standup.ics": vcalendar(vevent("UID:standup", "SUMMARY:Standup",
			"DTSTART;TZID=Asia/Jerusalem:19900101T093000", "DTEND;TZID=Asia/Jerusalem:19900101T094500", "RRULE:FREQ=DAILY")),
		// Every other day, all day, since Monday 1 January 1990.
		"calendars/alternate.ics": vcalendar(vevent("UID:alt", "SUMMARY:Alternate",
			"DTSTART;VALUE=DATE:19900101", "RRULE:FREQ=DAILY;INTERVAL=2")),
		// Every Monday and Thursday since 1990, 12:00-13:00 UTC.
		"calendars/weekly.ics": vcalendar(vevent("UID:weekly", "SUMMARY:Weekly",
			"DTSTART:19900101T120000Z", "DTEND:19900101T130000Z", "RRULE:FREQ=WEEKLY;BYDAY=MO,TH")),
	})
	// The call's instant: 12:00 IST, 1 December 2026, day 13483 since
	// 1 January 1990 (odd), a Tuesday.
	for name, want := range map[string]string{"standup": "false", "alternate": "false", "weekly": "false"} {
		if got := run(t, e, "now", name); got != want {
			t.Errorf("%s now: %s, want %s", name, got, want)
		}
	}
	for _, c := range []struct{ cal, at, want string }{
		{"standup", "2026-12-01T07:29:59Z", "false|nil|nil"},
		{"standup", "2026-12-01T07:30:00Z", "true|Standup|false"}, // IST, +2
		{"standup", "2026-12-01T07:44:59Z", "true|Standup|false"},
		{"standup", "2026-12-01T07:45:00Z", "false|nil|nil"},
		{"standup", "2040-06-15T06:30:00Z", "true|Standup|false"}, // IDT, +3
		{"standup", "2040-06-15T07:30:00Z", "false|nil|nil"},
		{"standup", "2040-12-31T07:40:00Z", "true|Standup|false"},
		{"standup", "1995-03-01T07:40:00Z", "true|Standup|false"},
		{"standup", "1989-12-31T07:40:00Z", "false|nil|nil"}, // before DTSTART
		{"alternate", "2026-12-01T10:00:00Z", "false|nil|nil"},
		{"alternate", "2026-12-02T10:00:00Z", "true|Alternate|false"},
		{"alternate", "2040-06-15T10:00:00Z", "true|Alternate|false"}, // day 18428
		{"alternate", "2040-06-16T10:00:00Z", "false|nil|nil"},
		{"alternate", "2040-06-14T20:59:59Z", "false|nil|nil"}, // 23:59:59 IDT on the 14th
		{"alternate", "2040-06-14T21:00:00Z", "true|Alternate|false"},
		{"weekly", "2026-12-03T12:30:00Z", "true|Weekly|false"}, // Thursday
		{"weekly", "2026-12-02T12:30:00Z", "false|nil|nil"},
		{"weekly", "2040-06-14T12:30:00Z", "true|Weekly|false"}, // Thursday
		{"weekly", "2040-06-15T12:30:00Z", "false|nil|nil"},
		{"weekly", "2041-01-07T12:30:00Z", "true|Weekly|false"}, // Monday
	} {
		if got := ask(t, e, c.cal, utc(t, c.at)); got != c.want {
			t.Errorf("%s at %s: %s, want %s", c.cal, c.at, got, c.want)
		}
	}
}

// A rule that is cheap in the load window but not in a later year loads;
// a query of that year raises a Lua error naming the event, from the
// calendar's methods and from hours closed by it, every time it is asked.
// Years that expand are still answered.
func TestLazyYearError(t *testing.T) {
	e := engine(t, frozen(utc(t, "2026-06-01T00:00:00Z")), map[string]string{
		"cal.lua":   handler("", calendarScript),
		"hours.lua": probeScript(`mon = "08:00-18:00", zone = "UTC", closed = "late"`),
		"open.lua":  handler(`local h = time.hours{mon = "08:00-18:00", zone = "UTC", closed = "late"}`, `return tostring(h:open(tonumber(arg)))`),
		"calendars/late.ics": vcalendar(
			vevent("UID:fine", "SUMMARY:Fine", "DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=YEARLY"),
			vevent("UID:never", "SUMMARY:Never", "DTSTART:20350101T000000Z", "RRULE:FREQ=SECONDLY;BYSETPOS=2"),
		),
	})
	if got := ask(t, e, "late", utc(t, "2026-01-01T12:00:00Z")); got != "true|Fine|false" {
		t.Errorf("late in 2026: %s", got)
	}
	// Not 2034: its expansion walks the seconds of 1 and 2 January 2035,
	// which may take the whole step budget.
	if got := ask(t, e, "late", utc(t, "2033-01-01T12:00:00Z")); got != "true|Fine|false" {
		t.Errorf("late in 2033: %s", got)
	}
	at := utc(t, "2036-06-02T09:00:00Z").Unix()
	const want = `calendar event "Never" (line 10): RRULE: in 2036: expanding the file's recurrences took over 4000000 steps`
	for range 2 {
		_, err := luavmtest.Run(e, "cal", "c", "late "+itoa(at))
		wantError(t, err, "calendar:event: "+want)
	}
	_, err := luavmtest.Run(e, "hours", "c", itoa(at))
	wantError(t, err, "hours:next_open: "+want)
	_, err = luavmtest.Run(e, "open", "c", itoa(at))
	wantError(t, err, "hours:open: "+want)
	if got := run(t, e, "open", itoa(utc(t, "2026-01-05T09:00:00Z").Unix())); got != "true" {
		t.Errorf("hours open on Monday 5 January 2026: %s", got)
	}
	// The VM that raised it still answers.
	if got := ask(t, e, "late", utc(t, "2026-01-01T12:00:00Z")); got != "true|Fine|false" {
		t.Errorf("late in 2026 after the error: %s", got)
	}
}

// A weekly rule less EXDATEs (a list) plus RDATEs, in a zone with
// daylight saving time, in the load window and far from it; a COUNT rule
// that started before the window ends inside it, EXDATEs counting among
// its occurrences (RFC 5545 3.8.5.1); a short COUNT rule.
func TestRuleOccurrences(t *testing.T) {
	e := engine(t, frozen(utc(t, "2026-01-01T00:00:00Z")), map[string]string{
		"cal.lua": handler("", calendarScript),
		"calendars/classes.ics": vcalendar(
			vevent("UID:class", "SUMMARY:Class",
				"DTSTART;TZID=Asia/Jerusalem:20260105T090000",
				"DTEND;TZID=Asia/Jerusalem:20260105T100000",
				"RRULE:FREQ=WEEKLY;BYDAY=MO,WE",
				"EXDATE;TZID=Asia/Jerusalem:20260107T090000,20260112T090000",
				"RDATE;TZID=Asia/Jerusalem:20260110T090000",
				"RDATE;TZID=Asia/Jerusalem:20350106T090000"),
			vevent("UID:course", "SUMMARY:Course",
				"DTSTART:20200301T120000Z", "DURATION:PT1H",
				"RRULE:FREQ=YEARLY;COUNT=8", "EXDATE:20230301T120000Z"),
			vevent("UID:drill", "SUMMARY:Drill",
				"DTSTART:20260301T060000Z", "DURATION:PT30M",
				"RRULE:FREQ=DAILY;INTERVAL=2;COUNT=3"),
		),
	})
	for _, c := range []struct{ at, want string }{
		// Class, 09:00-10:00 IST (+2) in January.
		{"2026-01-05T07:30:00Z", "true|Class|false"}, // Monday, DTSTART
		{"2026-01-05T08:00:00Z", "false|nil|nil"},    // ended
		{"2026-01-06T07:30:00Z", "false|nil|nil"},    // Tuesday
		{"2026-01-07T07:30:00Z", "false|nil|nil"},    // Wednesday, EXDATE
		{"2026-01-10T07:30:00Z", "true|Class|false"}, // Saturday, RDATE
		{"2026-01-12T07:30:00Z", "false|nil|nil"},    // Monday, EXDATE
		{"2026-01-14T07:30:00Z", "true|Class|false"}, // Wednesday
		{"2026-07-06T06:30:00Z", "true|Class|false"}, // Monday, IDT (+3)
		{"2026-07-06T07:30:00Z", "false|nil|nil"},    // 10:30 IDT
		{"2034-01-02T07:30:00Z", "true|Class|false"}, // Monday, far from the load
		{"2035-01-06T07:30:00Z", "true|Class|false"}, // Saturday, RDATE
		{"2035-01-13T07:30:00Z", "false|nil|nil"},    // the next Saturday
		{"2025-12-31T07:30:00Z", "false|nil|nil"},    // Wednesday before DTSTART
		// Course, 1 March 2020 to 2027, less 2023.
		{"2020-03-01T12:30:00Z", "true|Course|false"},
		{"2021-03-01T12:30:00Z", "true|Course|false"}, // before the window
		{"2023-03-01T12:30:00Z", "false|nil|nil"},     // EXDATE
		{"2024-03-01T12:30:00Z", "true|Course|false"},
		{"2027-03-01T12:30:00Z", "true|Course|false"}, // the 8th
		{"2028-03-01T12:30:00Z", "false|nil|nil"},     // not a 9th for the EXDATE
		{"2040-03-01T12:30:00Z", "false|nil|nil"},
		{"2019-03-01T12:30:00Z", "false|nil|nil"},
		// Drill: 1, 3 and 5 March 2026, 06:00-06:30 UTC.
		{"2026-03-01T06:15:00Z", "true|Drill|false"},
		{"2026-03-02T06:15:00Z", "false|nil|nil"},
		{"2026-03-03T06:15:00Z", "true|Drill|false"},
		{"2026-03-05T06:29:59Z", "true|Drill|false"},
		{"2026-03-05T06:30:00Z", "false|nil|nil"},
		{"2026-03-07T06:15:00Z", "false|nil|nil"},
	} {
		if got := ask(t, e, "classes", utc(t, c.at)); got != c.want {
			t.Errorf("classes at %s: %s, want %s", c.at, got, c.want)
		}
	}
}

// The load window is around the year of Options.Clock, not of the host's
// clock: a rule too costly to expand in 2026 fails a load in 2026, loads
// in 2045, and fails the queries of 2026 then.
func TestLoadWindowFollowsClock(t *testing.T) {
	busy := vcalendar(vevent("UID:busy", "SUMMARY:Busy", "DTSTART:20260101T000000Z", "DURATION:PT30S",
		"RRULE:FREQ=MINUTELY;UNTIL=20261231T000000Z"))
	err := loadAt(t, utc(t, "2026-06-01T00:00:00Z"), map[string]string{"calendars/busy.ics": busy})
	wantError(t, err, filepath.Join("calendars", "busy.ics")+`:9: event "Busy": RRULE: `)
	e := engine(t, frozen(utc(t, "2045-06-01T00:00:00Z")), map[string]string{
		"cal.lua":            handler("", calendarScript),
		"calendars/busy.ics": busy,
	})
	if got := ask(t, e, "busy", utc(t, "2045-06-01T00:00:10Z")); got != "false|nil|nil" {
		t.Errorf("busy in 2045: %s", got)
	}
	_, err = luavmtest.Run(e, "cal", "c", "busy "+itoa(utc(t, "2026-03-01T00:00:10Z").Unix()))
	wantError(t, err, `calendar:event: calendar event "Busy" (line 4): RRULE: in 2026: `)
}

// Instants far from the load are answered, without hanging: up to the
// year 9999, rules have their dates (no end at 2100); after it, and
// before their DTSTART, none.
func TestFarInstants(t *testing.T) {
	e := engine(t, frozen(utc(t, "2026-06-01T00:00:00Z")), map[string]string{
		"cal.lua": handler("", calendarScript),
		"calendars/far.ics": vcalendar(
			vevent("UID:daily", "SUMMARY:Daily", "DTSTART;VALUE=DATE:19900101", "RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"),
			vevent("UID:hourly", "SUMMARY:Hourly", "DTSTART:19900101T000000Z", "DURATION:PT1M", "RRULE:FREQ=HOURLY;INTERVAL=7"),
		),
	})
	for _, c := range []struct{ at, want string }{
		{"2100-06-01T12:00:00Z", "true|Daily|false"},  // Tuesday
		{"2100-06-05T12:00:00Z", "false|nil|nil"},     // Saturday
		{"9999-12-31T12:00:00Z", "true|Daily|false"},  // Friday
		{"9999-12-31T21:59:59Z", "true|Daily|false"},  // 23:59:59 in Jerusalem
		{"1989-12-29T12:00:00Z", "false|nil|nil"},     // a Friday before DTSTART
		{"1990-01-01T00:00:30Z", "true|Hourly|false"}, // DTSTART: a Monday, 02:00 in Jerusalem
		{"1990-01-01T07:00:30Z", "true|Hourly|false"},
		{"2026-06-01T00:00:30Z", "true|Hourly|false"}, // 319,200 hours on: 7 × 45,600
		{"2026-06-01T01:00:30Z", "true|Daily|false"},  // a Monday: only the day
		{"2026-06-01T07:00:30Z", "true|Hourly|false"},
	} {
		if got := ask(t, e, "far", utc(t, c.at)); got != c.want {
			t.Errorf("far at %s: %s, want %s", c.at, got, c.want)
		}
	}
	for _, u := range []string{"1000000000000000", "-1000000000000000", "253402300800", "-62135596801"} {
		if got := run(t, e, "cal", "far "+u); got != "false|nil|nil" {
			t.Errorf("far at %s: %s, want nothing", u, got)
		}
	}
}
