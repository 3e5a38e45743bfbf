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
	"where.lua": "local w = require('where')\nreturn function() return tostring(w.inline()) end",
	"wait.lua":  "local w = require('where')\nreturn { deadline = 4000, handle = function() w.wait() return 'done' end }",
	"spin.lua":  "return { deadline = 50, handle = function() while true do end end }",
	"ok.lua":    "return { deadline = 200, handle = function(x) return x end }",
	"fail.lua":  "return function() error('boom') end",
}

// With Options.Inline and every module Bounded, a call runs on its
// caller's goroutine; one module that is not Bounded keeps the hand-off.
func TestInlineOnlyWhenEveryModuleIsBounded(t *testing.T) {
	never := make(chan struct{})
	e := newEngine(t, inlineScripts, luavm.Options{VMs: 2, Inline: true, Modules: []luavm.Module{where(make(chan struct{}, 1), never)}})
	if got := mustCall(t, e, "where", 0, ""); got != "true" {
		t.Errorf("inline engine: the call ran inline = %s", got)
	}
	unbounded := luavm.Module{Name: "plain", Loader: func(L *lua.LState) int { L.Push(L.NewTable()); return 1 }}
	e = newEngine(t, inlineScripts, luavm.Options{VMs: 2, Inline: true, Modules: []luavm.Module{where(make(chan struct{}, 1), never), unbounded}})
	if got := mustCall(t, e, "where", 0, ""); got != "false" {
		t.Errorf("with a module that is not Bounded: the call ran inline = %s", got)
	}
}

// Inline, the VM stops itself at the deadline; a failed VM is replaced and
// the pool keeps serving; a call that finds every VM busy gets ErrBusy.
func TestInlineDeadlineFailureAndBusy(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	e := newEngine(t, inlineScripts, luavm.Options{VMs: 1, Inline: true, Modules: []luavm.Module{where(entered, release)}})
	if _, err := call(t, e, "spin", 0, ""); !errors.Is(err, luavm.ErrTimeout) {
		t.Errorf("spin: %v, want ErrTimeout", err)
	}
	if _, err := call(t, e, "fail", 0, ""); err == nil || !strings.Contains(err.Error(), "boom") {
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
		_, waited = call(t, e, "wait", 0, "")
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

// Engine.Close cuts short a call running inline: the module waiting in it
// sees the call's context done, and the caller gets ErrClosed at once,
// long before the call's 4 s deadline.
func TestInlineCallsStopAtClose(t *testing.T) {
	entered := make(chan struct{}, 1)
	e := newEngine(t, inlineScripts, luavm.Options{VMs: 1, Inline: true, Modules: []luavm.Module{where(entered, make(chan struct{}))}})
	done := make(chan error, 1)
	go func() {
		_, err := call(t, e, "wait", 0, "")
		done <- err
	}()
	<-entered
	e.Close()
	if err := <-done; !errors.Is(err, luavm.ErrClosed) {
		t.Errorf("a call running at Close: %v, want ErrClosed", err)
	}
}
