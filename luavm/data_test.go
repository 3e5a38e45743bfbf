package luavm_test

import (
	"math"
	"reflect"
	"runtime"
	"testing"

	"github.com/ivrouter/ivrouter/luavm"
	lua "github.com/yuin/gopher-lua"
)

// A Prepared value copies into a VM as ToLua copies the data: the same
// values, keys in the same order, lists marked, nulls as Null; and every
// copy is the VM's own, so a script changing one changes no other.
func TestPreparedCopiesAsToLua(t *testing.T) {
	v := map[string]any{"name": "Dana Levi", "layer": 21.0, "vip": true, "none": nil,
		"rep": map[string]any{"name": "John Doe", "layer": 7.0}, "tags": []any{"a", nil, 2.0}}
	L := lua.NewState()
	defer L.Close()
	p := luavm.Prepare(v)
	prepared, plain := p.Lua(L).(*lua.LTable), luavm.ToLua(L, v).(*lua.LTable)
	for name, got := range map[string]*lua.LTable{"Prepared": prepared, "ToLua": plain} {
		back, err := luavm.ToGo(L, got)
		if err != nil || !reflect.DeepEqual(back, v) {
			t.Errorf("%s: back to Go %#v, %v; want %#v", name, back, err, v)
		}
		if !luavm.IsArray(L, got.RawGetString("tags").(*lua.LTable)) {
			t.Errorf("%s: the list is not marked as an array", name)
		}
		if got.RawGetString("none") != luavm.Null(L) {
			t.Errorf("%s: nil is %v, want Null", name, got.RawGetString("none"))
		}
	}
	if a, b := keys(prepared), keys(plain); !reflect.DeepEqual(a, b) {
		t.Errorf("pairs order %v, ToLua's %v", a, b)
	}

	prepared.RawSetString("name", lua.LString("changed"))
	prepared.RawGetString("rep").(*lua.LTable).RawSetString("layer", lua.LNumber(0))
	prepared.RawGetString("tags").(*lua.LTable).Append(lua.LString("more"))
	if back, _ := luavm.ToGo(L, p.Lua(L)); !reflect.DeepEqual(back, v) {
		t.Errorf("a copy after another was changed: %#v", back)
	}

	for _, scalar := range []any{nil, "x", 2.5, false} {
		if got, want := luavm.Prepare(scalar).Lua(L), luavm.ToLua(L, scalar); got != want {
			t.Errorf("Prepare(%#v): %v, want %v", scalar, got, want)
		}
	}
}

func keys(t *lua.LTable) []string {
	var out []string
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		out = append(out, k.String())
	}
	return out
}

// Prepared.Size is at least what preparing allocates, so the cache's byte
// budget holds.
func TestPreparedSize(t *testing.T) {
	records := make([]any, 1000)
	for i := range records {
		records[i] = map[string]any{"name": "x", "layer": float64(i), "tags": []any{"a", nil}}
	}
	// The least of five tries: other tests' goroutines only add to the count.
	allocated, size := math.MaxInt, 0
	for range 5 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		p := luavm.Prepare(records)
		runtime.ReadMemStats(&after)
		allocated, size = min(allocated, int(after.TotalAlloc-before.TotalAlloc)), p.Size()
	}
	if size < allocated*9/10 {
		t.Errorf("Size %d, but preparing allocated %d bytes", size, allocated)
	}
}
