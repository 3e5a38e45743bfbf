package time

import (
	"math"
	"strings"
	"time"

	"github.com/ivrouter/ivrouter/luavm"
	lua "github.com/yuin/gopher-lua"
)

// timeTable is t as scripts get it: os.date's fields, plus what the ivr
// module's SAY items and comparisons need.
func timeTable(L *lua.LState, t time.Time) *lua.LTable {
	tb := L.CreateTable(0, 14)
	set := func(k string, v int) { tb.RawSetString(k, lua.LNumber(v)) }
	set("year", t.Year())
	set("month", int(t.Month()))
	set("day", t.Day())
	set("hour", t.Hour())
	set("min", t.Minute())
	set("sec", t.Second())
	set("wday", int(t.Weekday())+1) // 1 = Sunday, as os.date
	set("yday", t.YearDay())
	name, off := t.Zone()
	set("offset", off)
	tb.RawSetString("unix", lua.LNumber(t.Unix()))
	tb.RawSetString("zone", lua.LString(name))
	tb.RawSetString("isdst", lua.LBool(t.IsDST()))
	tb.RawSetString("date", lua.LString(t.Format("2006-01-02")))
	tb.RawSetString("datetime", lua.LString(t.Format("2006-01-02T15:04:05")))
	return tb
}

// instantArg reads an optional t: a time table (its unix field) or unix
// seconds; absent, the call's instant.
func instantArg(L *lua.LState, fn string, n int) time.Time {
	v := L.Get(n)
	if tb, ok := v.(*lua.LTable); ok {
		u, ok := tb.RawGetString("unix").(lua.LNumber)
		if !ok {
			L.RaiseError("%s: t must be a time table (from time.now) or unix seconds, got a table without unix", fn)
		}
		v = u
	}
	switch v := v.(type) {
	case *lua.LNilType:
		return luavm.Now(L)
	case lua.LNumber:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
			L.RaiseError("%s: t must be unix seconds, got %v", fn, f)
		}
		sec := math.Floor(f)
		return time.Unix(int64(sec), int64((f-sec)*1e9))
	default:
		L.RaiseError("%s: t must be a time table (from time.now) or unix seconds, got %s", fn, v.Type())
	}
	return time.Time{}
}

// objectMeta makes the metatable of a kind of object: its methods, a name
// for tostring, and locked, so that no script can change what another
// call's objects do.
func objectMeta(L *lua.LState, kind string, methods map[string]lua.LGFunction) *lua.LTable {
	mt := L.CreateTable(0, 3)
	idx := L.CreateTable(0, len(methods))
	for name, f := range methods {
		idx.RawSetString(name, L.NewFunction(f))
	}
	mt.RawSetString("__index", idx)
	mt.RawSetString("__metatable", lua.LString("locked"))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(kind))
		return 1
	}))
	return mt
}

// self returns the object a method was called on, or raises an error
// that points at the usual mistake, h.open() for h:open().
func self[T any](L *lua.LState, fn string) T {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if v, ok := ud.Value.(T); ok {
			return v
		}
	}
	_, method, _ := strings.Cut(fn, ":")
	L.RaiseError("%s: call it with a colon, as x:%s(...)", fn, method)
	var zero T
	return zero
}

func newObject(L *lua.LState, v any, mt *lua.LTable) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = v
	ud.Metatable = mt
	return ud
}

// calendarObject is what time.calendar returns: a calendar seen from the
// module's zone.
type calendarObject struct {
	v *view
}

// calendar is time.calendar(name).
func (e *luaEnv) calendar(L *lua.LState) int {
	name, ok := L.Get(1).(lua.LString)
	if !ok {
		L.RaiseError("time.calendar: name must be a string, got %s", L.Get(1).Type())
	}
	c, err := e.lookupCalendar(string(name))
	if err != nil {
		L.RaiseError("time.calendar: %v", err)
	}
	L.Push(newObject(L, &calendarObject{v: c.in(e.m.zone)}, e.calMeta))
	return 1
}

func calendarMethods() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"contains": func(L *lua.LState) int {
			const fn = "calendar:contains"
			c := self[*calendarObject](L, fn)
			u := instantArg(L, fn, 2).Unix()
			defer guard(L, fn)
			L.Push(lua.LBool(c.v.closed(u)))
			return 1
		},
		"event": func(L *lua.LState) int {
			const fn = "calendar:event"
			c := self[*calendarObject](L, fn)
			u := instantArg(L, fn, 2).Unix()
			defer guard(L, fn)
			ev, ok := c.v.event(u)
			if !ok {
				L.Push(lua.LNil)
				return 1
			}
			L.Push(lua.LString(ev.summary))
			L.Push(lua.LBool(ev.eve))
			return 2
		},
	}
}

// guard turns a year of a calendar that could not be expanded (a
// *blockError panic from deep in the hours logic) into a Lua error of
// method fn. It is deferred after the arguments are read.
func guard(L *lua.LState, fn string) {
	if p := recover(); p != nil {
		if be, ok := p.(*blockError); ok {
			L.RaiseError("%s: %v", fn, be)
		}
		panic(p)
	}
}

func hoursMethods() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"open": func(L *lua.LState) int {
			const fn = "hours:open"
			h := self[*hours](L, fn)
			u := instantArg(L, fn, 2).Unix()
			defer guard(L, fn)
			L.Push(lua.LBool(h.open(u)))
			return 1
		},
		"next_open":  hoursSearch("hours:next_open", (*hours).nextOpen, "never opens"),
		"next_close": hoursSearch("hours:next_close", (*hours).nextClose, "never closes"),
	}
}

// hoursSearch makes next_open or next_close: the time table of the
// change, in the hours' zone, or nil and why there is none. Answers are
// whole seconds, like the unix field of a time table.
func hoursSearch(fn string, find func(*hours, int64) (int64, bool), never string) lua.LGFunction {
	return func(L *lua.LState) int {
		h := self[*hours](L, fn)
		t := instantArg(L, fn, 2)
		defer guard(L, fn)
		u, ok := find(h, t.Unix())
		if !ok {
			L.Push(lua.LNil)
			L.Push(lua.LString(never))
			return 2
		}
		L.Push(timeTable(L, time.Unix(u, 0).In(h.loc)))
		return 1
	}
}
