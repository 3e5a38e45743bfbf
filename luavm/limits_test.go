package luavm_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
	lua "github.com/yuin/gopher-lua"
)

func TestTypeMetatablesAreLocked(t *testing.T) {
	e := newEngine(t, map[string]string{
		"evil.lua": `return function(x)
  local ok, err = pcall(setmetatable, 0, { __tostring = function() return "13" end })
  if ok then return "set" end
  return err
end`,
		"fine.lua": `return function(x)
  local t = setmetatable({}, { __index = function(_, k) return k .. "!" end })
  return t.hi .. tostring(21)
end`,
	}, luavm.Options{VMs: 1})
	if got := mustCall(t, e, "evil", 0, "a"); !strings.Contains(got, "only a table can take a metatable, got number") {
		t.Errorf("setmetatable(0, ...): %q", got)
	}
	if got := mustCall(t, e, "fine", 0, "a"); got != "hi!21" {
		t.Errorf("a table's metatable: %q", got)
	}
	if _, err := luavm.Build(writeScripts(t, "", map[string]string{
		"top.lua": "setmetatable(true, {})\nreturn function() return 'x' end",
	}), luavm.Options{VMs: 1}); err == nil || !strings.Contains(err.Error(), "top.lua:1:") {
		t.Errorf("at top level: %v", err)
	}
}

// charge is a Go module that asks the call's budget for n bytes.
func charge(L *lua.LState) int {
	t := L.NewTable()
	t.RawSetString("alloc", L.NewFunction(func(L *lua.LState) int {
		if err := luavm.Alloc(L, L.CheckInt(1)); err != nil {
			L.RaiseError("%v", err)
		}
		return 0
	}))
	L.Push(t)
	return 1
}

func TestCallMemoryBudget(t *testing.T) {
	e := newEngine(t, map[string]string{
		"spend.lua": `local m = require("m")
return function(x)
  m.alloc(600 * 1024)
  m.alloc(600 * 1024)
  return "spent"
end`,
	}, luavm.Options{VMs: 1, CallMemory: 1 << 20, Modules: []luavm.Module{{Name: "m", Loader: charge}}})
	_, err := call(t, e, "spend", 0, "a")
	var se *luavm.Error
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "call memory budget spent: over 1 MiB") || !strings.HasSuffix(se.Where, "spend.lua:4") {
		t.Fatalf("two 600 KiB charges in a 1 MiB budget: %v", err)
	}
	// The budget is per call: the next call starts from zero.
	e2 := newEngine(t, map[string]string{
		"once.lua": `local m = require("m")
return function(x) m.alloc(600 * 1024) return "ok" end`,
	}, luavm.Options{VMs: 1, CallMemory: 1 << 20, Modules: []luavm.Module{{Name: "m", Loader: charge}}})
	for i := 0; i < 3; i++ {
		if got := mustCall(t, e2, "once", 0, "a"); got != "ok" {
			t.Fatalf("call %d: %q", i, got)
		}
	}
}

func TestLogIsBoundedPerCall(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	e := newEngine(t, map[string]string{
		"chatty.lua": `return function(x)
  for i = 1, 500 do print("line", i) end
  return "done"
end`,
	}, luavm.Options{VMs: 1, LogLines: 10, LogBytes: 1 << 20, Logger: logger})
	if got := mustCall(t, e, "chatty", 0, "a"); got != "done" {
		t.Fatalf("got %q", got)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 11 {
		t.Fatalf("want 10 lines and one about the rest, got %d:\n%s", len(lines), buf.String())
	}
	last := lines[10]
	for _, want := range []string{"lines dropped", "ivr_unique_id=call-a", "script=chatty", "dropped_lines=490"} {
		if !strings.Contains(last, want) {
			t.Errorf("no %q in %q", want, last)
		}
	}
	// Bytes bound too: one big line is dropped whole.
	buf.Reset()
	e2 := newEngine(t, map[string]string{
		"big.lua": `return function(x) print(string.rep("x", 5000)) print("small") return "done" end`,
	}, luavm.Options{VMs: 1, LogBytes: 1000, Logger: logger})
	mustCall(t, e2, "big", 0, "a")
	if strings.Contains(buf.String(), "xxxxx") || !strings.Contains(buf.String(), "msg=small") || !strings.Contains(buf.String(), "dropped_bytes=5001") {
		t.Errorf("byte budget:\n%s", buf.String())
	}
}

func TestADirectoryWithoutRoutesIsRefused(t *testing.T) {
	dir := writeScripts(t, "", map[string]string{"lib/x.lua": "return {}"})
	if _, err := luavm.Build(dir, luavm.Options{VMs: 1}); err == nil || !strings.Contains(err.Error(), "no route scripts") {
		t.Fatalf("got %v", err)
	}
	e := newEngine(t, map[string]string{"a.lua": "return function(x) return x end"}, luavm.Options{VMs: 1})
	for _, f := range []string{"a.lua"} {
		if err := removeFile(e.Current().Dir(), f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Reload(); err == nil {
		t.Fatal("a reload of an emptied directory succeeded")
	}
	if got := mustCall(t, e, "a", 0, "still"); got != "still" {
		t.Errorf("the old set should keep serving: %q", got)
	}
}

// The pattern functions are ivrouter's own (strlib.go), outside the
// interpreter's accounting: they charge the call themselves.
func TestPatternFunctionsChargeTheCall(t *testing.T) {
	e := newEngine(t, map[string]string{
		"p.lua": `return function(what)
  local s = string.rep("x", 64 * 1024)
  local ok, err = pcall(function()
    if what == "gsub" then return s:gsub("x", string.rep("y", 100)) end
    if what == "expand" then return s:gsub("(x)", "%1%1%1%1%1%1%1%1%1%1%1%1%1%1%1%1") end
    if what == "gmatch" then for _ in s:gmatch("()") do end return end
    if what == "small" then return ("a,b,c"):gsub(",", ";") end
  end)
  if ok then return "ok" end
  return err
end`,
	}, luavm.Options{VMs: 1, CallMemory: 1 << 20})
	for _, what := range []string{"gsub", "expand", "gmatch"} {
		if got := mustCall(t, e, "p", 0, what); !strings.Contains(got, "call memory budget spent") {
			t.Errorf("%s of 64 KiB in a 1 MiB budget: %q", what, got)
		}
	}
	if got := mustCall(t, e, "p", 0, "small"); got != "ok" {
		t.Errorf("a small gsub: %q", got)
	}
}

// Calls beyond their first MiB draw on the shared memory; one that finds
// it taken by another call in flight is refused, while small calls go on.
func TestSharedMemoryBoundsCallsInFlight(t *testing.T) {
	hold := make(chan struct{})
	holding := make(chan struct{})
	mods := []luavm.Module{{Name: "m", Loader: charge}, {Name: "wait", Loader: func(L *lua.LState) int {
		L.Push(L.NewFunction(func(L *lua.LState) int {
			close(holding)
			<-hold
			return 0
		}))
		return 1
	}}}
	e := newEngine(t, map[string]string{
		"big.lua": `local m, wait = require("m"), require("wait")
return function(x)
  if x == "hold" then m.alloc(3 * 1024 * 1024) wait() return "held" end
  local ok, err = pcall(m.alloc, 3 * 1024 * 1024)
  if ok then return "granted" end
  return err
end`,
		"small.lua": `local m = require("m")
return function(x) m.alloc(512 * 1024) return "small" end`,
	}, luavm.Options{VMs: 3, CallMemory: 8 << 20, SharedMemory: 3 << 20, Modules: mods, Deadline: time.Minute})
	held := make(chan string, 1)
	go func() {
		c := &luavmtest.Call{In: "hold", CallID: "call-hold"}
		if _, err := e.Run("big", 0, time.Now(), c); err != nil {
			c.Out = err.Error()
		}
		held <- c.Out
	}()
	<-holding // 3 MiB charged: 1 private, 2 shared
	if got := e.Stats().SharedMemory; got != 2<<20 {
		t.Errorf("shared memory held: %d, want 2 MiB", got)
	}
	if got := mustCall(t, e, "big", 0, "a"); !strings.Contains(got, "shared memory (3 MiB) is in use by other calls") {
		t.Errorf("3 MiB (2 shared) with 1 MiB of the shared memory left: %q", got)
	}
	if got := mustCall(t, e, "small", 0, "a"); got != "small" {
		t.Errorf("a call within its first MiB: %q", got)
	}
	close(hold)
	if got := <-held; got != "held" {
		t.Fatalf("the holding call: %q", got)
	}
	// Its memory is given back when it ends.
	if got := e.Stats().SharedMemory; got != 0 {
		t.Errorf("shared memory held after every call ended: %d", got)
	}
	if got := mustCall(t, e, "big", 0, "a"); got != "granted" {
		t.Errorf("after the holding call ended: %q", got)
	}
}
