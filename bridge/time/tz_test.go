package time_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// outlookICS is a calendar as Outlook exports it: Windows zone names,
// quoted or not, with the VTIMEZONE Outlook writes for them.
var outlookICS = strings.ReplaceAll(`BEGIN:VCALENDAR
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN
VERSION:2.0
METHOD:PUBLISH
X-MS-OLK-FORCEINSPECTOROPEN:TRUE
BEGIN:VTIMEZONE
TZID:Israel Standard Time
BEGIN:STANDARD
DTSTART:16011028T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:+0300
TZOFFSETTO:+0200
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010323T020000
RRULE:FREQ=YEARLY;BYDAY=-1FR;BYMONTH=3
TZOFFSETFROM:+0200
TZOFFSETTO:+0300
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
CLASS:PUBLIC
DTSTART;TZID="Israel Standard Time":20260115T100000
DTEND;TZID="Israel Standard Time":20260115T110000
DTSTAMP:20251201T080000Z
SUMMARY;LANGUAGE=en-us:Winter meeting
UID:040000008200E00074C5B7101A82E00800000000
X-MICROSOFT-CDO-BUSYSTATUS:BUSY
END:VEVENT
BEGIN:VEVENT
DTSTART;TZID=Israel Standard Time:20260715T100000
DTEND;TZID=Israel Standard Time:20260715T110000
SUMMARY:Summer meeting
UID:040000008200E00074C5B7101A82E00800000001
END:VEVENT
BEGIN:VEVENT
DTSTART;TZID=Israel Standard Time:20260105T100000
DTEND;TZID=Israel Standard Time:20260105T103000
RRULE:FREQ=WEEKLY;BYDAY=MO
SUMMARY:Weekly
UID:040000008200E00074C5B7101A82E00800000002
END:VEVENT
END:VCALENDAR
`, "\n", "\r\n")

// An event at 10:00 Israel time is 08:00Z in winter (IST) and 07:00Z in
// summer (IDT), and so is each occurrence of a weekly one on either side
// of the spring transition (Friday 27 March 2026). The same names resolve
// without a VTIMEZONE.
func TestOutlookZones(t *testing.T) {
	noVTZ := strings.Join(slicesDeleteBlock(strings.Split(outlookICS, "\r\n"), "BEGIN:VTIMEZONE", "END:VTIMEZONE"), "\r\n")
	e := engine(t, frozen(utc(t, "2026-01-01T00:00:00Z")), map[string]string{
		"cal.lua":            handler("", calendarScript),
		"calendars/ol.ics":   outlookICS,
		"calendars/bare.ics": noVTZ,
	})
	for _, cal := range []string{"ol", "bare"} {
		for _, c := range []struct{ at, want string }{
			{"2026-01-15T07:59:59Z", "false|nil|nil"},
			{"2026-01-15T08:00:00Z", "true|Winter meeting|false"},
			{"2026-01-15T08:59:59Z", "true|Winter meeting|false"},
			{"2026-01-15T09:00:00Z", "false|nil|nil"},
			{"2026-07-15T06:59:59Z", "false|nil|nil"},
			{"2026-07-15T07:00:00Z", "true|Summer meeting|false"},
			{"2026-07-15T07:59:59Z", "true|Summer meeting|false"},
			{"2026-07-15T08:00:00Z", "false|nil|nil"},
			{"2026-03-23T08:15:00Z", "true|Weekly|false"}, // Monday before
			{"2026-03-23T07:15:00Z", "false|nil|nil"},
			{"2026-03-30T07:15:00Z", "true|Weekly|false"}, // Monday after
			{"2026-03-30T08:15:00Z", "false|nil|nil"},
			{"2026-10-26T08:15:00Z", "true|Weekly|false"}, // after 25 October
			{"2031-07-07T07:15:00Z", "true|Weekly|false"}, // far from the load
		} {
			if got := ask(t, e, cal, utc(t, c.at)); got != c.want {
				t.Errorf("%s at %s: %s, want %s", cal, c.at, got, c.want)
			}
		}
	}
}

// slicesDeleteBlock drops the lines from begin to end, both included.
func slicesDeleteBlock(lines []string, begin, end string) []string {
	var out []string
	skip := false
	for _, l := range lines {
		switch {
		case l == begin:
			skip = true
		case l == end:
			skip = false
		case !skip:
			out = append(out, l)
		}
	}
	return out
}

// customZoneICS has zones known only by their VTIMEZONE: Central
// European rules (last Sunday of March and of October) under a name of
// its own, southern ones whose summer spans the new year, and a fixed
// offset.
var customZoneICS = vcalendar(
	"BEGIN:VTIMEZONE", "TZID:My Zone",
	"BEGIN:STANDARD", "DTSTART:19701025T030000", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100",
	"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "TZNAME:CET", "END:STANDARD",
	"BEGIN:DAYLIGHT", "DTSTART:19700329T020000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200",
	"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "TZNAME:CEST", "END:DAYLIGHT",
	"END:VTIMEZONE",
	"BEGIN:VTIMEZONE", "TZID:Down Under",
	"BEGIN:STANDARD", "DTSTART:20080406T030000", "TZOFFSETFROM:+1100", "TZOFFSETTO:+1000",
	"RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU", "END:STANDARD",
	"BEGIN:DAYLIGHT", "DTSTART:20081005T020000", "TZOFFSETFROM:+1000", "TZOFFSETTO:+1100",
	"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=1SU", "END:DAYLIGHT",
	"END:VTIMEZONE",
	"BEGIN:VTIMEZONE", "TZID:Eastern",
	"BEGIN:STANDARD", "DTSTART:20071104T020000", "TZOFFSETFROM:-0400", "TZOFFSETTO:-0500",
	"RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=SU;BYMONTHDAY=1,2,3,4,5,6,7", "TZNAME:EST", "END:STANDARD",
	"BEGIN:DAYLIGHT", "DTSTART:20070311T020000", "TZOFFSETFROM:-0500", "TZOFFSETTO:-0400",
	"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=SU;BYMONTHDAY=8,9,10,11,12,13,14", "TZNAME:EDT", "END:DAYLIGHT",
	"END:VTIMEZONE",
	"BEGIN:VTIMEZONE", "TZID:Half Hour",
	"BEGIN:STANDARD", "DTSTART:19700101T000000", "TZOFFSETFROM:+0530", "TZOFFSETTO:+0530", "END:STANDARD",
	"END:VTIMEZONE",
	vevent("UID:daily", "SUMMARY:Daily", "DTSTART;TZID=My Zone:20260301T100000", "DTEND;TZID=My Zone:20260301T110000", "RRULE:FREQ=DAILY"),
	vevent("UID:before", "SUMMARY:Before", "DTSTART;TZID=My Zone:20260329T013000", "DURATION:PT10M"),
	vevent("UID:after", "SUMMARY:After", "DTSTART;TZID=My Zone:20260329T033000", "DURATION:PT10M"),
	vevent("UID:sydney", "SUMMARY:Sydney", "DTSTART;TZID=Down Under:20260101T100000", "DURATION:PT1H", "RRULE:FREQ=MONTHLY;BYMONTHDAY=15"),
	vevent("UID:eastern", "SUMMARY:Eastern", "DTSTART;TZID=Eastern:20260301T100000", "DTEND;TZID=Eastern:20260301T110000", "RRULE:FREQ=DAILY"),
	vevent("UID:india", "SUMMARY:India", "DTSTART;TZID=Half Hour:20260601T100000", "DURATION:PT1H"),
)

// A zone read from a VTIMEZONE changes offset when its rules say: the
// daily 10:00 is 09:00Z before the last Sunday of March, 08:00Z from it
// to the last Sunday of October, 09:00Z again after; the clocks go
// forward at 02:00 (01:00Z).
func TestVTimezoneZones(t *testing.T) {
	e := engine(t, frozen(utc(t, "2026-01-01T00:00:00Z")), map[string]string{
		"cal.lua":              handler("", calendarScript),
		"calendars/custom.ics": customZoneICS,
	})
	for _, c := range []struct{ at, want string }{
		{"2026-03-28T09:30:00Z", "true|Daily|false"}, // Saturday, CET
		{"2026-03-28T08:30:00Z", "false|nil|nil"},
		{"2026-03-29T08:30:00Z", "true|Daily|false"}, // Sunday, CEST
		{"2026-03-29T09:30:00Z", "false|nil|nil"},
		{"2026-10-24T08:30:00Z", "true|Daily|false"}, // Saturday, CEST
		{"2026-10-24T09:30:00Z", "false|nil|nil"},
		{"2026-10-25T09:30:00Z", "true|Daily|false"}, // Sunday, CET
		{"2026-10-25T08:30:00Z", "false|nil|nil"},
		{"2033-03-26T09:30:00Z", "true|Daily|false"}, // Saturday; 2033's last Sunday is the 27th
		{"2033-03-27T08:30:00Z", "true|Daily|false"},
		{"2026-03-29T00:35:00Z", "true|Before|false"}, // 01:30 CET
		{"2026-03-29T01:35:00Z", "true|After|false"},  // 03:30 CEST
		{"2026-03-29T02:35:00Z", "false|nil|nil"},
		// Sydney: AEDT (+11) from October to April, AEST (+10) between.
		{"2026-01-14T23:30:00Z", "true|Sydney|false"},
		{"2026-01-15T00:30:00Z", "false|nil|nil"},
		{"2026-07-15T00:30:00Z", "true|Sydney|false"},
		{"2026-07-14T23:30:00Z", "false|nil|nil"},
		{"2026-10-14T23:30:00Z", "true|Sydney|false"},
		// A fixed +05:30.
		{"2026-06-01T04:29:59Z", "false|nil|nil"},
		{"2026-06-01T04:30:00Z", "true|India|false"},
	} {
		if got := ask(t, e, "custom", utc(t, c.at)); got != c.want {
			t.Errorf("custom at %s: %s, want %s", c.at, got, c.want)
		}
	}
}

// Path TZIDs as Mozilla's and Citadel's programs write them end in an
// IANA name.
func TestPathZones(t *testing.T) {
	e := engine(t, frozen(utc(t, "2026-01-01T00:00:00Z")), map[string]string{
		"cal.lua": handler("", calendarScript),
		"calendars/moz.ics": vcalendar(
			vevent("UID:berlin", "SUMMARY:Berlin", "DTSTART;TZID=/mozilla.org/20050126_1/Europe/Berlin:20260115T100000",
				"DTEND;TZID=/mozilla.org/20050126_1/Europe/Berlin:20260115T110000", "RRULE:FREQ=MONTHLY"),
			vevent("UID:ny", "SUMMARY:New York", "DTSTART;TZID=/citadel.org/20190914_1/America/New_York:20260120T100000", "DURATION:PT1H"),
			vevent("UID:ar", "SUMMARY:Buenos Aires", "DTSTART;TZID=/softwarestudio.org/Olson_20011030_5/America/Argentina/Buenos_Aires:20260121T100000", "DURATION:PT1H"),
		),
	})
	for _, c := range []struct{ at, want string }{
		{"2026-01-15T09:30:00Z", "true|Berlin|false"}, // CET, +1
		{"2026-01-15T08:30:00Z", "false|nil|nil"},
		{"2026-07-15T08:30:00Z", "true|Berlin|false"}, // CEST, +2
		{"2026-07-15T09:30:00Z", "false|nil|nil"},
		{"2026-01-20T15:30:00Z", "true|New York|false"}, // EST, -5
		{"2026-01-21T13:30:00Z", "true|Buenos Aires|false"},
	} {
		if got := ask(t, e, "moz", utc(t, c.at)); got != c.want {
			t.Errorf("moz at %s: %s, want %s", c.at, got, c.want)
		}
	}
}

// A TZID that is neither a zone's name nor has a VTIMEZONE the module can
// read fails the load, naming the zone and what is wrong with it.
func TestZoneErrors(t *testing.T) {
	for tzid, c := range map[string]struct{ vtimezone, want string }{
		"Mars Standard Time":          {"", `:7: event "E": DTSTART: unknown time zone "Mars Standard Time": neither an IANA name (Asia/Jerusalem) nor a Windows one (Israel Standard Time), and the file has no VTIMEZONE of that TZID`},
		"Local":                       {"", `unknown time zone "Local"`},
		"/mozilla.org/x/Nowhere/Land": {"", `unknown time zone "/mozilla.org/x/Nowhere/Land"`},
		"Odd": {vcalendarBlock("BEGIN:VTIMEZONE", "TZID:Odd",
			"BEGIN:STANDARD", "DTSTART:19701025T030000", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD",
			"BEGIN:DAYLIGHT", "DTSTART:19700321T020000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "RRULE:FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=21", "END:DAYLIGHT",
			"END:VTIMEZONE"),
			`unknown time zone "Odd": neither an IANA name nor a Windows one, and its VTIMEZONE: DAYLIGHT: unsupported RRULE`},
		"Empty": {vcalendarBlock("BEGIN:VTIMEZONE", "TZID:Empty", "END:VTIMEZONE"),
			`unknown time zone "Empty": neither an IANA name nor a Windows one, and its VTIMEZONE: no STANDARD or DAYLIGHT`},
		"Bad offset": {vcalendarBlock("BEGIN:VTIMEZONE", "TZID:Bad offset",
			"BEGIN:STANDARD", "DTSTART:19700101T000000", "TZOFFSETFROM:+0200", "TZOFFSETTO:2", "END:STANDARD", "END:VTIMEZONE"),
			`its VTIMEZONE: STANDARD: TZOFFSETTO: bad offset "2", want +HHMM`},
	} {
		lines := []string{}
		if c.vtimezone != "" {
			lines = append(lines, c.vtimezone)
		}
		lines = append(lines, vevent("UID:e", "SUMMARY:E", "DTSTART;TZID="+tzid+":20260101T100000"))
		err := loadAt(t, utc(t, "2026-01-01T00:00:00Z"), map[string]string{"calendars/z.ics": vcalendar(lines...)})
		want := c.want
		if strings.HasPrefix(want, ":") {
			want = filepath.Join("calendars", "z.ics") + want
		}
		wantError(t, err, want)
	}
}

func vcalendarBlock(lines ...string) string { return strings.Join(lines, "\n") }

// The zones of a file resolve to the instants Go's own zones give, for
// the events of a rule over several years: the Central European rules
// written with BYDAY=-1SU, the American ones with BYDAY=SU and a week of
// BYMONTHDAY.
func TestVTimezoneMatchesIANA(t *testing.T) {
	e := engine(t, frozen(utc(t, "2026-01-01T00:00:00Z")), map[string]string{
		"cal.lua":              handler("", calendarScript),
		"calendars/custom.ics": customZoneICS,
	})
	for summary, name := range map[string]string{"Daily": "Europe/Paris", "Eastern": "America/New_York"} {
		loc := zone(t, name)
		for d := time.Date(2025, 1, 1, 10, 30, 0, 0, loc); d.Year() < 2031; d = d.AddDate(0, 0, 3) {
			// The daily events start on 1 March 2026 and last from 10:00
			// to 11:00 there.
			in := "false|nil|nil"
			if !d.Before(time.Date(2026, 3, 1, 0, 0, 0, 0, loc)) {
				in = "true|" + summary + "|false"
			}
			for at, want := range map[time.Time]string{d: in, d.Add(-time.Hour): "false|nil|nil", d.Add(time.Hour): "false|nil|nil"} {
				if got := ask(t, e, "custom", at); got != want {
					t.Errorf("custom at %s (%s in %s): %s, want %s", at.UTC().Format(time.RFC3339), at.In(loc).Format("15:04"), name, got, want)
				}
			}
		}
	}
}
