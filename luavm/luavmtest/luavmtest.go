// Package luavmtest runs scripts through a real luavm engine in tests: Go
// modules are tested the way scripts use them, with a call, its ID and its
// deadline.
package luavmtest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/luavm"
	lua "github.com/yuin/gopher-lua"
)

// Call passes In to the handler as a string and keeps the string it returns.
type Call struct {
	In     string
	Out    string
	CallID string
}

// Arg implements luavm.Call.
func (c *Call) Arg(L *lua.LState) lua.LValue { return lua.LString(c.In) }

// Result implements luavm.Call.
func (c *Call) Result(L *lua.LState, ret lua.LValue) error {
	if ret.Type() != lua.LTString && ret.Type() != lua.LTNumber {
		return errors.New("handler returned " + ret.Type().String() + ", want a string")
	}
	c.Out = ret.String()
	return nil
}

// ID implements luavm.Call.
func (c *Call) ID() string { return c.CallID }

// Engine writes files (path → source) into a temporary scripts directory
// and loads it with opts.
func Engine(t testing.TB, files map[string]string, opts luavm.Options) *luavm.Engine {
	t.Helper()
	e, err := luavm.NewEngine(Dir(t, "", files), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// Dir writes files (path → source) into dir, or a new temporary directory
// when dir is "", and returns it.
func Dir(t testing.TB, dir string, files map[string]string) string {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	for name, src := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Run calls the named script with in, as the call with ID id, and returns
// what the handler returned.
func Run(e *luavm.Engine, name, id, in string) (string, error) {
	c := &Call{In: in, CallID: id}
	_, err := e.Run(name, 0, time.Now(), c)
	return c.Out, err
}

// Gate is a Go module that misbehaves on purpose. gate.wait() reports on
// entered (unless it is nil) and blocks until block is closed: a CRM call
// that never returns. gate.panic() panics in Go.
func Gate(name string, block, entered chan struct{}) luavm.Module {
	return luavm.Module{Name: name, Loader: func(L *lua.LState) int {
		t := L.NewTable()
		t.RawSetString("wait", L.NewFunction(func(L *lua.LState) int {
			if entered != nil {
				entered <- struct{}{}
			}
			<-block
			return 0
		}))
		t.RawSetString("panic", L.NewFunction(func(L *lua.LState) int { panic("kaboom") }))
		L.Push(t)
		return 1
	}}
}
