package time

import (
	"sync"
	"time"
)

// The Hebrew calendar, as fixed by Hillel II's rules: months follow the
// mean lunation (the molad), 7 of every 19 years have a leap month, and
// Rosh Hashana is the day of the molad of Tishri unless one of the
// postponements (dehiyyot) moves it. The arithmetic is Dershowitz and
// Reingold's ("Calendrical Calculations"), on R.D. day numbers: day 1 is
// 0001-01-01 in the proleptic Gregorian calendar.

// hebrewEpoch places the calendar on the R.D. day numbers; with it, Tishri
// 1 of year y is hebrewEpoch + elapsedDays(y) + 1.
const hebrewEpoch = -1373429

// rdUnixEpoch is the R.D. day number of 1970-01-01.
const rdUnixEpoch = 719163

// hebrewLeap reports whether year has the leap month Adar I.
func hebrewLeap(year int) bool { return (7*year+1)%19 < 7 }

// elapsedDays counts the days from the calendar's epoch to Rosh Hashana
// of year, dehiyyot applied.
func elapsedDays(year int) int {
	y := year - 1
	months := 235*(y/19) + 12*(y%19) + (7*(y%19)+1)/19
	// The molad of Tishri in days and parts (1080 parts to the hour),
	// counted from the first molad, BaHaRaD (day 2, 5 hours, 204 parts).
	parts := 204 + 793*(months%1080)
	hours := 5 + 12*months + 793*(months/1080) + parts/1080
	day := 1 + 29*months + hours/24
	parts = 1080*(hours%24) + parts%1080
	// Molad zaken (at or after noon), GaTaRaD and BeTUTaKPaT: the first
	// day on which the new year can start is the next one.
	if parts >= 19440 ||
		(day%7 == 2 && parts >= 9924 && !hebrewLeap(year)) ||
		(day%7 == 1 && parts >= 16789 && hebrewLeap(year-1)) {
		day++
	}
	// Lo ADU Rosh: never on Sunday, Wednesday or Friday.
	if d := day % 7; d == 0 || d == 3 || d == 5 {
		day++
	}
	return day
}

// roshHashana is the day (days since 1970-01-01) of Tishri 1 of year.
func roshHashana(year int) int64 {
	return int64(hebrewEpoch+elapsedDays(year)+1) - rdUnixEpoch
}

// pesach is the day of Nisan 15 of year, in the spring before the next
// Rosh Hashana: Nisan to Elul have fixed lengths (30, 29, 30, 29, 30, 29),
// so it is 163 days before Tishri 1 of year+1.
func pesach(year int) int64 { return roshHashana(year+1) - 163 }

// weekday of a day number: 1970-01-01 was a Thursday.
func weekday(day int64) time.Weekday {
	return time.Weekday((day%7 + 7 + 4) % 7)
}

// yomHaAtzmaut is the day Independence Day is kept in year: 5 Iyar (20
// days after Pesach), brought forward to Thursday when it falls on Friday
// or Saturday (so as not to touch the Sabbath), and since 2004 put off to
// Tuesday when it falls on Monday (so that Memorial Day, the day before,
// does not start at the end of the Sabbath).
func yomHaAtzmaut(year int) int64 {
	day := pesach(year) + 20
	switch weekday(day) {
	case time.Friday:
		day--
	case time.Saturday:
		day -= 2
	case time.Monday:
		if year >= 5764 {
			day++
		}
	}
	return day
}

// israelYears are the Hebrew years the built-in calendar covers: civil
// years 1900 to 2100.
const israelFirstYear, israelLastYear = 5660, 5861

// israelZone is where the built-in calendar's days are.
const israelZone = "Asia/Jerusalem"

// israel is the built-in calendar of Israeli public holidays and their
// eves, computed once and shared by every load.
var israel = sync.OnceValue(func() *calendar {
	loc, err := time.LoadLocation(israelZone)
	if err != nil {
		panic("time: tzdata has no " + israelZone + ": " + err.Error()) // tzdata is embedded
	}
	c := &calendar{zone: loc}
	for y := israelFirstYear; y <= israelLastYear; y++ {
		israelYear(c, y)
	}
	return c
})

// israelYear adds the holidays of Hebrew year y, from Rosh Hashana in the
// autumn to Shavuot in the next summer, and their eves: the days before
// the days an office closes on, when it closes early.
func israelYear(c *calendar, y int) {
	rh, p := roshHashana(y), pesach(y)
	days := []struct {
		name string
		day  int64
		n    int64 // days it lasts
		eve  bool
	}{
		{"Erev Rosh Hashana", rh - 1, 1, true},
		{"Rosh Hashana", rh, 2, false},
		{"Erev Yom Kippur", rh + 8, 1, true},
		{"Yom Kippur", rh + 9, 1, false},
		{"Erev Sukkot", rh + 13, 1, true},
		{"Sukkot", rh + 14, 1, false},
		{"Hoshana Rabba", rh + 20, 1, true}, // the eve of Shemini Atzeret
		{"Shemini Atzeret", rh + 21, 1, false},
		{"Erev Pesach", p - 1, 1, true},
		{"Pesach", p, 1, false},
		{"Erev Pesach VII", p + 5, 1, true},
		{"Pesach VII", p + 6, 1, false},
		{"Erev Shavuot", p + 49, 1, true},
		{"Shavuot", p + 50, 1, false},
	}
	for _, d := range days {
		addWall(c, event{summary: d.name, eve: d.eve}, d.day*daySeconds, (d.day+d.n)*daySeconds)
	}
	if y >= 5709 { // the first was kept in 1949
		d := yomHaAtzmaut(y)
		addWall(c, event{summary: "Yom HaAtzmaut"}, d*daySeconds, (d+1)*daySeconds)
	}
}

// addWall adds an event that happens once, on the wall clock.
func addWall(c *calendar, e event, start, end int64) {
	c.events = append(c.events, e)
	c.fixed.wall = append(c.fixed.wall, interval{start: start, end: end, ev: int32(len(c.events) - 1)})
}
