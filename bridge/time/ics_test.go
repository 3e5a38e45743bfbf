package time_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	btime "github.com/ivrouter/ivrouter/bridge/time"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
)

// holidaysICS is a clinic's calendar, with CRLF line ends and a folded
// line as calendar programs write them.
var holidaysICS = strings.ReplaceAll(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//ivrouter//tests//EN
BEGIN:VEVENT
UID:new-year@clinic
SUMMARY:New Year
DESCRIPTION:Closed for the civil new year\, every year but 2027 (and moved
  in 2028).
DTSTART;VALUE=DATE:20250101
DTEND;VALUE=DATE:20250102
RRULE:FREQ=YEARLY
EXDATE;VALUE=DATE:20270101
END:VEVENT
BEGIN:VEVENT
UID:new-year@clinic
RECURRENCE-ID;VALUE=DATE:20280101
SUMMARY:New Year (moved)
DTSTART;VALUE=DATE:20280102
END:VEVENT
BEGIN:VEVENT
UID:staff@clinic
SUMMARY:Staff meeting
DTSTART;TZID=Asia/Jerusalem:20260107T100000
DTEND;TZID=Asia/Jerusalem:20260107T120000
END:VEVENT
BEGIN:VEVENT
UID:audit@clinic
SUMMARY:Audit
DTSTART:20260210T060000Z
DURATION:PT3H
END:VEVENT
BEGIN:VEVENT
UID:training@clinic
SUMMARY:Training
DTSTART:20260305T140000
DTEND:20260305T160000
END:VEVENT
BEGIN:VEVENT
UID:short@clinic
SUMMARY:Short day
CATEGORIES:STAFF,EVE
DTSTART;VALUE=DATE:20260311
END:VEVENT
BEGIN:VEVENT
UID:monthly@clinic
SUMMARY:Inventory
DTSTART;TZID=Asia/Jerusalem:20260102T120000
DTEND;TZID=Asia/Jerusalem:20260102T130000
RRULE:FREQ=MONTHLY;BYDAY=1FR;COUNT=12
EXDATE;TZID=Asia/Jerusalem:20260206T120000,20260306T120000
END:VEVENT
BEGIN:VEVENT
UID:party@clinic
SUMMARY:Party
STATUS:CANCELLED
DTSTART;VALUE=DATE:20260115
END:VEVENT
END:VCALENDAR
`, "\n", "\r\n")

func icsEngine(t *testing.T, scripts map[string]string) map[string]string {
	files := map[string]string{"calendars/holidays.ics": holidaysICS, "cal.lua": handler("", calendarScript)}
	for k, v := range scripts {
		files[k] = v
	}
	return files
}

func TestICSEvents(t *testing.T) {
	e := engine(t, frozen(utc(t, "2020-01-01T00:00:00Z")), icsEngine(t, nil))
	for at, want := range map[string]string{
		// All-day, yearly, in the module's zone (Asia/Jerusalem, +2).
		"2024-12-31T21:59:59Z": "false|nil|nil",
		"2024-12-31T22:00:00Z": "true|New Year|false",
		"2026-01-01T12:00:00Z": "true|New Year|false",
		"2030-01-01T21:59:59Z": "true|New Year|false",
		"2026-12-31T22:00:00Z": "false|nil|nil", // EXDATE 2027
		"2027-12-31T22:00:00Z": "false|nil|nil", // 2028 moved a day
		"2028-01-01T22:00:00Z": "true|New Year (moved)|false",
		// Timed with a TZID: 10:00-12:00 IST.
		"2026-01-07T07:59:59Z": "false|nil|nil",
		"2026-01-07T08:00:00Z": "true|Staff meeting|false",
		"2026-01-07T09:59:59Z": "true|Staff meeting|false",
		"2026-01-07T10:00:00Z": "false|nil|nil",
		// UTC with a DURATION.
		"2026-02-10T08:59:59Z": "true|Audit|false",
		"2026-02-10T09:00:00Z": "false|nil|nil",
		// Floating: 14:00 on the asker's clock.
		"2026-03-05T12:30:00Z": "true|Training|false",
		// An eve: an event, but not a closure.
		"2026-03-11T10:00:00Z": "false|Short day|true",
		// Monthly on the first Friday, 12:00 IST/IDT, less February and March.
		"2026-01-02T10:30:00Z": "true|Inventory|false",
		"2026-02-06T10:30:00Z": "false|nil|nil",
		"2026-03-06T10:30:00Z": "false|nil|nil",
		"2026-04-03T09:30:00Z": "true|Inventory|false",
		"2026-04-03T10:30:00Z": "false|nil|nil",
		// Cancelled.
		"2026-01-15T10:00:00Z": "false|nil|nil",
	} {
		if got := ask(t, e, "holidays", utc(t, at)); got != want {
			t.Errorf("holidays at %s: %s, want %s", at, got, want)
		}
	}
}

// Floating and all-day events happen on the clock of the hours that ask:
// the Training at 14:00-16:00 closes New York hours at 14:00 EST.
func TestICSInHours(t *testing.T) {
	e := hoursEngine(t, map[string]string{
		"new_york": `thu = "08:00-18:00", zone = "America/New_York", closed = "holidays"`,
		"clinic":   clinic + `, closed = {"holidays", "israel"}`,
	}, map[string]string{"calendars/holidays.ics": holidaysICS})
	checkProbes(t, e, "new_york", []probe{
		{"2026-03-05T19:30:00Z", false, "2026-03-05T21:00:00Z", "2026-03-05T19:30:00Z"},
		{"2026-03-05T18:00:00Z", true, "2026-03-05T18:00:00Z", "2026-03-05T19:00:00Z"},
	})
	checkProbes(t, e, "clinic", []probe{
		// Monday evening: Tuesday is open as usual; the staff meeting
		// closes Wednesday 10:00-12:00.
		{"2026-01-05T17:00:00Z", false, "2026-01-06T06:00:00Z", "2026-01-05T17:00:00Z"},
		{"2026-01-07T06:00:00Z", true, "2026-01-07T06:00:00Z", "2026-01-07T08:00:00Z"},
		{"2026-01-07T09:00:00Z", false, "2026-01-07T10:00:00Z", "2026-01-07T09:00:00Z"},
		// New Year 2026 is a Thursday: closed until Friday 08:00.
		{"2025-12-31T17:00:00Z", false, "2026-01-02T06:00:00Z", "2025-12-31T17:00:00Z"},
	})
}

func TestICSBrokenFiles(t *testing.T) {
	good := "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Ok\nDTSTART;VALUE=DATE:20260101\nEND:VEVENT\nEND:VCALENDAR\n"
	dir := luavmtest.Dir(t, "", map[string]string{
		"calendars/good.ics":     good,
		"calendars/colon.ics":    "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nSUMMARY:Oops\nDTSTART20260101\nEND:VEVENT\nEND:VCALENDAR\n",
		"calendars/date.ics":     "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Ok\nDTSTART;VALUE=DATE:20260101\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:Bad day\nDTSTART;VALUE=DATE:2026-01-01\nEND:VEVENT\nEND:VCALENDAR\n",
		"calendars/unended.ics":  "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Ok\n",
		"calendars/param.ics":    "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=Asia/Jerusalem\nEND:VEVENT\nEND:VCALENDAR\n",
		"calendars/tzid.ics":     "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Meeting\nDTSTART;TZID=Mars Standard Time:20260101T100000\nEND:VEVENT\nEND:VCALENDAR\n",
		"calendars/rrule.ics":    "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Often\nDTSTART:20260101T000000Z\nRRULE:FREQ=MINUTELY\nEND:VEVENT\nEND:VCALENDAR\n",
		"calendars/end.ics":      "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Backwards\nDTSTART;VALUE=DATE:20260102\nDTEND;VALUE=DATE:20260101\nEND:VEVENT\nEND:VCALENDAR\n",
		"calendars/empty.ics":    "",
		"calendars/Capitals.ics": good,
		"calendars/notes.txt":    "not a calendar: ignored",
		"calendars/.hidden.ics":  "ignored",
	})
	_, err := btime.New(btime.Options{}).Load(dir)
	if err == nil {
		t.Fatal("Load of broken calendars succeeded")
	}
	cal := filepath.Join(dir, "calendars")
	for _, want := range []string{
		filepath.Join(cal, "colon.ics") + ":5: ical: malformed content line: missing colon",
		filepath.Join(cal, "date.ics") + `:8: event "Bad day": DTSTART: parsing time "2026-01-01"`,
		filepath.Join(cal, "unended.ics") + ":3: unexpected end of file: a BEGIN without its END",
		filepath.Join(cal, "param.ics") + ":3: malformed line (the parser failed: ",
		filepath.Join(cal, "tzid.ics") + `:4: event "Meeting": DTSTART: unknown time zone "Mars Standard Time"`,
		filepath.Join(cal, "rrule.ics") + `:5: event "Often": RRULE: more than 100000 occurrences`,
		filepath.Join(cal, "end.ics") + `:5: event "Backwards": DTEND: before DTSTART`,
		filepath.Join(cal, "empty.ics") + ":1: empty file",
		filepath.Join(cal, "Capitals.ics") + ": a calendar's name must match [a-z0-9_-]+",
	} {
		wantError(t, err, want)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 9 {
		t.Errorf("%d errors, want one per broken file:\n%v", n, err)
	}
	for _, quiet := range []string{"good.ics", "notes.txt", "hidden"} {
		if strings.Contains(err.Error(), quiet) {
			t.Errorf("error mentions %s:\n%v", quiet, err)
		}
	}
}

func TestLoadWithoutCalendars(t *testing.T) {
	if _, err := btime.New(btime.Options{}).Load(t.TempDir()); err != nil {
		t.Fatalf("a scripts directory without calendars/: %v", err)
	}
}

func TestUnknownCalendar(t *testing.T) {
	e := engine(t, frozen(utc(t, "2026-01-01T00:00:00Z")), icsEngine(t, nil))
	_, err := luavmtest.Run(e, "cal", "c", "holidayz 0")
	wantError(t, err, `time.calendar: unknown calendar "holidayz" (known: holidays, israel)`)
	wantError(t, plain(`time.calendar("holidays")`), `time.calendar: unknown calendar "holidays" (known: israel)`)
	wantError(t, plain(`time.calendar(1)`), `time.calendar: name must be a string, got number`)
	wantError(t, plain(`time.calendar("israel").event()`), `calendar:event: call it with a colon, as x:event(...)`)
}

// calendars/israel.ics replaces the built-in calendar.
func TestIsraelOverride(t *testing.T) {
	e := engine(t, frozen(utc(t, "2026-01-01T00:00:00Z")), map[string]string{
		"cal.lua":              handler("", calendarScript),
		"calendars/israel.ics": "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Our own\nDTSTART;VALUE=DATE:20260921\nDTEND;VALUE=DATE:20260923\nEND:VEVENT\nEND:VCALENDAR\n",
	})
	for at, want := range map[string]string{
		"2026-09-22T09:00:00Z": "true|Our own|false",
		"2026-09-12T09:00:00Z": "false|nil|nil", // Rosh Hashana is not in the file
	} {
		if got := ask(t, e, "israel", utc(t, at)); got != want {
			t.Errorf("israel at %s: %s, want %s", at, got, want)
		}
	}
}

// Many VMs ask the same calendars at once, from several zones: the parsed
// calendars are shared, and their per-zone views are built on first use.
func TestConcurrentCalendars(t *testing.T) {
	files := icsEngine(t, map[string]string{"hours.lua": probeScript(`thu = "08:00-18:00", zone = "America/New_York", closed = {"holidays", "israel"}`)})
	m := btime.New(btime.Options{Zone: zone(t, "Asia/Jerusalem")})
	e := luavmtest.Engine(t, files, luavmOptions(m, 4))
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name, in := "cal", "holidays 1767780000"
			if i%2 == 1 {
				name, in = "hours", "1772739000"
			}
			if _, err := luavmtest.Run(e, name, "c", in); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// The example calendar shipped in scripts/ parses and says what its
// comments say.
func TestShippedCalendar(t *testing.T) {
	src, err := os.ReadFile("../../scripts/calendars/holidays.ics")
	if err != nil {
		t.Fatal(err)
	}
	e := engine(t, frozen(utc(t, "2026-01-01T00:00:00Z")), map[string]string{
		"cal.lua":                handler("", calendarScript),
		"calendars/holidays.ics": string(src),
	})
	for at, want := range map[string]string{
		"2026-06-02T09:00:00Z": "true|Staff day|false", // first Tuesday of June
		"2027-06-01T09:00:00Z": "false|nil|nil",        // not in 2027
		"2028-06-06T09:00:00Z": "true|Staff day|false",
		"2026-12-31T09:00:00Z": "false|New Year's Eve|true",
		"2026-03-10T08:30:00Z": "true|Fire drill|false",
	} {
		if got := ask(t, e, "holidays", utc(t, at)); got != want {
			t.Errorf("holidays at %s: %s, want %s", at, got, want)
		}
	}
}
