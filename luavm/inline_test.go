package luavm_test

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/ivrouter/ivrouter/luavm"
	lua "github.com/yuin/gopher-lua"
)

// where is a Bounded module: where.inline() says whether the call runs on
// its caller's goroutine; where.wait() blocks until released or until the
// call's context is done, as a bounded module must.
func where(entered chan<- struct{}, release <-chan struct{}) luavm.Module {
	return luavm.Module{Name: "where", Bounded: true, Loader: func(L *lua.LState) int {
		t := L.NewTable()
		t.RawSetString("inline", L.NewFunction(func(L *lua.LState) int {
			buf := make([]byte, 64<<10)
			stack := string(buf[:runtime.Stack(buf, false)])
			L.Push(lua.LBool(strings.Contains(stack, "luavm.(*Set).runInline")))
			return 1
		}))
		t.RawSetString("wait", L.NewFunction(func(L *lua.LState) int {
			entered <- struct{}{}
			select {
			case <-release:
			case <-L.Context().Done():
				L.RaiseError("gave up: %v", L.Context().Err())
			}
			return 0
		}))
		L.Push(t)
		return 1
	}}
}

var inlineScripts = map[string]string{
	"where.lua": "local w = require('where')\nreturn function(x) if x == 'boom' then error('boom') end return tostring(w.inline()) end",
	"wait.lua":  "local w = require('where')\nreturn { deadline = 4000, handle = function(x) if x == 'wait' then w.wait() end return 'done' end }",
	"spin.lua":  "return { deadline = 250, handle = function(x) if x == 'spin' then while true do end end return x end }",
	"ok.lua":    "return { deadline = 200, handle = function(x) return x end }",
	"fail.lua":  "return function(x) if x == 'boom' then error('boom') end return x end",
}

// trust calls script name well TrustAfter times, so its next call runs
// inline.
func trust(t *testing.T, e *luavm.Engine, name string) {
	t.Helper()
	for range luavm.TrustAfter {
		mustCall(t, e, name, 0, "")
	}
}

// With Options.Inline and every module Bounded, a call runs on its
// caller's goroutine; one module that is not Bounded keeps the hand-off.
func TestInlineOnlyWhenEveryModuleIsBounded(t *testing.T) {
	never := make(chan struct{})
	e := newEngine(t, inlineScripts, luavm.Options{VMs: 2, Inline: true, Modules: []luavm.Module{where(make(chan struct{}, 1), never)}})
	trust(t, e, "where")
	if got := mustCall(t, e, "where", 0, ""); got != "true" {
		t.Errorf("inline engine: the call ran inline = %s", got)
	}
	unbounded := luavm.Module{Name: "plain", Loader: func(L *lua.LState) int { L.Push(L.NewTable()); return 1 }}
	e = newEngine(t, inlineScripts, luavm.Options{VMs: 2, Inline: true, Modules: []luavm.Module{where(make(chan struct{}, 1), never), unbounded}})
	trust(t, e, "where")
	if got := mustCall(t, e, "where", 0, ""); got != "false" {
		t.Errorf("with a module that is not Bounded: the call ran inline = %s", got)
	}
}

// A script's calls run inline only after TrustAfter calls in a row ended
// well; one that fails, or overruns inline, sends its calls back to a
// goroutine of their own until it has earned it again.
func TestInlineOnceTrusted(t *testing.T) {
	e := newEngine(t, inlineScripts, luavm.Options{VMs: 2, Inline: true, Modules: []luavm.Module{where(make(chan struct{}, 1), make(chan struct{}))}})
	for i := range luavm.TrustAfter {
		if got := mustCall(t, e, "where", 0, ""); got != "false" {
			t.Fatalf("call %d of a new script ran inline", i+1)
		}
	}
	if got := mustCall(t, e, "where", 0, ""); got != "true" {
		t.Fatalf("after %d calls that ended well: ran inline = %s", luavm.TrustAfter, got)
	}
	if _, err := call(t, e, "where", 0, "boom"); err == nil {
		t.Fatal("the failing call did not fail")
	}
	if got := mustCall(t, e, "where", 0, ""); got != "false" {
		t.Errorf("the call after a failure ran inline")
	}
	if st := e.Stats(); st.Detached != luavm.TrustAfter+1 { // the first calls and the one after the failure
		t.Errorf("Stats.Detached = %d, want %d", st.Detached, luavm.TrustAfter+1)
	}

	// A trusted script that spins is stopped by its VM, inline, at its
	// deadline; its next call is handed off again and still answered.
	trust(t, e, "spin")
	if _, err := call(t, e, "spin", 0, "spin"); !errors.Is(err, luavm.ErrTimeout) {
		t.Errorf("spin: %v, want ErrTimeout", err)
	}
	before := e.Stats().Detached
	if got := mustCall(t, e, "spin", 0, "x"); got != "x" {
		t.Errorf("after the overrun: %q", got)
	}
	if e.Stats().Detached != before+1 {
		t.Errorf("the call after an overrun was not handed off")
	}
	// Handed off, a call that spins is answered by its caller at the
	// deadline; its VM is replaced and the pool keeps serving.
	if _, err := call(t, e, "spin", 0, "spin"); !errors.Is(err, luavm.ErrTimeout) {
		t.Errorf("spin, handed off: %v, want ErrTimeout", err)
	}
	for range 3 {
		if got := mustCall(t, e, "ok", 0, "x"); got != "x" {
			t.Fatalf("after the handed-off overrun: %q", got)
		}
	}
}

// Inline, the VM stops itself at the deadline; a failed VM is replaced and
// the pool keeps serving; a call that finds every VM busy gets ErrBusy.
func TestInlineDeadlineFailureAndBusy(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	e := newEngine(t, inlineScripts, luavm.Options{VMs: 1, Inline: true, Modules: []luavm.Module{where(entered, release)}})
	trust(t, e, "spin")
	trust(t, e, "fail")
	if _, err := call(t, e, "spin", 0, "spin"); !errors.Is(err, luavm.ErrTimeout) {
		t.Errorf("spin: %v, want ErrTimeout", err)
	}
	if _, err := call(t, e, "fail", 0, "boom"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("fail: %v", err)
	}
	for i := range 3 { // each replaced VM serves again
		if got := mustCall(t, e, "ok", 0, "x"); got != "x" {
			t.Fatalf("call %d after failures: %q", i, got)
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var waited error
	go func() {
		defer wg.Done()
		_, waited = call(t, e, "wait", 0, "wait")
	}()
	<-entered // the only VM is busy
	if _, err := call(t, e, "ok", 0, "x"); !errors.Is(err, luavm.ErrBusy) {
		t.Errorf("with the only VM busy: %v, want ErrBusy", err)
	}
	close(release)
	wg.Wait()
	if waited != nil {
		t.Errorf("the waiting call: %v", waited)
	}
	if got := mustCall(t, e, "ok", 0, "x"); got != "x" {
		t.Errorf("after the wait: %q", got)
	}
	// Waits counts the busy call, and calls that came while a replaced
	// VM was loading.
	if st := e.Stats(); st.Replaced != 2 || st.Waits < 1 {
		t.Errorf("stats %+v, want 2 VMs replaced and a wait", st)
	}
}

// Engine.Close cuts short a call running inline, or handed off because its
// script is new: the module waiting in it sees the call's context done, and
// the caller gets ErrClosed at once, long before the call's 4 s deadline.
func TestInlineCallsStopAtClose(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		entered := make(chan struct{}, 1)
		e := newEngine(t, inlineScripts, luavm.Options{VMs: 1, Inline: true, Modules: []luavm.Module{where(entered, make(chan struct{}))}})
		if trusted {
			trust(t, e, "wait")
		}
		before := e.Stats().Detached
		done := make(chan error, 1)
		go func() {
			_, err := call(t, e, "wait", 0, "wait")
			done <- err
		}()
		<-entered
		e.Close()
		if err := <-done; !errors.Is(err, luavm.ErrClosed) {
			t.Errorf("a call running at Close (script trusted: %v): %v, want ErrClosed", trusted, err)
		}
		if handedOff := e.Stats().Detached > before; handedOff == trusted {
			t.Errorf("script trusted: %v, call handed off: %v", trusted, handedOff)
		}
	}
}
