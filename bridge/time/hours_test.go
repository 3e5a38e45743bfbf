package time_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/ivrouter/ivrouter/luavm"
)

// probeScript builds hours from spec (Lua table fields) at load time; its
// handler takes unix seconds and answers "open next_open next_close", the
// two as unix seconds or the reason there is none.
func probeScript(spec string) string {
	return handler("local h = time.hours{"+spec+"}", `
local u = tonumber(arg)
local o, why = h:next_open(u)
local c, why2 = h:next_close(u)
return tostring(h:open(u)) .. "|" .. (o and o.unix or why) .. "|" .. (c and c.unix or why2)`)
}

// probe is one question to some hours: at instant at, are they open and
// when do they next open and close (RFC 3339 UTC, or the reason there is
// none). The instants are worked out by hand from the zone's offsets (IST
// +2, IDT +3, EST -5), not with the code under test.
type probe struct {
	at        string
	open      bool
	nextOpen  string
	nextClose string
}

func checkProbes(t *testing.T, e *luavm.Engine, name string, probes []probe) {
	t.Helper()
	for _, p := range probes {
		out := strings.Split(run(t, e, name, strconv.FormatInt(utc(t, p.at).Unix(), 10)), "|")
		if len(out) != 3 {
			t.Errorf("%s at %s: answer %q", name, p.at, out)
			continue
		}
		open, no, nc := out[0], unixText(out[1]), unixText(out[2])
		if open != strconv.FormatBool(p.open) || no != p.nextOpen || nc != p.nextClose {
			t.Errorf("%s at %s: open %s, next_open %s, next_close %s; want %t, %s, %s",
				name, p.at, open, no, nc, p.open, p.nextOpen, p.nextClose)
		}
	}
}

func hoursEngine(t *testing.T, specs map[string]string, files map[string]string) *luavm.Engine {
	t.Helper()
	all := map[string]string{}
	for name, spec := range specs {
		all[name+".lua"] = probeScript(spec)
	}
	for name, src := range files {
		all[name] = src
	}
	return engine(t, frozen(utc(t, "2020-01-01T00:00:00Z")), all)
}

const clinic = `sun = "08:00-18:00", mon = "08:00-18:00", tue = "08:00-18:00", wed = "08:00-18:00",
  thu = "08:00-18:00", fri = "08:00-13:00", zone = "Asia/Jerusalem"`

func TestHoursRanges(t *testing.T) {
	e := hoursEngine(t, map[string]string{
		"split":    `mon = "08:00-12:00, 13:00-18:00"`,
		"night":    `fri = "22:00-02:00"`,
		"joined":   `sun = "20:00-24:00", mon = "00:00-06:00"`,
		"always":   `sun = "00:00-24:00", mon = "00:00-24:00", tue = "00:00-24:00", wed = "00:00-24:00", thu = "00:00-24:00", fri = "00:00-24:00", sat = "00:00-24:00"`,
		"never":    `zone = "UTC"`,
		"overlap":  `tue = "08:00-12:00,11:00-18:00"`,
		"new_york": `thu = "09:00-17:00", zone = "America/New_York"`,
	}, nil)
	// 2026-01-05 is a Monday; Israel is on IST (+2) all January.
	checkProbes(t, e, "split", []probe{
		{"2026-01-05T09:30:00Z", true, "2026-01-05T09:30:00Z", "2026-01-05T10:00:00Z"},
		{"2026-01-05T10:30:00Z", false, "2026-01-05T11:00:00Z", "2026-01-05T10:30:00Z"},
		{"2026-01-05T16:30:00Z", false, "2026-01-12T06:00:00Z", "2026-01-05T16:30:00Z"},
		{"2026-01-05T05:59:59Z", false, "2026-01-05T06:00:00Z", "2026-01-05T05:59:59Z"},
	})
	// Friday 22:00 to Saturday 02:00.
	checkProbes(t, e, "night", []probe{
		{"2026-01-09T19:00:00Z", false, "2026-01-09T20:00:00Z", "2026-01-09T19:00:00Z"},
		{"2026-01-09T22:30:00Z", true, "2026-01-09T22:30:00Z", "2026-01-10T00:00:00Z"},
		{"2026-01-10T00:00:00Z", false, "2026-01-16T20:00:00Z", "2026-01-10T00:00:00Z"},
	})
	// Sunday 20:00 runs on to Monday 06:00 without a break.
	checkProbes(t, e, "joined", []probe{
		{"2026-01-04T19:00:00Z", true, "2026-01-04T19:00:00Z", "2026-01-05T04:00:00Z"},
	})
	checkProbes(t, e, "always", []probe{
		{"2026-01-04T19:00:00Z", true, "2026-01-04T19:00:00Z", "never closes"},
	})
	checkProbes(t, e, "never", []probe{
		{"2026-01-04T19:00:00Z", false, "never opens", "2026-01-04T19:00:00Z"},
	})
	checkProbes(t, e, "overlap", []probe{
		{"2026-01-06T07:00:00Z", true, "2026-01-06T07:00:00Z", "2026-01-06T16:00:00Z"},
	})
	// 2026-03-05 is a Thursday; New York is on EST (-5).
	checkProbes(t, e, "new_york", []probe{
		{"2026-03-05T13:00:00Z", false, "2026-03-05T14:00:00Z", "2026-03-05T13:00:00Z"},
		{"2026-03-05T21:59:00Z", true, "2026-03-05T21:59:00Z", "2026-03-05T22:00:00Z"},
	})
}

// Israel moves its clocks on the Friday before the last Sunday of March
// (02:00 IST becomes 03:00 IDT, at 00:00 UTC) and on the last Sunday of
// October (02:00 IDT becomes 01:00 IST, at 23:00 UTC the day before).
// Ranges are wall-clock times: a range starting in the skipped hour opens
// at the jump, and a repeated time is its first reading.
func TestHoursIsraeliDST(t *testing.T) {
	e := hoursEngine(t, map[string]string{
		"clinic":   clinic,
		"gap":      `fri = "02:30-04:00"`,
		"into_gap": `fri = "01:00-02:30"`,
		"in_gap":   `fri = "02:10-02:50"`,
		"early":    `sun = "00:00-01:30"`,
		"repeat":   `sun = "01:30-03:00"`,
		"thu_late": `thu = "22:00-04:00"`,
		"sat_late": `sat = "22:00-02:00"`,
	}, nil)
	t.Run("spring 2026", func(t *testing.T) {
		checkProbes(t, e, "clinic", []probe{
			// Thursday 19:00 IST: Friday opens at 08:00 IDT, 05:00 UTC.
			{"2026-03-26T17:00:00Z", false, "2026-03-27T05:00:00Z", "2026-03-26T17:00:00Z"},
			{"2026-03-27T05:00:00Z", true, "2026-03-27T05:00:00Z", "2026-03-27T10:00:00Z"},
			{"2026-03-27T10:30:00Z", false, "2026-03-29T05:00:00Z", "2026-03-27T10:30:00Z"},
		})
		checkProbes(t, e, "gap", []probe{
			{"2026-03-26T23:59:00Z", false, "2026-03-27T00:00:00Z", "2026-03-26T23:59:00Z"},
			{"2026-03-27T00:00:00Z", true, "2026-03-27T00:00:00Z", "2026-03-27T01:00:00Z"},
		})
		checkProbes(t, e, "into_gap", []probe{
			{"2026-03-26T23:30:00Z", true, "2026-03-26T23:30:00Z", "2026-03-27T00:00:00Z"},
			{"2026-03-27T00:00:00Z", false, "2026-04-02T22:00:00Z", "2026-03-27T00:00:00Z"},
		})
		checkProbes(t, e, "in_gap", []probe{
			// The range never happens that Friday: the next one opens at
			// 02:10 IDT.
			{"2026-03-26T22:00:00Z", false, "2026-04-02T23:10:00Z", "2026-03-26T22:00:00Z"},
		})
	})
	t.Run("autumn 2026", func(t *testing.T) {
		checkProbes(t, e, "clinic", []probe{
			{"2026-10-24T09:00:00Z", false, "2026-10-25T06:00:00Z", "2026-10-24T09:00:00Z"},
			{"2026-10-25T07:00:00Z", true, "2026-10-25T07:00:00Z", "2026-10-25T16:00:00Z"},
			{"2026-10-18T05:00:00Z", true, "2026-10-18T05:00:00Z", "2026-10-18T15:00:00Z"},
		})
		checkProbes(t, e, "early", []probe{
			{"2026-10-24T21:00:00Z", true, "2026-10-24T21:00:00Z", "2026-10-24T22:30:00Z"},
			{"2026-10-24T22:15:00Z", true, "2026-10-24T22:15:00Z", "2026-10-24T22:30:00Z"},
			// 01:15 IST, the second 01:15: the range ended at the first 01:30.
			{"2026-10-24T23:15:00Z", false, "2026-10-31T22:00:00Z", "2026-10-24T23:15:00Z"},
		})
		checkProbes(t, e, "repeat", []probe{
			{"2026-10-24T22:10:00Z", false, "2026-10-24T22:30:00Z", "2026-10-24T22:10:00Z"},
			{"2026-10-24T23:10:00Z", true, "2026-10-24T23:10:00Z", "2026-10-25T01:00:00Z"},
		})
	})
	t.Run("spring 2027", func(t *testing.T) {
		checkProbes(t, e, "clinic", []probe{
			{"2027-03-25T17:00:00Z", false, "2027-03-26T05:00:00Z", "2027-03-25T17:00:00Z"},
		})
		// Thursday 22:00 IST to Friday 04:00 IDT: five hours.
		checkProbes(t, e, "thu_late", []probe{
			{"2027-03-25T19:59:00Z", false, "2027-03-25T20:00:00Z", "2027-03-25T19:59:00Z"},
			{"2027-03-26T00:30:00Z", true, "2027-03-26T00:30:00Z", "2027-03-26T01:00:00Z"},
			{"2027-03-26T01:00:00Z", false, "2027-04-01T19:00:00Z", "2027-03-26T01:00:00Z"},
		})
	})
	t.Run("autumn 2027", func(t *testing.T) {
		checkProbes(t, e, "clinic", []probe{
			{"2027-10-30T12:00:00Z", false, "2027-10-31T06:00:00Z", "2027-10-30T12:00:00Z"},
		})
		// Saturday 22:00 IDT to the only 02:00 of Sunday, in IST: five hours.
		checkProbes(t, e, "sat_late", []probe{
			{"2027-10-30T19:00:00Z", true, "2027-10-30T19:00:00Z", "2027-10-31T00:00:00Z"},
			{"2027-10-30T23:30:00Z", true, "2027-10-30T23:30:00Z", "2027-10-31T00:00:00Z"},
		})
	})
}

// next_open answers a time table in the hours' zone, ready for SAY.
func TestNextOpenTable(t *testing.T) {
	e := engine(t, frozen(utc(t, "2026-03-26T17:00:00Z")), map[string]string{
		"next.lua": handler("local h = time.hours{"+clinic+"}", `
local n = h:next_open()
return table.concat({n.date, n.datetime, n.hour, n.min, n.wday, n.zone, n.offset}, " ")`),
	})
	if got, want := run(t, e, "next", ""), "2026-03-27 2026-03-27T08:00:00 8 0 6 IDT 10800"; got != want {
		t.Errorf("next_open = %s, want %s", got, want)
	}
}

// t may be a time table, unix seconds or absent.
func TestHoursTimeArgument(t *testing.T) {
	at := utc(t, "2026-01-05T09:30:00Z")
	e := engine(t, frozen(at), map[string]string{
		"arg.lua": handler(`local h = time.hours{mon = "08:00-12:00"}`, `
local now = time.now("UTC")
return tostring(h:open()) .. tostring(h:open(now)) .. tostring(h:open(now.unix)) .. tostring(h:open(now.unix + 3600))`),
	})
	if got := run(t, e, "arg", ""); got != "truetruetruefalse" {
		t.Errorf("open() open(table) open(unix) open(unix+1h) = %s", got)
	}
}

func TestHoursErrors(t *testing.T) {
	for src, want := range map[string]string{
		`time.hours{mon = "8-18"}`:                 `time.hours: mon: bad range "8-18", want HH:MM-HH:MM`,
		`time.hours{mon = "08:00-12:00,13:00"}`:    `time.hours: mon: bad range "13:00", want HH:MM-HH:MM`,
		`time.hours{tue = "08:00-12:60"}`:          `time.hours: tue: bad range "08:00-12:60"`,
		`time.hours{wed = "24:00-02:00"}`:          `time.hours: wed: bad range "24:00-02:00"`,
		`time.hours{thu = "08:00-08:00"}`:          `time.hours: thu: bad range "08:00-08:00": it is empty`,
		`time.hours{fri = 8}`:                      `time.hours: fri: want ranges such as "08:00-12:00,13:00-18:00", got number`,
		`time.hours{mond = "08:00-12:00"}`:         `time.hours: unknown option "mond" (want sun, mon, tue, wed, thu, fri, sat, zone, closed, eve)`,
		`time.hours{"08:00-12:00"}`:                `time.hours: option names are strings`,
		`time.hours("08:00-12:00")`:                `time.hours: want a table of options`,
		`time.hours{zone = "Asia/Jerusalm"}`:       `time.hours: zone: unknown zone "Asia/Jerusalm"`,
		`time.hours{closed = "holidayz"}`:          `time.hours: closed: unknown calendar "holidayz" (known: israel)`,
		`time.hours{closed = {"israel", 3}}`:       `time.hours: closed: want calendar names, got number at 2`,
		`time.hours{closed = {}}`:                  `time.hours: closed: want a calendar name or a list of them`,
		`time.hours{eve = "08:00-13:00"}`:          `time.hours: eve: eve ranges need closed =`,
		`time.hours{}.open()`:                      `hours:open: call it with a colon, as x:open(...)`,
		`time.hours{}:open("now")`:                 `hours:open: t must be a time table (from time.now) or unix seconds, got string`,
		`time.hours{}:next_open({})`:               `hours:next_open: t must be a time table (from time.now) or unix seconds, got a table without unix`,
		`time.hours{}:next_close(0/0)`:             `hours:next_close: t must be unix seconds`,
		`getmetatable(time.hours{}).__index = nil`: `attempt to index a non-table object(string)`,
	} {
		wantError(t, plain(src), want)
	}
}
