package luavm_test

import (
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
)

// BenchmarkRun is the engine's cost per call: handing the call to a VM,
// running a handler that only returns its argument, and handing the answer
// back. Serial is one caller at a time; Parallel has every core calling.
func BenchmarkRun(b *testing.B) {
	files := map[string]string{"layers/5.lua": `return function(x) return x end`}
	b.Run("Serial", func(b *testing.B) {
		e := luavmtest.Engine(b, files, luavm.Options{VMs: 4})
		c := &luavmtest.Call{In: "12345678", CallID: "bench"}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.Run("", 5, time.Now(), c); err != nil {
				b.Fatal(err)
			}
		}
		if c.Out != c.In {
			b.Fatalf("got %q, want %q", c.Out, c.In)
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		e := luavmtest.Engine(b, files, luavm.Options{VMs: 4})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			c := &luavmtest.Call{In: "12345678", CallID: "bench"}
			for pb.Next() {
				if _, err := e.Run("", 5, time.Now(), c); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
