package lua

const defaultArrayCap = 4 // ivrouter: upstream 32 (512 bytes for a table of one item); append grows it

type lValueArraySorter struct {
	L      *LState
	Fn     *LFunction
	Values []LValue
}

func (lv lValueArraySorter) Len() int {
	return len(lv.Values)
}

func (lv lValueArraySorter) Swap(i, j int) {
	lv.Values[i], lv.Values[j] = lv.Values[j], lv.Values[i]
}

func (lv lValueArraySorter) Less(i, j int) bool {
	if lv.Fn != nil {
		lv.L.Push(lv.Fn)
		lv.L.Push(lv.Values[i])
		lv.L.Push(lv.Values[j])
		lv.L.Call(2, 1)
		return LVAsBool(lv.L.reg.Pop())
	}
	return lessThan(lv.L, lv.Values[i], lv.Values[j])
}

func newLTable(acap int, hcap int) *LTable {
	if acap < 0 {
		acap = 0
	}
	if hcap < 0 {
		hcap = 0
	}
	tb := &LTable{}
	tb.Metatable = LNil
	if acap != 0 {
		tb.array = make([]LValue, 0, acap)
	}
	switch {
	case hcap > smallKeys:
		tb.strdict = make(map[string]LValue, hcap)
		tb.keys = make([]LValue, 0, hcap) // ivrouter: sized with strdict, so the keys do not regrow it
	case hcap > 0:
		tb.makeSmall(hcap) // ivrouter: a constructor's few fields need no map
	}
	return tb
}

// ivrouter: a small table (small reports it) keeps up to smallKeys string
// keys in keys and their values in svals, found by scanning, and makes no
// map: most tables a script builds (options, records, a call's fields) are
// a few fields, for which a map costs more to make than to search.
// Its first key of another type, or its smallKeys+1st string key, moves it
// to strdict and dict (grow). A key set to nil keeps its place, as in
// strdict.

// small reports whether tb keeps its string keys in keys and svals.
func (tb *LTable) small() bool { return tb.strdict == nil && tb.dict == nil }

// makeSmall makes keys and svals with room for n, in one allocation.
func (tb *LTable) makeSmall(n int) {
	both := make([]LValue, 2*n)
	tb.keys, tb.svals = both[:0:n], both[n:n:2*n]
}

// smallIndex is key's place in a small table's keys, or -1.
func (tb *LTable) smallIndex(key string) int {
	for i, k := range tb.keys {
		if s, ok := k.(LString); ok && string(s) == key {
			return i
		}
	}
	return -1
}

// grow moves a small table's string keys to strdict.
func (tb *LTable) grow() {
	tb.strdict = make(map[string]LValue, 2*smallKeys)
	for i, k := range tb.keys {
		tb.strdict[string(k.(LString))] = tb.svals[i]
	}
	tb.svals = nil
}

// Len returns length of this LTable without using __len.
func (tb *LTable) Len() int {
	if tb.array == nil {
		return 0
	}
	var prev LValue = LNil
	for i := len(tb.array) - 1; i >= 0; i-- {
		v := tb.array[i]
		if prev == LNil && v != LNil {
			return i + 1
		}
		prev = v
	}
	return 0
}

// Append appends a given LValue to this LTable.
func (tb *LTable) Append(value LValue) {
	if value == LNil {
		return
	}
	if tb.array == nil {
		tb.array = make([]LValue, 0, defaultArrayCap)
	}
	if len(tb.array) == 0 || tb.array[len(tb.array)-1] != LNil {
		tb.array = append(tb.array, value)
	} else {
		i := len(tb.array) - 2
		for ; i >= 0; i-- {
			if tb.array[i] != LNil {
				break
			}
		}
		tb.array[i+1] = value
	}
}

// Insert inserts a given LValue at position `i` in this table.
func (tb *LTable) Insert(i int, value LValue) {
	if tb.array == nil {
		tb.array = make([]LValue, 0, defaultArrayCap)
	}
	if i > len(tb.array) {
		tb.RawSetInt(i, value)
		return
	}
	if i <= 0 {
		tb.RawSet(LNumber(i), value)
		return
	}
	i -= 1
	tb.array = append(tb.array, LNil)
	copy(tb.array[i+1:], tb.array[i:])
	tb.array[i] = value
}

// MaxN returns a maximum number key that nil value does not exist before it.
func (tb *LTable) MaxN() int {
	if tb.array == nil {
		return 0
	}
	for i := len(tb.array) - 1; i >= 0; i-- {
		if tb.array[i] != LNil {
			return i + 1
		}
	}
	return 0
}

// Remove removes from this table the element at a given position.
func (tb *LTable) Remove(pos int) LValue {
	if tb.array == nil {
		return LNil
	}
	larray := len(tb.array)
	if larray == 0 {
		return LNil
	}
	i := pos - 1
	oldval := LNil
	switch {
	case i >= larray:
		// nothing to do
	case i == larray-1 || i < 0:
		oldval = tb.array[larray-1]
		tb.array = tb.array[:larray-1]
	default:
		oldval = tb.array[i]
		copy(tb.array[i:], tb.array[i+1:])
		tb.array[larray-1] = nil
		tb.array = tb.array[:larray-1]
	}
	return oldval
}

// RawSet sets a given LValue to a given index without the __newindex metamethod.
// It is recommended to use `RawSetString` or `RawSetInt` for performance
// if you already know the given LValue is a string or number.
func (tb *LTable) RawSet(key LValue, value LValue) {
	switch v := key.(type) {
	case LNumber:
		if isArrayKey(v) {
			if tb.array == nil {
				tb.array = make([]LValue, 0, defaultArrayCap)
			}
			index := int(v) - 1
			alen := len(tb.array)
			switch {
			case index == alen:
				tb.array = append(tb.array, value)
			case index > alen:
				for i := 0; i < (index - alen); i++ {
					tb.array = append(tb.array, LNil)
				}
				tb.array = append(tb.array, value)
			case index < alen:
				tb.array[index] = value
			}
			return
		}
	case LString:
		tb.rawSetString(string(v), key, value)
		return
	}

	tb.RawSetH(key, value)
}

// RawSetInt sets a given LValue at a position `key` without the __newindex metamethod.
func (tb *LTable) RawSetInt(key int, value LValue) {
	if key < 1 || key >= MaxArrayIndex {
		tb.RawSetH(LNumber(key), value)
		return
	}
	if tb.array == nil {
		tb.array = make([]LValue, 0, defaultArrayCap)
	}
	index := key - 1
	alen := len(tb.array)
	switch {
	case index == alen:
		tb.array = append(tb.array, value)
	case index > alen:
		for i := 0; i < (index - alen); i++ {
			tb.array = append(tb.array, LNil)
		}
		tb.array = append(tb.array, value)
	case index < alen:
		tb.array[index] = value
	}
}

// RawSetString sets a given LValue to a given string index without the __newindex metamethod.
func (tb *LTable) RawSetString(key string, value LValue) {
	tb.rawSetString(key, nil, value)
}

// rawSetString is RawSetString with key already boxed, when the caller has
// it (RawSet, RawSetH: the VM's constants, a prepared record's keys), so a
// new key is not boxed again. ivrouter: upstream boxed every new key.
func (tb *LTable) rawSetString(key string, boxed LValue, value LValue) {
	// ivrouter: a small table scans keys and svals; past smallKeys keys it
	// moves to strdict, made without a size hint. A key set to nil stays in
	// either as a tombstone, so no k2i lookup is needed to tell a new key.
	if tb.small() {
		if i := tb.smallIndex(key); i >= 0 {
			tb.svals[i] = value
			return
		}
		if value == LNil {
			return
		}
		if len(tb.keys) < smallKeys {
			if tb.keys == nil {
				tb.makeSmall(4)
			}
			tb.keys = append(tb.keys, boxedKey(key, boxed))
			tb.svals = append(tb.svals, value)
			return
		}
		tb.grow() // its smallKeys+1st string key
	}
	if tb.strdict == nil {
		if value == LNil {
			return
		}
		tb.strdict = make(map[string]LValue)
	}
	if setKept(tb.strdict, key, value) {
		tb.addKey(boxedKey(key, boxed))
	}
}

// boxedKey is a new key as keys holds it: boxed by the caller, else now.
func boxedKey(key string, boxed LValue) LValue {
	if boxed != nil {
		return boxed
	}
	return LString(key)
}

// setKept sets key in m, a map whose keys set to nil stay as tombstones,
// and reports whether key is new to it. ivrouter.
func setKept[K comparable](m map[K]LValue, key K, value LValue) bool {
	if _, ok := m[key]; ok {
		m[key] = value
		return false
	}
	if value == LNil {
		return false
	}
	m[key] = value
	return true
}

// RawSetH sets a given LValue to a given index without the __newindex metamethod.
func (tb *LTable) RawSetH(key LValue, value LValue) {
	if s, ok := key.(LString); ok {
		tb.rawSetString(string(s), key, value)
		return
	}
	// ivrouter: as RawSetString, tombstones instead of delete.
	if tb.dict == nil {
		if value == LNil {
			return
		}
		if tb.small() { // keys will hold other keys: svals no longer lines up
			if len(tb.keys) > 0 {
				tb.grow()
			}
			tb.svals = nil
		}
		tb.dict = make(map[LValue]LValue)
	}
	if setKept(tb.dict, key, value) {
		tb.addKey(key)
	}
}

// addKey records a new hash key's place in the order Next visits keys.
// ivrouter: keys starts small, and k2i is kept up to date only once built.
func (tb *LTable) addKey(key LValue) {
	if tb.keys == nil {
		tb.keys = make([]LValue, 0, 4)
	}
	if tb.k2i != nil {
		tb.k2i[key] = len(tb.keys)
	}
	tb.keys = append(tb.keys, key)
}

// keyIndex is key's place in keys, 0 if it is not there (as upstream's
// k2i[key]). ivrouter: a few keys are scanned; past smallKeys, k2i is built
// once and kept from then on.
func (tb *LTable) keyIndex(key LValue) int {
	if tb.k2i == nil {
		if len(tb.keys) <= smallKeys {
			for i, k := range tb.keys {
				if k == key {
					return i
				}
			}
			return 0
		}
		tb.k2i = make(map[LValue]int, len(tb.keys))
		for i, k := range tb.keys {
			tb.k2i[k] = i
		}
	}
	return tb.k2i[key]
}

// smallKeys is how many hash keys Next finds by scanning keys rather than
// through k2i.
const smallKeys = 8

// RawGet returns an LValue associated with a given key without __index metamethod.
func (tb *LTable) RawGet(key LValue) LValue {
	switch v := key.(type) {
	case LNumber:
		if isArrayKey(v) {
			if tb.array == nil {
				return LNil
			}
			index := int(v) - 1
			if index >= len(tb.array) {
				return LNil
			}
			return tb.array[index]
		}
	case LString:
		return tb.RawGetString(string(v))
	}
	if tb.dict == nil {
		return LNil
	}
	if v, ok := tb.dict[key]; ok {
		return v
	}
	return LNil
}

// RawGetInt returns an LValue at position `key` without __index metamethod.
func (tb *LTable) RawGetInt(key int) LValue {
	if tb.array == nil {
		return LNil
	}
	index := int(key) - 1
	if index >= len(tb.array) || index < 0 {
		return LNil
	}
	return tb.array[index]
}

// RawGet returns an LValue associated with a given key without __index metamethod.
func (tb *LTable) RawGetH(key LValue) LValue {
	if s, sok := key.(LString); sok {
		return tb.RawGetString(string(s))
	}
	if tb.dict == nil {
		return LNil
	}
	if v, ok := tb.dict[key]; ok {
		return v
	}
	return LNil
}

// RawGetString returns an LValue associated with a given key without __index metamethod.
func (tb *LTable) RawGetString(key string) LValue {
	if tb.strdict == nil {
		if tb.svals != nil { // ivrouter: a small table
			if i := tb.smallIndex(key); i >= 0 {
				return tb.svals[i]
			}
		}
		return LNil
	}
	if v, vok := tb.strdict[string(key)]; vok {
		return v
	}
	return LNil
}

// ForEach iterates over this table of elements, yielding each in turn to a given function.
func (tb *LTable) ForEach(cb func(LValue, LValue)) {
	if tb.array != nil {
		for i, v := range tb.array {
			if v != LNil {
				cb(LNumber(i+1), v)
			}
		}
	}
	// ivrouter: a small table's keys, then strdict as it was before them, so
	// a callback that makes the table grow does not see its keys twice.
	sd := tb.strdict
	for i, v := range tb.svals {
		if v != LNil {
			cb(tb.keys[i], v)
		}
	}
	if sd != nil {
		for k, v := range sd {
			if v != LNil {
				cb(LString(k), v)
			}
		}
	}
	if tb.dict != nil {
		for k, v := range tb.dict {
			if v != LNil {
				cb(k, v)
			}
		}
	}
}

// This function is equivalent to lua_next ( http://www.lua.org/manual/5.1/manual.html#lua_next ).
func (tb *LTable) Next(key LValue) (LValue, LValue) {
	init := false
	if key == LNil {
		key = LNumber(0)
		init = true
	}

	if init || key != LNumber(0) {
		if kv, ok := key.(LNumber); ok && isInteger(kv) && int(kv) >= 0 && kv < LNumber(MaxArrayIndex) {
			index := int(kv)
			if tb.array != nil {
				for ; index < len(tb.array); index++ {
					if v := tb.array[index]; v != LNil {
						return LNumber(index + 1), v
					}
				}
			}
			if tb.array == nil || index == len(tb.array) {
				if len(tb.keys) == 0 { // ivrouter: a small table has keys but no map
					return LNil, LNil
				}
				key = tb.keys[0]
				if v := tb.keyValue(0); v != LNil {
					return key, v
				}
			}
		}
	}

	for i := tb.keyIndex(key) + 1; i < len(tb.keys); i++ {
		if v := tb.keyValue(i); v != LNil {
			return tb.keys[i], v
		}
	}
	return LNil, LNil
}

// keyValue is the value of keys[i]. ivrouter: a small table's is svals[i],
// read without a second scan.
func (tb *LTable) keyValue(i int) LValue {
	if tb.svals != nil {
		return tb.svals[i]
	}
	return tb.RawGetH(tb.keys[i])
}
