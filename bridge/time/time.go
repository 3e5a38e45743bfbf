// Package time is the "time" Lua module: the call's clock in any zone,
// opening hours that know about daylight saving time, and holiday
// calendars (iCalendar files and a built-in Israeli one), so a script can
// say "we are closed, we open on Sunday at 08:00".
//
// Scripts never see the wall clock: every read during one call is the
// call's instant (luavm.Now), so a handler cannot see 17:59:59 and then
// 18:00:00, and tests freeze it with luavm.Options.Clock.
package time

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // zones must not depend on the host's zoneinfo

	"github.com/ivrouter/ivrouter/luavm"
	lua "github.com/yuin/gopher-lua"
)

// Options configure the module.
type Options struct {
	// Zone is where time.now, time.hours and time.calendar are when a
	// script names no zone; nil means time.Local.
	Zone *time.Location
	// Clock, when set, is read by Load for the year around which the
	// calendars' recurrences are expanded (the load window); nil means
	// time.Now. Give it the clock the calls see (luavm.Options.Clock).
	Clock func() time.Time
}

// Module is the "time" Lua module.
//
//	local time = require("time")
//	local clinic = time.hours{
//	  sun = "08:00-18:00", mon = "08:00-18:00", tue = "08:00-18:00",
//	  wed = "08:00-18:00", thu = "08:00-18:00", fri = "08:00-13:00",
//	  zone = "Asia/Jerusalem", closed = {"israel", "holidays"}, eve = "08:00-13:00",
//	}
//	return function(call)
//	  if clinic:open() then return ivr.go_to_layer(10) end
//	  local at = clinic:next_open()
//	  return ivr.say({ivr.recording("closed.mp3"), ivr.date(at.date), ivr.number(at.hour)}, {next_layer = 20})
//	end
//
// time.now([zone]) returns a time table (year, month, day, hour, min, sec,
// wday, yday, isdst, zone, offset, unix, date, datetime). time.hours{...}
// returns hours with :open([t]), :next_open([t]) and :next_close([t]);
// time.calendar(name) returns a calendar with :contains([t]) and
// :event([t]). t is a time table or unix seconds, the call's instant when
// absent. Calendars are the built-in "israel" and calendars/NAME.ics of
// the scripts directory.
type Module struct {
	zone  *time.Location
	clock func() time.Time
	// known are the calendar names of the directory Load read last, with
	// the built-in ones, sorted: what the literal checks of Signatures
	// accept. Before any Load, the built-in ones.
	known atomic.Pointer[[]string]
}

// New returns the module.
func New(o Options) *Module {
	if o.Zone == nil {
		o.Zone = time.Local
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	m := &Module{zone: o.Zone, clock: o.Clock}
	builtins := sortedNames(withBuiltins(nil))
	m.known.Store(&builtins)
	return m
}

// Load reads and parses dir/calendars/*.ics for one load of the scripts
// directory and returns the loader of that load's VMs, which share the
// parsed calendars read-only. Recurrences are expanded from 1 January of
// the year before the clock's to the end of the third year after it;
// other years are expanded when a query first needs them. A file loaded
// before with the same content and year is not parsed again. Every broken
// file is reported, by file and line.
func (m *Module) Load(dir string) (lua.LGFunction, error) {
	cals, known, err := readCalendars(dir, m.clock().UTC().Year())
	names := sortedNames(withBuiltins(nil))
	for _, n := range known {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	m.known.Store(&names)
	if err != nil {
		return nil, err
	}
	for _, c := range cals {
		c.in(m.zone) // now, rather than in the first call that asks
	}
	return m.loader(withBuiltins(cals)), nil
}

// Loader builds the module table in L with the built-in calendar only, for
// use without a scripts directory; it has the lua.LGFunction shape so it
// can be preloaded or required.
func (m *Module) Loader(L *lua.LState) int {
	return m.loader(withBuiltins(nil))(L)
}

// Signatures describe the module's functions for ivrouter check, with
// checks of literal arguments that run the runtime's own parsers, so that
// time.now("Asia/Jerusalm"), time.calendar("holidayz") and
// time.hours{mon = "8-18"} fail the check with the error the call would
// raise. Calendar names are checked against the directory Load read last.
func (m *Module) Signatures() map[string]luavm.Signature {
	str := []string{"string"}
	option := func(name string, read func(lua.LValue) error) luavm.Option {
		return luavm.Option{Name: name, Types: str, Check: func(v any) error {
			if err := read(luavm.LiteralValue(v)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		}}
	}
	ranges := func(v lua.LValue) error { _, err := rangesOption(v); return err }
	opts := make([]luavm.Option, 0, len(dayKeys)+3)
	for _, d := range dayKeys {
		opts = append(opts, option(d, ranges))
	}
	closed := option("closed", m.checkCalendar("want calendar names"))
	closed.Types = []string{"string", "table"}
	opts = append(opts,
		option("zone", func(v lua.LValue) error { _, err := zoneOption(v); return err }),
		closed,
		option("eve", ranges))
	return map[string]luavm.Signature{
		"now": {Args: []luavm.Arg{{Check: func(v any) error {
			_, err := zoneValue(luavm.LiteralValue(v))
			return err
		}}}},
		"calendar": {Args: []luavm.Arg{{Check: func(v any) error {
			return m.checkCalendar("name must be a string")(luavm.LiteralValue(v))
		}}}},
		"hours": {OptionsArg: 1, Options: opts},
	}
}

// checkCalendar checks a literal calendar name against the known ones;
// notString begins the message for a value of another type.
func (m *Module) checkCalendar(notString string) func(lua.LValue) error {
	return func(v lua.LValue) error {
		s, ok := v.(lua.LString)
		if !ok {
			return fmt.Errorf("%s, got %s", notString, v.Type())
		}
		names := *m.known.Load()
		if slices.Contains(names, string(s)) {
			return nil
		}
		return unknownCalendar(string(s), names)
	}
}

func sortedNames(cals map[string]*calendar) []string {
	names := make([]string, 0, len(cals))
	for n := range cals {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// withBuiltins adds the built-in calendars a file does not override.
func withBuiltins(cals map[string]*calendar) map[string]*calendar {
	out := map[string]*calendar{"israel": israel()}
	for name, c := range cals {
		out[name] = c
	}
	return out
}

// loader makes the loader of VMs that know cals.
func (m *Module) loader(cals map[string]*calendar) lua.LGFunction {
	names := sortedNames(cals)
	return func(L *lua.LState) int {
		env := &luaEnv{m: m, cals: cals, names: names}
		env.hoursMeta = objectMeta(L, "time.hours", hoursMethods())
		env.calMeta = objectMeta(L, "time.calendar", calendarMethods())
		t := L.CreateTable(0, 3)
		t.RawSetString("now", L.NewFunction(env.now))
		t.RawSetString("hours", L.NewFunction(env.hours))
		t.RawSetString("calendar", L.NewFunction(env.calendar))
		L.Push(t)
		return 1
	}
}

// luaEnv is what one VM's module functions share.
type luaEnv struct {
	m         *Module
	cals      map[string]*calendar
	names     []string // of cals, sorted, for messages
	hoursMeta *lua.LTable
	calMeta   *lua.LTable
}

// lookupCalendar finds a calendar by name, or says which there are.
func (e *luaEnv) lookupCalendar(name string) (*calendar, error) {
	if c, ok := e.cals[name]; ok {
		return c, nil
	}
	return nil, unknownCalendar(name, e.names)
}

func unknownCalendar(name string, known []string) error {
	return fmt.Errorf("unknown calendar %q (known: %s)", name, strings.Join(known, ", "))
}

// now is time.now([zone]).
func (e *luaEnv) now(L *lua.LState) int {
	loc, err := zoneValue(L.Get(1))
	if err != nil {
		L.RaiseError("time.now: %v", err)
	}
	if loc == nil {
		loc = e.m.zone
	}
	L.Push(timeTable(L, luavm.Now(L).In(loc)))
	return 1
}

// zoneValue reads time.now's optional zone name: nil, without an error,
// when there is none.
func zoneValue(v lua.LValue) (*time.Location, error) {
	switch v := v.(type) {
	case *lua.LNilType:
		return nil, nil
	case lua.LString:
		return loadZone(string(v))
	}
	return nil, fmt.Errorf("zone must be a string such as \"Asia/Jerusalem\", got %s", v.Type())
}

var zones sync.Map // name → *time.Location: LoadLocation parses tzdata on every call

// loadZone returns the zone of an IANA name.
func loadZone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	if name == "" { // LoadLocation's UTC: never what a script meant
		return nil, fmt.Errorf("unknown zone %q", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown zone %q", name)
	}
	zones.Store(name, loc)
	return loc, nil
}
