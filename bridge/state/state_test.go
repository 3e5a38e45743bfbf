package state_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/bridge/cache"
	"github.com/ivrouter/ivrouter/bridge/state"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
)

type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

func engine(t *testing.T, m *state.Module, files map[string]string) *luavm.Engine {
	t.Helper()
	return luavmtest.Engine(t, files, luavm.Options{VMs: 2, Modules: []luavm.Module{{Name: "state", Loader: m.Loader}}})
}

// retry is the "three wrong IDs, then an agent" script.
const retry = `local state = require("state")
return function(dtmf)
  if dtmf == "12345678" then return "identified" end
  local n = state.incr("bad_ids")
  if n >= 3 then return "agent" end
  return "again:" .. n
end`

func TestStateFollowsOneCallAcrossRequests(t *testing.T) {
	e := engine(t, state.New(state.Options{}), map[string]string{"retry.lua": retry})
	for i, want := range []string{"again:1", "again:2", "agent", "agent"} {
		if got, err := luavmtest.Run(e, "retry", "call-A", "999"); err != nil || got != want {
			t.Errorf("call A, try %d: %q %v, want %q", i+1, got, err, want)
		}
	}
	if got, _ := luavmtest.Run(e, "retry", "call-B", "999"); got != "again:1" {
		t.Errorf("another call starts over: %q", got)
	}
	if got, _ := luavmtest.Run(e, "retry", "call-B", "12345678"); got != "identified" {
		t.Errorf("a right ID: %q", got)
	}
}

func TestGetSetIncr(t *testing.T) {
	e := engine(t, state.New(state.Options{}), map[string]string{"s.lua": `local state = require("state")
		return function(step)
		  if step == "set" then
		    state.set("who", { name = "Dana", layers = { 5, 12 } })
		    state.set("n", 10)
		    return "ok"
		  elseif step == "get" then
		    local who = state.get("who")
		    return who.name .. "," .. who.layers[2] .. "," .. state.incr("n", 5) .. "," .. tostring(state.get("missing"))
		  elseif step == "unset" then
		    state.set("who", nil)
		    return tostring(state.get("who"))
		  elseif step == "incrstring" then
		    state.set("s", "text")
		    state.incr("s")
		  end
		end`})
	for _, tc := range []struct{ step, want string }{{"set", "ok"}, {"get", "Dana,12,15,nil"}, {"unset", "nil"}} {
		if got, err := luavmtest.Run(e, "s", "c", tc.step); err != nil || got != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.step, got, err, tc.want)
		}
	}
	if _, err := luavmtest.Run(e, "s", "c", "incrstring"); err == nil || !strings.Contains(err.Error(), "state.incr: s holds a string, not a number") {
		t.Errorf("incr of a string: %v", err)
	}
}

func TestStateNeedsACall(t *testing.T) {
	m := state.New(state.Options{})
	e := engine(t, m, map[string]string{"noid.lua": `local state = require("state") return function() state.set("k", 1) return "x" end`})
	if _, err := luavmtest.Run(e, "noid", "", ""); err == nil || !strings.Contains(err.Error(), "no IVR_UNIQUE_ID") {
		t.Errorf("a call without an ID: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "top.lua"), []byte(`require("state").set("k", 1) return function() end`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := luavm.NewEngine(dir, luavm.Options{Modules: []luavm.Module{{Name: "state", Loader: m.Loader}}})
	if err == nil || !strings.Contains(err.Error(), "use it inside the handler") {
		t.Errorf("state at load time: %v", err)
	}
}

func TestStateExpiresAfterTTL(t *testing.T) {
	clk := &clock{}
	clk.ns.Store(time.Now().UnixNano())
	e := engine(t, state.New(state.Options{TTL: time.Hour, Now: clk.Now}), map[string]string{"retry.lua": retry})
	luavmtest.Run(e, "retry", "call-A", "999")
	clk.Add(59 * time.Minute)
	if got, _ := luavmtest.Run(e, "retry", "call-A", "999"); got != "again:2" {
		t.Errorf("within the TTL: %q", got)
	}
	clk.Add(61 * time.Minute)
	if got, _ := luavmtest.Run(e, "retry", "call-A", "999"); got != "again:1" {
		t.Errorf("after the TTL: %q", got)
	}
}

// budget is a script that sets or increments a key to what arg says:
// "set k n" stores a string of n bytes, "del k" removes it, "incr k".
const budget = `local state = require("state")
return function(arg)
  local op, k, n = arg:match("^(%w+) (%w+) ?(%d*)$")
  local ok, err
  if op == "set" then ok, err = state.set(k, string.rep("x", tonumber(n)))
  elseif op == "del" then ok, err = state.set(k, nil)
  else ok, err = state.incr(k) end
  return tostring(ok) .. "|" .. tostring(err)
end`

func TestOneCallsStateIsBounded(t *testing.T) {
	m := state.New(state.Options{MaxCallBytes: 1000})
	e := engine(t, m, map[string]string{"b.lua": budget})
	// A call's map counts 48 bytes, each key 48 and its length, a string
	// 16 and its length, a number 8.
	for _, tc := range []struct{ arg, want string }{
		{"set a 600", "true|nil"}, // 48 + 49 + 616 = 713
		{"set b 600", "nil|state too large: 1378 bytes (a call's state up to 1000)"}, // + 665
		{"set b 5000", "nil|state too large: 5778 bytes (a call's state up to 1000)"},
		{"set a 800", "true|nil"}, // 48 + 49 + 816 = 913
		{"incr n", "1|nil"},       // 913 + 57 = 970
		{"incr m", "nil|state too large: 1027 bytes (a call's state up to 1000)"},
		{"incr n", "2|nil"}, // a held number does not grow
		{"del a", "true|nil"},
		{"set b 600", "true|nil"},
	} {
		if got, err := luavmtest.Run(e, "b", "call-A", tc.arg); err != nil || got != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.arg, got, err, tc.want)
		}
	}
	// Another call has its own budget.
	if got, _ := luavmtest.Run(e, "b", "call-B", "set a 800"); got != "true|nil" {
		t.Errorf("another call: %q", got)
	}
}

func TestAllCallsStateIsBounded(t *testing.T) {
	// Each call below holds 48 + 49 + 616 bytes of state, its 6-byte ID and
	// cache.EntryOverhead: 847 bytes; two fit in 2000, not three.
	m := state.New(state.Options{MaxBytes: 2000})
	e := engine(t, m, map[string]string{"b.lua": budget})
	run := func(call, arg string) string {
		got, err := luavmtest.Run(e, "b", call, arg)
		if err != nil {
			t.Fatalf("%s %s: %v", call, arg, err)
		}
		return got
	}
	const each = 48 + 49 + 616 + 6 + cache.EntryOverhead
	for _, call := range []string{"call-A", "call-B"} {
		if got := run(call, "set a 600"); got != "true|nil" {
			t.Errorf("%s: %q", call, got)
		}
	}
	if got := m.Bytes(); got != 2*each {
		t.Errorf("bytes %d, want %d", got, 2*each)
	}
	if got := run("call-C", "set a 600"); got != "nil|state full" {
		t.Errorf("a third call's state: %q", got)
	}
	if got := run("call-C", "incr n"); got != "1|nil" { // 48 + 49 + 8 + 6 + overhead: 239
		t.Errorf("a small state for the third call: %q", got)
	}
	if got := run("call-A", "set a 700"); got != "nil|state full" {
		t.Errorf("a call's state grown past the store's bound: %q", got)
	}
	// Shrinking a call's state gives its bytes back.
	if got := run("call-A", "del a"); got != "true|nil" {
		t.Errorf("del: %q", got)
	}
	if got := run("call-C", "set a 600"); got != "true|nil" {
		t.Errorf("once there is room: %q", got)
	}
}
