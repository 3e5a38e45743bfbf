package lua

// ivrouter: this file is ivrouter's addition to gopher-lua v1.1.2 (see
// PATCHES.md). It adds no exported API: a program that sets, with
// SetContext, a context implementing Alloc(n int) error has what Lua code
// allocates charged to it, before the allocation; any other program sees
// upstream's behaviour.

import "math"

// memAccounter is what a context given to SetContext may implement to be
// charged, before the allocation, the bytes Lua code is about to allocate.
// Alloc runs on the goroutine running the LState and is called often (every
// new table, closure, table key and concatenation): it must be cheap. A
// non-nil error refuses the allocation: it is raised as a Lua error with the
// error's text. n is always > 0, and can be as large as math.MaxInt (sizes
// are added and multiplied saturating, never wrapping).
type memAccounter interface {
	Alloc(n int) error
}

// Estimated sizes, in bytes, of what Lua code allocates (measured with
// go1.26 on amd64: -benchmem of each table operation).
// They are estimates of what is allocated, not exact: slack from append's
// and the maps' growth is left out, as are boxed numbers.
const (
	// An LTable: unsafe.Sizeof(LTable{}) is 112 with svals, a size class.
	memTable = 112
	// One slot of LTable.array: an LValue (interface, two words).
	memArraySlot = 16
	// A table's first array slot allocates make([]LValue, 0, defaultArrayCap).
	memArrayInit = defaultArrayCap * memArraySlot
	// One new hash key: its entry in strdict or dict (key + LValue), in keys
	// and, once a pairs loop over more than smallKeys keys built it, in k2i
	// (LValue + int), and the boxed key: about 100 bytes live in Go's swiss
	// maps, over 300 allocated counting growth.
	memHashEntry = 128
	// OP_NEWTABLE's C (a hint of the constructor's hash fields, 0 to 511)
	// makes strdict with room for C: memHashSlot each, memHashInit at least
	// (one group of 8 slots and the keys slice).
	memHashSlot = 64
	memHashInit = 512
	// A table's first string key allocates strdict (one group of 8 slots)
	// and keys (room for 4): 304 bytes measured.
	memStrdictInit = 320
	// A table's first key that is neither a string nor an array index
	// allocates dict and keys: 304 bytes measured.
	memDictInit = 320
	// A closure: its LFunction (Sizeof 80) and, per upvalue, a slot in
	// Upvalues and the Upvalue it may create (176 bytes measured with 2).
	memClosure = 80
	memUpvalue = 48
	// maxResults bounds the values unpack and string.byte push, as
	// LUAI_MAXCSTACK (8000) does in Lua 5.1.
	maxResults = 8000
)

// setMemAccounter caches ctx's Alloc method, if it has one, so the hot
// paths pay one nil check.
func (ls *LState) setMemAccounter(ctx interface{}) {
	ls.memAcct, _ = ctx.(memAccounter)
}

// charge asks the LState's accounter for n bytes, before they are
// allocated, and raises a Lua error with its error's text when it refuses.
// Without an accounter it does nothing.
func (ls *LState) charge(n int) {
	if ls.memAcct == nil || n <= 0 {
		return
	}
	if err := ls.memAcct.Alloc(n); err != nil {
		ls.RaiseError("%s", err.Error())
	}
}

// memAdd and memMul are + and * on non-negative sizes, saturating at
// math.MaxInt instead of wrapping.
func memAdd(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

func memMul(a, b int) int {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > math.MaxInt/b {
		return math.MaxInt
	}
	return a * b
}

// newTableSize estimates what newLTable(acap, hcap) allocates, as
// OP_NEWTABLE calls it: its B and C, at most 511 each.
func newTableSize(acap, hcap int) int {
	n := memTable + acap*memArraySlot
	if hcap > 0 {
		n += intMax(memHashInit, hcap*memHashSlot)
	}
	return n
}

// setlistGrowth estimates what tb grows by when OP_SETLIST fills its array
// up to index last: the slots past the capacity OP_NEWTABLE gave it, which
// newTableSize counted.
func setlistGrowth(tb *LTable, last int) int {
	if last <= cap(tb.array) {
		return 0
	}
	return arrayGrowth(tb, last) - (cap(tb.array)-len(tb.array))*memArraySlot
}

// tableGrowth estimates what tb grows by when key, which tb does not hold
// (its value is nil), is set to value: the path LTable.RawSet takes.
func tableGrowth(tb *LTable, key LValue, value LValue) int {
	switch k := key.(type) {
	case LNumber:
		if isArrayKey(k) {
			return arrayGrowth(tb, int(k))
		}
	case LString:
		return stringKeyGrowth(tb, string(k), value)
	}
	if value == LNil || tb.hasKey(key) {
		return 0
	}
	n := memHashEntry
	if tb.dict == nil {
		n += memDictInit
		if tb.small() && len(tb.keys) > 0 { // its string keys move to strdict
			n += memStrdictInit
		}
	}
	return n
}

// arrayGrowth estimates what tb grows by when its array is extended to hold
// index key (1-based, < MaxArrayIndex): every slot up to key, nil-padded, is
// new.
func arrayGrowth(tb *LTable, key int) int {
	alen := len(tb.array)
	if key <= alen {
		return 0
	}
	n := (key - alen) * memArraySlot // key < MaxArrayIndex: no overflow
	if tb.array == nil && n < memArrayInit {
		n = memArrayInit
	}
	return n
}

// stringKeyGrowth estimates what tb grows by when key, which tb does not
// hold, is set to value (LTable.RawSetString).
func stringKeyGrowth(tb *LTable, key string, value LValue) int {
	if value == LNil || tb.hasStringKey(key) {
		return 0 // nothing is added: a nil value makes no strdict
	}
	n := memHashEntry
	switch {
	case tb.strdict != nil:
	case !tb.small(): // dict only: strdict is made
		n += memStrdictInit
	case tb.svals == nil: // a small table's first key makes keys and svals
		n += memStrdictInit
	case len(tb.keys) == smallKeys: // the table outgrows small: strdict is made
		n += memStrdictInit
	}
	return n
}

// hasKey reports whether key is in tb.keys, which keeps a key set once even
// after it is set to nil: setting it again adds no entry there.
func (tb *LTable) hasKey(key LValue) bool {
	if s, ok := key.(LString); ok {
		return tb.hasStringKey(string(s))
	}
	_, ok := tb.dict[key]
	return ok
}

// hasStringKey is hasKey for a string key, unboxed.
func (tb *LTable) hasStringKey(key string) bool {
	if tb.strdict == nil {
		return tb.small() && tb.smallIndex(key) >= 0
	}
	_, ok := tb.strdict[key] // it holds exactly the string keys of keys
	return ok
}

// formatSize bounds the length of what strFormat builds:
// fmt.Sprintf(format, args...). Go's fmt stops reading a width or a
// precision once it is past 1e6 (so at most 10,000,009), and any verb may
// print any argument ("%[1]s%[1]s"), so every '%' counts the numbers after
// it (read the same way), the longest argument
// times what its verb can expand a byte to (%q: 4, "\x00"; %x with flags: 5,
// "0x00 "), and 64 bytes for fmt's own texts ("%!d(lua.LBool=", "%!(BADWIDTH)").
// Every argument counts once more for "%!(EXTRA ...)". args are what
// strFormat passes: LString, LNumber, LBool or LNil.
func formatSize(format string, args []interface{}) int {
	longest, all := 0, 0
	for _, a := range args {
		n := 32 // LBool, LNil
		switch v := a.(type) {
		case LString:
			n = len(v)
		case LNumber:
			n = 330 // %f of 1e308: 309 digits; the precision is counted below
		}
		longest = intMax(longest, n)
		all = memAdd(all, n)
	}
	size := memAdd(len(format), all)
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		if i < len(format) && format[i] == '%' {
			continue // "%%": one byte, counted in len(format)
		}
		verb, num := 64, 0
	spec:
		for ; i < len(format); i++ {
			switch c := format[i]; c {
			case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
				if num <= 1e6 { // as fmt's parsenum: at most 1e7+9
					num = num*10 + int(c-'0')
				}
				continue
			case '.', '[', ']', '*', '+', '-', '#', ' ':
			case 'q':
				verb = memAdd(verb, memMul(longest, 4))
				break spec
			case 'x', 'X':
				verb = memAdd(verb, memMul(longest, 5))
				break spec
			default:
				verb = memAdd(verb, longest)
				break spec
			}
			verb, num = memAdd(verb, num), 0
		}
		size = memAdd(size, memAdd(verb, num))
	}
	return size
}

// caseSize bounds the length of strings.ToUpper(s) or ToLower(s): ASCII
// bytes map to one byte; an invalid UTF-8 byte becomes U+FFFD, three.
func caseSize(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			n += 2
		}
	}
	return n
}
