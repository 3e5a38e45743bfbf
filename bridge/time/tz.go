package time

//go:generate go run gen_windows_zones.go

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// maxZones bounds the time zones (TZIDs) one file may name: each unknown
// name costs a search of the zone database.
const maxZones = 100

// zoneResolver finds the zones of a file's TZIDs: an IANA name
// (Asia/Jerusalem), a Windows one as Outlook and Exchange write them
// (Israel Standard Time, by CLDR's mapping), or else the rules of the
// file's VTIMEZONE of that TZID.
type zoneResolver struct {
	vtimezones map[string]ical.Component
	known      map[string]zoneResult
}

type zoneResult struct {
	loc *time.Location
	err error
}

func newZoneResolver(ic *ical.Calendar) *zoneResolver {
	z := &zoneResolver{vtimezones: map[string]ical.Component{}, known: map[string]zoneResult{}}
	for _, c := range ic.Children {
		if c.Name != ical.CompTimezone {
			continue
		}
		if p := c.Props.Get(ical.PropTimezoneID); p != nil {
			if _, dup := z.vtimezones[p.Value]; !dup {
				z.vtimezones[p.Value] = *c
			}
		}
	}
	return z
}

func (z *zoneResolver) zone(tzid string) (*time.Location, error) {
	if r, ok := z.known[tzid]; ok {
		return r.loc, r.err
	}
	if len(z.known) >= maxZones {
		return nil, fmt.Errorf("more than %d time zones in the file", maxZones)
	}
	loc, err := z.resolve(tzid)
	z.known[tzid] = zoneResult{loc, err}
	return loc, err
}

func (z *zoneResolver) resolve(tzid string) (*time.Location, error) {
	if loc, ok := ianaZone(tzid); ok {
		return loc, nil
	}
	if name, ok := windowsZones[tzid]; ok {
		return loadZone(name)
	}
	c, ok := z.vtimezones[tzid]
	if !ok {
		return nil, fmt.Errorf("unknown time zone %q: neither an IANA name (Asia/Jerusalem) nor a Windows one (Israel Standard Time), and the file has no VTIMEZONE of that TZID", tzid)
	}
	loc, err := vtimezoneZone(tzid, c)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: neither an IANA name nor a Windows one, and its VTIMEZONE: %w", tzid, err)
	}
	return loc, nil
}

// ianaZone finds an IANA zone by name, or by the end of a path such as
// Mozilla's /mozilla.org/20050126_1/Europe/Berlin. Local, the host's
// zone, is not a name a calendar can mean.
func ianaZone(tzid string) (*time.Location, bool) {
	names := []string{tzid}
	if strings.HasPrefix(tzid, "/") {
		parts := strings.Split(strings.Trim(tzid, "/"), "/")
		for n := 3; n >= 1; n-- {
			if len(parts) >= n {
				names = append(names, strings.Join(parts[len(parts)-n:], "/"))
			}
		}
	}
	for _, name := range names {
		if name == "Local" || !zoneName(name) {
			continue
		}
		if loc, err := loadZone(name); err == nil {
			return loc, true
		}
	}
	return nil, false
}

// zoneName reports whether s can be an IANA name, before the database is
// searched for it.
func zoneName(s string) bool {
	if s == "" || len(s) > 64 || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("/_+-", r)) {
			return false
		}
	}
	return true
}

// observance is a STANDARD or DAYLIGHT part of a VTIMEZONE.
type observance struct {
	dst      bool
	start    time.Time // DTSTART, local time read as UTC
	from, to int       // TZOFFSETFROM, TZOFFSETTO, seconds east of UTC
	rule     *rrule.ROption
	name     string
}

// vtimezoneZone builds a zone from a VTIMEZONE's current rules: its
// latest STANDARD and DAYLIGHT parts. A zone without daylight saving
// time (or whose latest part has no RRULE) is a fixed offset; one with
// it must change on the nth (or last) weekday of a month, as Outlook
// writes them, and becomes a POSIX TZ rule.
func vtimezoneZone(tzid string, c ical.Component) (*time.Location, error) {
	var std, dst *observance
	var latest *observance
	for _, child := range c.Children {
		if child.Name != ical.CompTimezoneStandard && child.Name != ical.CompTimezoneDaylight {
			continue
		}
		o, err := readObservance(child)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", child.Name, err)
		}
		slot := &std
		if o.dst {
			slot = &dst
		}
		if *slot == nil || o.start.After((*slot).start) {
			*slot = o
		}
		if latest == nil || o.start.After(latest.start) {
			latest = o
		}
	}
	switch {
	case latest == nil:
		return nil, errors.New("no STANDARD or DAYLIGHT")
	case std == nil || dst == nil || latest.rule == nil || std.rule == nil || dst.rule == nil:
		return time.FixedZone(tzid, latest.to), nil
	}
	begin, err := posixRule(dst)
	if err != nil {
		return nil, fmt.Errorf("DAYLIGHT: %w", err)
	}
	end, err := posixRule(std)
	if err != nil {
		return nil, fmt.Errorf("STANDARD: %w", err)
	}
	tz := posixName(std) + posixOffset(std.to) + posixName(dst) + posixOffset(dst.to) + "," + begin + "," + end
	loc, err := time.LoadLocationFromTZData(tzid, tzif(tz, std.to))
	if err != nil {
		return nil, fmt.Errorf("rule %q: %w", tz, err)
	}
	return loc, nil
}

func readObservance(c *ical.Component) (*observance, error) {
	o := &observance{dst: c.Name == ical.CompTimezoneDaylight}
	var err error
	p := c.Props.Get(ical.PropDateTimeStart)
	if p == nil {
		return nil, errors.New("no DTSTART")
	}
	if o.start, err = time.Parse("20060102T150405", p.Value); err != nil {
		return nil, fmt.Errorf("DTSTART: %w", err)
	}
	for _, f := range []struct {
		name string
		to   *int
	}{{ical.PropTimezoneOffsetFrom, &o.from}, {ical.PropTimezoneOffsetTo, &o.to}} {
		p := c.Props.Get(f.name)
		if p == nil {
			return nil, fmt.Errorf("no %s", f.name)
		}
		if *f.to, err = utcOffset(p.Value); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if o.rule, err = c.Props.RecurrenceRule(); err != nil {
		return nil, fmt.Errorf("RRULE: %w", err)
	}
	if p := c.Props.Get(ical.PropTimezoneName); p != nil {
		o.name = p.Value
	}
	return o, nil
}

// utcOffset reads +HHMM or +HHMMSS.
func utcOffset(s string) (int, error) {
	bad := fmt.Errorf("bad offset %q, want +HHMM", s)
	if (len(s) != 5 && len(s) != 7) || (s[0] != '+' && s[0] != '-') {
		return 0, bad
	}
	n := 0
	for i := 1; i < len(s); i += 2 {
		v, err := strconv.Atoi(s[i : i+2])
		if err != nil || v < 0 || v > 59 && i > 1 {
			return 0, bad
		}
		n = n*60 + v
	}
	if len(s) == 5 {
		n *= 60
	}
	if n > 18*3600 {
		return 0, bad
	}
	if s[0] == '-' {
		n = -n
	}
	return n, nil
}

// posixRule turns a yearly RRULE of a VTIMEZONE part into the POSIX
// Mm.w.d/time at which it starts: the nth or last weekday of a month,
// written BYDAY=2SU or BYDAY=-1SU, or BYDAY=SU;BYMONTHDAY=8,...,14.
func posixRule(o *observance) (string, error) {
	r := o.rule
	unsupported := fmt.Errorf("unsupported RRULE: want FREQ=YEARLY;BYMONTH=m;BYDAY=nDD (the nth or last weekday of a month)")
	if r.Freq != rrule.YEARLY || r.Interval > 1 || len(r.Bymonth) != 1 || len(r.Byweekday) != 1 || !r.Until.IsZero() || r.Count != 0 ||
		len(r.Byyearday)+len(r.Byweekno)+len(r.Bysetpos)+len(r.Byhour)+len(r.Byminute)+len(r.Bysecond) > 0 {
		return "", unsupported
	}
	wd := r.Byweekday[0]
	n := wd.N()
	switch days := set(r.Bymonthday); {
	case len(days) == 0 && n >= 1 && n <= 5:
	case len(days) == 0 && n == -1:
		n = 5
	case len(days) == 7 && n == 0 && days[6]-days[0] == 6 && days[0] > 0 && (days[0]-1)%7 == 0:
		n = 1 + (days[0]-1)/7
	case len(days) == 7 && n == 0 && days[6] == monthDays[r.Bymonth[0]] && days[6]-days[0] == 6:
		n = 5
	default:
		return "", unsupported
	}
	// rrule-go's weekdays start on Monday; POSIX's on Sunday.
	day := (wd.Day() + 1) % 7
	secs := o.start.Hour()*3600 + o.start.Minute()*60 + o.start.Second()
	return fmt.Sprintf("M%d.%d.%d/%d:%02d:%02d", r.Bymonth[0], n, day, secs/3600, secs/60%60, secs%60), nil
}

// posixName is an observance's abbreviation in a POSIX TZ string: its
// TZNAME when it is plain letters, else its offset, as <+0300>.
func posixName(o *observance) string {
	if n := len(o.name); n >= 3 && n <= 6 && strings.IndexFunc(o.name, func(r rune) bool { return r < 'A' || r > 'Z' && r < 'a' || r > 'z' }) < 0 {
		return o.name
	}
	sign, off := '+', o.to
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("<%c%02d%02d>", sign, off/3600, off/60%60)
}

// posixOffset is an offset as POSIX writes it: hours west of UTC.
func posixOffset(east int) string {
	west := -east
	sign := ""
	if west < 0 {
		sign, west = "-", -west
	}
	return fmt.Sprintf("%s%d:%02d:%02d", sign, west/3600, west/60%60, west%60)
}

// tzif is a zone file (RFC 8536, version 2) with no transitions, only
// the footer rule tz, which time.LoadLocationFromTZData applies to every
// instant.
func tzif(tz string, stdOffset int) []byte {
	var b bytes.Buffer
	section := func() {
		b.WriteString("TZif2")
		b.Write(make([]byte, 15))
		for _, n := range []uint32{0, 0, 0, 0, 1, 4} { // isut, isstd, leap, time, type, char
			binary.Write(&b, binary.BigEndian, n)
		}
		binary.Write(&b, binary.BigEndian, int32(stdOffset))
		b.Write([]byte{0, 0})      // not DST, abbreviation at 0
		b.Write([]byte("STD\x00")) // unused: the footer names the zone
	}
	section() // version 1 data, skipped by readers of version 2
	section()
	b.WriteString("\n" + tz + "\n")
	return slices.Clip(b.Bytes())
}
