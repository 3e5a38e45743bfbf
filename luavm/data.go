package luavm

import (
	"errors"
	"fmt"
	"math"
	"slices"
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
func ToGo(L *lua.LState, v lua.LValue) (any, error) {
	c := converter{L: L}
	return c.toGo(v, 0)
}

// ErrTooLarge is ToGoLimit's error for a value whose size passes the limit.
var ErrTooLarge = errors.New("value too large")

// ToGoLimit is ToGo that also estimates the size of the copy in bytes (see
// SizeOf), counted during the one walk the copy makes. When limit > 0 and
// the size passes it, ToGoLimit stops copying (it keeps walking, only
// counting) and returns nil, the whole value's size and ErrTooLarge; a value
// that is not plain data is still that error, whatever its size.
func ToGoLimit(L *lua.LState, v lua.LValue, limit int) (any, int, error) {
	c := converter{L: L, limit: limit}
	out, err := c.toGo(v, 0)
	switch {
	case err != nil:
		return nil, c.size, err
	case c.over:
		return nil, c.size, ErrTooLarge
	}
	return out, c.size, nil
}

// The size estimate of plain data: what its Go copy holds, roughly. A
// string is its length plus a header, a number, boolean or null a word, a
// table a header plus a slot per item (a list) or per key, with the key's
// length (a map). Estimates, not measures: they are for budgets.
const (
	SizeScalar   = 8  // a number, boolean or null
	SizeString   = 16 // a string's header, plus its length
	SizeTable    = 48 // a list or map's header, plus its entries
	SizeListItem = 16 // each item of a list, plus the item
	SizeMapEntry = 48 // each entry of a map, plus its key's length and the value
)

// SizeOf estimates the size of plain data in bytes, as ToGoLimit counts it.
func SizeOf(v any) int {
	switch v := v.(type) {
	case string:
		return SizeString + len(v)
	case []any:
		n := SizeTable + len(v)*SizeListItem
		for _, e := range v {
			n += SizeOf(e)
		}
		return n
	case map[string]any:
		n := SizeTable
		for k, e := range v {
			n += SizeMapEntry + len(k) + SizeOf(e)
		}
		return n
	}
	return SizeScalar
}

// converter is one ToGo walk: the size so far and whether it passed limit,
// after which nothing more is copied.
type converter struct {
	L     *lua.LState
	limit int
	size  int
	over  bool
}

func (c *converter) add(n int) {
	c.size += n
	if c.limit > 0 && c.size > c.limit {
		c.over = true
	}
}

func (c *converter) toGo(v lua.LValue, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d (does a table contain itself?)", maxDepth)
	}
	switch v := v.(type) {
	case *lua.LNilType:
		c.add(SizeScalar)
		return nil, nil
	case lua.LBool:
		c.add(SizeScalar)
		return bool(v), nil
	case lua.LNumber:
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%v is not a plain number", v)
		}
		c.add(SizeScalar)
		return float64(v), nil
	case lua.LString:
		c.add(SizeString + len(v))
		return string(v), nil
	case *lua.LUserData:
		if IsNull(v) {
			c.add(SizeScalar)
			return nil, nil
		}
	case *lua.LTable:
		return c.tableToGo(v, depth)
	}
	return nil, fmt.Errorf("a %s is not plain data", v.Type())
}

func (c *converter) tableToGo(t *lua.LTable, depth int) (any, error) {
	L := c.L
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
		c.add(SizeTable + n*SizeListItem)
		var out []any
		if !c.over {
			out = make([]any, n)
		}
		for i := 1; i <= n; i++ {
			v, err := c.toGo(t.RawGetInt(i), depth+1)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			if !c.over {
				out[i-1] = v
			}
		}
		if c.over {
			return nil, nil
		}
		return out, nil
	}
	if listKeys > 0 && listKeys < count {
		return nil, errors.New("a table mixes list items and named keys")
	}
	c.add(SizeTable)
	var out map[string]any
	if !c.over {
		out = make(map[string]any, count)
	}
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
		c.add(SizeMapEntry + len(key))
		var gv any
		if gv, err = c.toGo(v, depth+1); err != nil {
			err = fmt.Errorf("%s: %w", key, err)
			return
		}
		if !c.over {
			out[key] = gv
		}
	})
	if c.over {
		return nil, err
	}
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
		var buf [16]string // a record's keys, sorted without allocating
		keys := sortedKeys(v, buf[:0])
		for _, k := range keys {
			t.RawSetString(k, elem(L, v[k]))
		}
		return t
	}
	return lua.LString(fmt.Sprint(v))
}

// sortedKeys appends m's keys to keys, sorted: a record's fields go into
// its Lua table in the same order every time.
func sortedKeys(m map[string]any, keys []string) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func elem(L *lua.LState, v any) lua.LValue {
	if v == nil {
		return Null(L)
	}
	return ToLua(L, v)
}

// Prepared is plain data made ready to copy into VMs again and again (a
// cached CRM record, read on every call): map keys sorted, and keys,
// strings and numbers boxed as Lua values once, so each copy allocates only
// its tables. Boxed scalars are immutable, so a Prepared is shared by every
// VM; each still gets tables of its own, which its script may change.
type Prepared struct {
	val   lua.LValue // a scalar; nil for a list, a record or null
	null  bool       // nil inside a list or map: Null(L)
	list  bool       // items are a list's, else a record's values under keys
	keys  []lua.LValue
	items []*Prepared
	size  int
}

// Prepare makes v (plain data, as ToGo returns) ready for Lua.
func Prepare(v any) *Prepared {
	switch v := v.(type) {
	case []any:
		p := &Prepared{list: true, items: make([]*Prepared, len(v)), size: preparedNode + 8*len(v)}
		for i, e := range v {
			p.items[i] = prepareElem(e)
			p.size += p.items[i].size
		}
		return p
	case map[string]any:
		keys := sortedKeys(v, make([]string, 0, len(v)))
		p := &Prepared{keys: make([]lua.LValue, len(keys)), items: make([]*Prepared, len(keys)), size: preparedNode + preparedKey*len(keys)}
		for i, k := range keys {
			p.keys[i] = lua.LString(k)
			p.items[i] = prepareElem(v[k])
			p.size += p.items[i].size
		}
		return p
	}
	return &Prepared{val: ToLua(nil, v), size: preparedNode + 16}
}

// What a Prepared holds, in bytes (go1.26, amd64): each node is a Prepared
// (80), a scalar adds its boxed value (a string's header or a number, 16 at
// most), a list 8 per item, a record 40 per key (its boxed key, its slot in
// keys and in items). The strings themselves are the data's.
const (
	preparedNode = 80
	preparedKey  = 40
)

func prepareElem(v any) *Prepared {
	if v == nil {
		return &Prepared{null: true, size: preparedNode}
	}
	return Prepare(v)
}

// Size estimates the bytes p holds besides the strings it shares with the
// data it was prepared from.
func (p *Prepared) Size() int { return p.size }

// Lua copies p into L, as ToLua copies the data p was prepared from.
func (p *Prepared) Lua(L *lua.LState) lua.LValue {
	switch {
	case p.val != nil:
		return p.val
	case p.null:
		return Null(L)
	case p.list:
		t := L.CreateTable(len(p.items), 0)
		for _, e := range p.items {
			t.Append(e.Lua(L))
		}
		return Array(L, t)
	}
	t := L.CreateTable(0, len(p.keys))
	for i, k := range p.keys {
		t.RawSetH(k, p.items[i].Lua(L))
	}
	return t
}
