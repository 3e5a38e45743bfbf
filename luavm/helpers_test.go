package luavm

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// strCall passes a string to the handler and expects a string back.
type strCall struct{ in, out string }

func (c *strCall) Arg(L *lua.LState) lua.LValue { return lua.LString(c.in) }

func (c *strCall) Result(L *lua.LState, ret lua.LValue) error {
	s, ok := ret.(lua.LString)
	if !ok {
		return errors.New("handler returned " + ret.Type().String() + ", want a string")
	}
	c.out = string(s)
	return nil
}

func (c *strCall) ID() string { return "call-" + c.in }

// writeScripts lays out a scripts directory from path → source.
func writeScripts(t testing.TB, dir string, files map[string]string) string {
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

func newEngine(t testing.TB, files map[string]string, opts Options) *Engine {
	t.Helper()
	e, err := NewEngine(writeScripts(t, "", files), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// call runs the route and returns the handler's string.
func call(t testing.TB, e *Engine, name string, layer int, in string) (string, error) {
	t.Helper()
	c := &strCall{in: in}
	_, err := e.Run(name, layer, time.Now(), c)
	return c.out, err
}

func mustCall(t testing.TB, e *Engine, name string, layer int, in string) string {
	t.Helper()
	out, err := call(t, e, name, layer, in)
	if err != nil {
		t.Fatalf("%s/%d: %v", name, layer, err)
	}
	return out
}
