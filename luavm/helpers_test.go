package luavm_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
)

func writeScripts(t testing.TB, dir string, files map[string]string) string {
	t.Helper()
	return luavmtest.Dir(t, dir, files)
}

func newEngine(t testing.TB, files map[string]string, opts luavm.Options) *luavm.Engine {
	t.Helper()
	return luavmtest.Engine(t, files, opts)
}

// call runs the route and returns the handler's string.
func call(t testing.TB, e *luavm.Engine, name string, layer int, in string) (string, error) {
	t.Helper()
	c := &luavmtest.Call{In: in, CallID: "call-" + in}
	_, err := e.Run(name, layer, time.Now(), c)
	return c.Out, err
}

func mustCall(t testing.TB, e *luavm.Engine, name string, layer int, in string) string {
	t.Helper()
	out, err := call(t, e, name, layer, in)
	if err != nil {
		t.Fatalf("%s/%d: %v", name, layer, err)
	}
	return out
}

func removeFile(dir, name string) error { return os.Remove(filepath.Join(dir, name)) }
