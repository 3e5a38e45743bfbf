package luavm

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// Plain data is what may leave a VM: to JSON, to a cache shared by all VMs,
// to per-call state. In Go it is nil, bool, float64, string, []any and
// map[string]any; in Lua the same, with two markers Go modules share:
//
//   - Null(L), a value standing for JSON null inside tables (Lua's nil
//     cannot be a table value);
//   - tables marked with Array(L, t), so an empty list stays a list.
//
// Converting always copies, so no Lua table is shared between VMs.

// maxDepth bounds nesting, which also catches tables that contain themselves.
const maxDepth = 64

var nullMarker = &struct{ name string }{"null"}

const (
	regNull    = "ivrouter.null"
	regArrayMT = "ivrouter.arraymt"
)

// Null returns L's null value: a userdata that reads as JSON null.
func Null(L *lua.LState) lua.LValue {
	reg := L.G.Registry
	if v := reg.RawGetString(regNull); v != lua.LNil {
		return v
	}
	ud := L.NewUserData()
	ud.Value = nullMarker
	mt := L.CreateTable(0, 2)
	mt.RawSetString("__metatable", lua.LString("null"))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("null"))
		return 1
	}))
	ud.Metatable = mt
	reg.RawSetString(regNull, ud)
	return ud
}

// IsNull reports whether v is a VM's null value.
func IsNull(v lua.LValue) bool {
	ud, ok := v.(*lua.LUserData)
	return ok && ud.Value == nullMarker
}

func arrayMT(L *lua.LState) *lua.LTable {
	reg := L.G.Registry
	if mt, ok := reg.RawGetString(regArrayMT).(*lua.LTable); ok {
		return mt
	}
	mt := L.CreateTable(0, 2)
	mt.RawSetString("__name", lua.LString("array"))
	mt.RawSetString("__metatable", lua.LString("array")) // shared by the VM's calls
	reg.RawSetString(regArrayMT, mt)
	return mt
}

// Array marks t as a list and returns it.
func Array(L *lua.LState, t *lua.LTable) *lua.LTable {
	t.Metatable = arrayMT(L)
	return t
}

// IsArray reports whether t was marked with Array.
func IsArray(L *lua.LState, t *lua.LTable) bool {
	return t.Metatable != lua.LNil && t.Metatable == L.G.Registry.RawGetString(regArrayMT)
}

// ToGo copies a Lua value out as plain data. Functions, userdata other than
// Null, tables mixing list and named keys, non-finite numbers and nesting
// deeper than 64 are errors.
func ToGo(L *lua.LState, v lua.LValue) (any, error) { return toGo(L, v, 0) }

func toGo(L *lua.LState, v lua.LValue, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d (does a table contain itself?)", maxDepth)
	}
	switch v := v.(type) {
	case *lua.LNilType:
		return nil, nil
	case lua.LBool:
		return bool(v), nil
	case lua.LNumber:
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%v is not a plain number", v)
		}
		return float64(v), nil
	case lua.LString:
		return string(v), nil
	case *lua.LUserData:
		if IsNull(v) {
			return nil, nil
		}
	case *lua.LTable:
		return tableToGo(L, v, depth)
	}
	return nil, fmt.Errorf("a %s is not plain data", v.Type())
}

func tableToGo(L *lua.LState, t *lua.LTable, depth int) (any, error) {
	n := t.Len()
	count, listKeys := 0, 0
	t.ForEach(func(k, _ lua.LValue) {
		count++
		if f, ok := k.(lua.LNumber); ok && f >= 1 && float64(f) <= float64(n) && float64(f) == float64(int(f)) {
			listKeys++
		}
	})
	if IsArray(L, t) || (n > 0 && listKeys == n && n == count) {
		if listKeys != count || listKeys != n {
			return nil, fmt.Errorf("a list has keys other than 1..%d (use json.null for a missing item)", n)
		}
		out := make([]any, n)
		for i := 1; i <= n; i++ {
			v, err := toGo(L, t.RawGetInt(i), depth+1)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i-1] = v
		}
		return out, nil
	}
	if listKeys > 0 && listKeys < count {
		return nil, errors.New("a table mixes list items and named keys")
	}
	out := make(map[string]any, count)
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		var key string
		switch k := k.(type) {
		case lua.LString:
			key = string(k)
		case lua.LNumber:
			key = strconv.FormatFloat(float64(k), 'f', -1, 64)
		default:
			err = fmt.Errorf("a %s key is not plain data", k.Type())
			return
		}
		var gv any
		if gv, err = toGo(L, v, depth+1); err != nil {
			err = fmt.Errorf("%s: %w", key, err)
			return
		}
		out[key] = gv
	})
	return out, err
}

// ToLua copies plain data into L: nil inside lists and maps becomes Null(L),
// lists are marked with Array.
func ToLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []any:
		t := L.CreateTable(len(v), 0)
		for _, e := range v {
			t.Append(elem(L, e))
		}
		return Array(L, t)
	case map[string]any:
		t := L.CreateTable(0, len(v))
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys) // the same insertion order every time
		for _, k := range keys {
			t.RawSetString(k, elem(L, v[k]))
		}
		return t
	}
	return lua.LString(fmt.Sprint(v))
}

func elem(L *lua.LState, v any) lua.LValue {
	if v == nil {
		return Null(L)
	}
	return ToLua(L, v)
}
