package time

import (
	"fmt"
	"slices"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// dayKeys are time.hours' day options, by time.Weekday.
var dayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// hoursKeys lists every option, for messages.
const hoursKeys = "sun, mon, tue, wed, thu, fri, sat, zone, closed, eve"

// hours is time.hours{...}. Everything is checked here, at the script's
// load, so a typo fails ivrouter check instead of a call.
func (e *luaEnv) hours(L *lua.LState) int {
	const fn = "time.hours"
	opts, ok := L.Get(1).(*lua.LTable)
	if !ok {
		L.RaiseError("%s: want a table of options (%s), got %s", fn, hoursKeys, L.Get(1).Type())
	}
	h := &hours{loc: e.m.zone}
	var closed []*calendar
	fail := func(key string, err error) { L.RaiseError("%s: %s: %v", fn, key, err) }
	opts.ForEach(func(k, v lua.LValue) {
		key, ok := k.(lua.LString)
		if !ok {
			L.RaiseError("%s: option names are strings (%s), got %s", fn, hoursKeys, k.Type())
		}
		var err error
		switch name := string(key); name {
		case "zone":
			h.loc, err = zoneOption(v)
		case "closed":
			closed, err = e.closedOption(v)
		case "eve":
			h.eve, err = rangesOption(v)
			h.hasEve = true
		default:
			i := slices.Index(dayKeys[:], name)
			if i < 0 {
				L.RaiseError("%s: unknown option %q (want %s)", fn, name, hoursKeys)
			}
			h.days[i], err = rangesOption(v)
		}
		if err != nil {
			fail(string(key), err)
		}
	})
	if h.hasEve && len(closed) == 0 {
		fail("eve", fmt.Errorf("eve ranges need closed = a calendar that marks eves, such as \"israel\""))
	}
	for _, c := range closed {
		h.cals = append(h.cals, c.in(h.loc))
	}
	L.Push(newObject(L, h, e.hoursMeta))
	return 1
}

func zoneOption(v lua.LValue) (*time.Location, error) {
	s, ok := v.(lua.LString)
	if !ok {
		return nil, fmt.Errorf("want a zone name such as \"Asia/Jerusalem\", got %s", v.Type())
	}
	return loadZone(string(s))
}

// closedOption reads a calendar name or a list of them.
func (e *luaEnv) closedOption(v lua.LValue) ([]*calendar, error) {
	var names []string
	switch v := v.(type) {
	case lua.LString:
		names = []string{string(v)}
	case *lua.LTable:
		n := v.Len()
		count := 0
		v.ForEach(func(lua.LValue, lua.LValue) { count++ })
		if count != n || n == 0 {
			return nil, fmt.Errorf("want a calendar name or a list of them")
		}
		for i := 1; i <= n; i++ {
			s, ok := v.RawGetInt(i).(lua.LString)
			if !ok {
				return nil, fmt.Errorf("want calendar names, got %s at %d", v.RawGetInt(i).Type(), i)
			}
			names = append(names, string(s))
		}
	default:
		return nil, fmt.Errorf("want a calendar name or a list of them, got %s", v.Type())
	}
	cals := make([]*calendar, len(names))
	for i, name := range names {
		c, err := e.lookupCalendar(name)
		if err != nil {
			return nil, err
		}
		cals[i] = c
	}
	return cals, nil
}

func rangesOption(v lua.LValue) ([]span, error) {
	s, ok := v.(lua.LString)
	if !ok {
		return nil, fmt.Errorf("want ranges such as \"08:00-12:00,13:00-18:00\", got %s", v.Type())
	}
	return parseRanges(string(s))
}

// parseRanges reads "08:00-12:00,13:00-18:00". A range whose end is not
// after its start runs into the next day; 24:00 ends one at midnight.
func parseRanges(s string) ([]span, error) {
	var out []span
	for _, part := range strings.Split(s, ",") {
		r := strings.TrimSpace(part)
		a, b, ok := strings.Cut(r, "-")
		from, ok1 := clock(strings.TrimSpace(a), false)
		to, ok2 := clock(strings.TrimSpace(b), true)
		if !ok || !ok1 || !ok2 {
			return nil, fmt.Errorf("bad range %q, want HH:MM-HH:MM", r)
		}
		if from == to {
			return nil, fmt.Errorf("bad range %q: it is empty (all day is 00:00-24:00)", r)
		}
		if to < from {
			to += daySeconds
		}
		out = append(out, span{from, to})
	}
	slices.SortFunc(out, func(a, b span) int { return int(a.from - b.from) })
	return out, nil
}

// clock reads HH:MM as seconds after midnight; 24:00 only as an end.
func clock(s string, end bool) (int64, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, okh := twoDigits(s[:2])
	m, okm := twoDigits(s[3:])
	if !okh || !okm || m > 59 || h > 24 || (h == 24 && (!end || m != 0)) {
		return 0, false
	}
	return int64(h*3600 + m*60), true
}

func twoDigits(s string) (int, bool) {
	if s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}
