package time_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/luavm"
)

// calendarScript answers, for unix seconds, "contains|event|eve" of the
// calendar named in the first line of its input.
const calendarScript = `local name, u = arg:match("^(%S+) (%S+)$")
local c = time.calendar(name)
local ev, eve = c:event(tonumber(u))
return tostring(c:contains(tonumber(u))) .. "|" .. tostring(ev) .. "|" .. tostring(eve)`

// ask returns what calendar name says of instant at.
func ask(t *testing.T, e *luavm.Engine, name string, at time.Time) string {
	t.Helper()
	return run(t, e, "cal", name+" "+strconv.FormatInt(at.Unix(), 10))
}

// Published dates of the Israeli public holidays, 2024-2032, checked
// against Hebcal's Israeli schedule (@hebcal/core): each is a whole civil
// day in Jerusalem. Yom HaAtzmaut is
// moved when 5 Iyar falls on Friday or Saturday (to Thursday) or Monday (to
// Tuesday): 2024, 2025, 2028, 2029, 2031 and 2032 are moved.
var israelDates = []struct{ date, name string }{
	{"2024-04-23", "Pesach"}, {"2024-04-29", "Pesach VII"}, {"2024-05-14", "Yom HaAtzmaut"}, {"2024-06-12", "Shavuot"},
	{"2024-10-03", "Rosh Hashana"}, {"2024-10-04", "Rosh Hashana"}, {"2024-10-12", "Yom Kippur"}, {"2024-10-17", "Sukkot"}, {"2024-10-24", "Shemini Atzeret"},
	{"2025-04-13", "Pesach"}, {"2025-04-19", "Pesach VII"}, {"2025-05-01", "Yom HaAtzmaut"}, {"2025-06-02", "Shavuot"},
	{"2025-09-23", "Rosh Hashana"}, {"2025-09-24", "Rosh Hashana"}, {"2025-10-02", "Yom Kippur"}, {"2025-10-07", "Sukkot"}, {"2025-10-14", "Shemini Atzeret"},
	{"2026-04-02", "Pesach"}, {"2026-04-08", "Pesach VII"}, {"2026-04-22", "Yom HaAtzmaut"}, {"2026-05-22", "Shavuot"},
	{"2026-09-12", "Rosh Hashana"}, {"2026-09-13", "Rosh Hashana"}, {"2026-09-21", "Yom Kippur"}, {"2026-09-26", "Sukkot"}, {"2026-10-03", "Shemini Atzeret"},
	{"2027-04-22", "Pesach"}, {"2027-04-28", "Pesach VII"}, {"2027-05-12", "Yom HaAtzmaut"}, {"2027-06-11", "Shavuot"},
	{"2027-10-02", "Rosh Hashana"}, {"2027-10-03", "Rosh Hashana"}, {"2027-10-11", "Yom Kippur"}, {"2027-10-16", "Sukkot"}, {"2027-10-23", "Shemini Atzeret"},
	{"2028-04-11", "Pesach"}, {"2028-04-17", "Pesach VII"}, {"2028-05-02", "Yom HaAtzmaut"}, {"2028-05-31", "Shavuot"},
	{"2028-09-21", "Rosh Hashana"}, {"2028-09-22", "Rosh Hashana"}, {"2028-09-30", "Yom Kippur"}, {"2028-10-05", "Sukkot"}, {"2028-10-12", "Shemini Atzeret"},
	{"2029-03-31", "Pesach"}, {"2029-04-06", "Pesach VII"}, {"2029-04-19", "Yom HaAtzmaut"}, {"2029-05-20", "Shavuot"},
	{"2029-09-10", "Rosh Hashana"}, {"2029-09-11", "Rosh Hashana"}, {"2029-09-19", "Yom Kippur"}, {"2029-09-24", "Sukkot"}, {"2029-10-01", "Shemini Atzeret"},
	{"2030-04-18", "Pesach"}, {"2030-04-24", "Pesach VII"}, {"2030-05-08", "Yom HaAtzmaut"}, {"2030-06-07", "Shavuot"},
	{"2030-09-28", "Rosh Hashana"}, {"2030-09-29", "Rosh Hashana"}, {"2030-10-07", "Yom Kippur"}, {"2030-10-12", "Sukkot"}, {"2030-10-19", "Shemini Atzeret"},
	{"2031-04-08", "Pesach"}, {"2031-04-14", "Pesach VII"}, {"2031-04-29", "Yom HaAtzmaut"}, {"2031-05-28", "Shavuot"},
	{"2031-09-18", "Rosh Hashana"}, {"2031-09-19", "Rosh Hashana"}, {"2031-09-27", "Yom Kippur"}, {"2031-10-02", "Sukkot"}, {"2031-10-09", "Shemini Atzeret"},
	{"2032-03-27", "Pesach"}, {"2032-04-02", "Pesach VII"}, {"2032-04-15", "Yom HaAtzmaut"}, {"2032-05-16", "Shavuot"},
	{"2032-09-06", "Rosh Hashana"}, {"2032-09-07", "Rosh Hashana"}, {"2032-09-15", "Yom Kippur"}, {"2032-09-20", "Sukkot"}, {"2032-09-27", "Shemini Atzeret"},
}

// Eves, the day before: not closures.
var israelEves = []struct{ date, name string }{
	{"2024-10-02", "Erev Rosh Hashana"}, {"2024-10-11", "Erev Yom Kippur"}, {"2024-10-16", "Erev Sukkot"},
	{"2025-04-12", "Erev Pesach"}, {"2025-06-01", "Erev Shavuot"},
	{"2026-09-20", "Erev Yom Kippur"}, {"2027-04-21", "Erev Pesach"}, {"2032-05-15", "Erev Shavuot"},
	// The eves of the last days of Sukkot and Pesach: Hoshana Rabba (21
	// Tishri, the day before Shemini Atzeret) and 20 Nisan (the day before
	// Pesach VII), by the dates of Shemini Atzeret and Pesach VII above.
	{"2026-10-02", "Hoshana Rabba"}, {"2027-10-22", "Hoshana Rabba"}, {"2024-10-23", "Hoshana Rabba"},
	{"2026-04-07", "Erev Pesach VII"}, {"2027-04-27", "Erev Pesach VII"}, {"2025-04-18", "Erev Pesach VII"},
}

// Days that are not holidays though they could be mistaken for some: 5
// Iyar in the years Yom HaAtzmaut moves, Rosh Hashana's day after, and
// Sukkot's second day (a holiday only outside Israel).
var israelWorkdays = []string{
	"2024-05-13", "2025-05-03", "2028-05-01", "2029-04-20", "2031-04-28", "2032-04-16",
	"2026-09-14", "2026-09-27", "2026-04-03", "2030-04-19",
}

func israelEngine(t *testing.T) *luavm.Engine {
	return engine(t, frozen(utc(t, "2020-01-01T00:00:00Z")), map[string]string{"cal.lua": handler("", calendarScript)})
}

func TestIsraelHolidays(t *testing.T) {
	e := israelEngine(t)
	jlm := zone(t, "Asia/Jerusalem")
	for _, d := range israelDates {
		day, err := time.ParseInLocation("2006-01-02", d.date, jlm)
		if err != nil {
			t.Fatal(err)
		}
		want := "true|" + d.name + "|false"
		for _, at := range []time.Time{day, day.Add(12 * time.Hour), day.AddDate(0, 0, 1).Add(-time.Second)} {
			if got := ask(t, e, "israel", at); got != want {
				t.Errorf("%s at %s: %s, want %s", d.date, at.Format(time.RFC3339), got, want)
			}
		}
	}
	for _, d := range israelEves {
		day, _ := time.ParseInLocation("2006-01-02", d.date, jlm)
		if got, want := ask(t, e, "israel", day.Add(9*time.Hour)), "false|"+d.name+"|true"; got != want {
			t.Errorf("%s: %s, want %s", d.date, got, want)
		}
	}
	for _, d := range israelWorkdays {
		day, _ := time.ParseInLocation("2006-01-02", d, jlm)
		if got := ask(t, e, "israel", day.Add(12*time.Hour)); got != "false|nil|nil" {
			t.Errorf("%s: %s, want no holiday", d, got)
		}
	}
}

// A holiday starts at midnight in Jerusalem, not at sunset and not in UTC.
func TestIsraelHolidayBounds(t *testing.T) {
	e := israelEngine(t)
	for at, want := range map[string]string{
		"2026-09-20T20:59:59Z": "false|Erev Yom Kippur|true",
		"2026-09-20T21:00:00Z": "true|Yom Kippur|false",
		"2026-09-21T20:59:59Z": "true|Yom Kippur|false",
		"2026-09-21T21:00:00Z": "false|nil|nil",
		"2025-04-30T20:59:59Z": "false|nil|nil",
		"2025-04-30T21:00:00Z": "true|Yom HaAtzmaut|false",
	} {
		if got := ask(t, e, "israel", utc(t, at)); got != want {
			t.Errorf("at %s: %s, want %s", at, got, want)
		}
	}
}

// eve = gives eve hours on eves; a day closed every week stays closed.
func TestHoursEves(t *testing.T) {
	e := hoursEngine(t, map[string]string{
		"clinic": clinic + `, closed = "israel", eve = "08:00-13:00"`,
		"plain":  clinic + `, closed = "israel"`,
	}, nil)
	checkProbes(t, e, "clinic", []probe{
		// Erev Pesach 2026, Wednesday: eve hours, then Pesach on Thursday.
		{"2026-04-01T09:00:00Z", true, "2026-04-01T09:00:00Z", "2026-04-01T10:00:00Z"},
		{"2026-04-01T11:00:00Z", false, "2026-04-03T05:00:00Z", "2026-04-01T11:00:00Z"},
		// Erev Pesach 2025 is a Saturday: still closed; Pesach Sunday.
		{"2025-04-11T12:00:00Z", false, "2025-04-14T05:00:00Z", "2025-04-11T12:00:00Z"},
		// Erev Yom Kippur 2026, Sunday.
		{"2026-09-20T06:00:00Z", true, "2026-09-20T06:00:00Z", "2026-09-20T10:00:00Z"},
		{"2026-09-20T11:00:00Z", false, "2026-09-22T05:00:00Z", "2026-09-20T11:00:00Z"},
		// Rosh Hashana 5787 is Saturday and Sunday: closed until Monday.
		{"2026-09-11T05:00:00Z", true, "2026-09-11T05:00:00Z", "2026-09-11T10:00:00Z"},
		{"2026-09-11T10:00:00Z", false, "2026-09-14T05:00:00Z", "2026-09-11T10:00:00Z"},
	})
	// Without eve =, an eve is a normal day.
	checkProbes(t, e, "plain", []probe{
		{"2026-04-01T11:00:00Z", true, "2026-04-01T11:00:00Z", "2026-04-01T15:00:00Z"},
	})
}

// The eves of Pesach VII and Shemini Atzeret shorten the day before them,
// as the other eves do.
func TestHoursLastDayEves(t *testing.T) {
	e := hoursEngine(t, map[string]string{
		"clinic": `sun = "08:00-18:00", mon = "08:00-18:00", tue = "08:00-18:00", wed = "08:00-18:00",
  thu = "08:00-18:00", fri = "08:00-18:00", zone = "Asia/Jerusalem", closed = "israel", eve = "08:00-13:00"`,
	}, nil)
	checkProbes(t, e, "clinic", []probe{
		// Erev Pesach VII 2026, Tuesday 7 April (IDT, +3): until 13:00;
		// Pesach VII on Wednesday; open Thursday.
		{"2026-04-07T09:59:59Z", true, "2026-04-07T09:59:59Z", "2026-04-07T10:00:00Z"},
		{"2026-04-07T10:00:00Z", false, "2026-04-09T05:00:00Z", "2026-04-07T10:00:00Z"},
		// Monday before: a full day.
		{"2026-04-06T14:00:00Z", true, "2026-04-06T14:00:00Z", "2026-04-06T15:00:00Z"},
		// Hoshana Rabba 2027, Friday 22 October: until 13:00; Shemini
		// Atzeret on Saturday; open Sunday.
		{"2027-10-22T09:00:00Z", true, "2027-10-22T09:00:00Z", "2027-10-22T10:00:00Z"},
		{"2027-10-22T11:00:00Z", false, "2027-10-24T05:00:00Z", "2027-10-22T11:00:00Z"},
		// Erev Pesach VII 2027, Tuesday 27 April.
		{"2027-04-27T11:00:00Z", false, "2027-04-29T05:00:00Z", "2027-04-27T11:00:00Z"},
	})
}
