package lua

// ivrouter: tests of the memory accounting hook (ivrouter.go, PATCHES.md).

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// budgetCtx is a context whose Alloc grants bytes from a budget, as
// ivrouter's per-call context does.
type budgetCtx struct {
	context.Context
	left, spent int
}

func (c *budgetCtx) Alloc(n int) error {
	if n <= 0 {
		panic(fmt.Sprintf("Alloc(%d)", n))
	}
	if n > c.left {
		return fmt.Errorf("memory budget spent: %d bytes asked, %d left", n, c.left)
	}
	c.left -= n
	c.spent += n
	return nil
}

// newState makes an LState set up as ivrouter's: a stack that grows.
func newState() *LState {
	return NewState(Options{CallStackSize: 200, RegistrySize: 1024, RegistryMaxSize: 1 << 20, MinimizeStackMemory: true})
}

func budgetState(budget int) (*LState, *budgetCtx) {
	L := newState()
	ctx := &budgetCtx{Context: context.Background(), left: budget}
	L.SetContext(ctx)
	return L, ctx
}

// allocated runs f and returns how many bytes the Go heap allocated meanwhile.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// mustFail runs script and checks that it fails with an error containing
// want, allocating less than maxAlloc bytes on the way.
func mustFail(t *testing.T, L *LState, script, want string, maxAlloc uint64) {
	t.Helper()
	var err error
	start := time.Now()
	n := allocated(func() { err = L.DoString(script) })
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: error %v, want one containing %q", script, err, want)
	}
	if n > maxAlloc {
		t.Errorf("%s: allocated %d bytes before failing, want under %d", script, n, maxAlloc)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("%s: took %v to fail", script, d)
	}
}

func TestIvrouterConcatDoubling(t *testing.T) {
	L, ctx := budgetState(1 << 20)
	defer L.Close()
	// Upstream: fatal error: out of memory (a 1 TiB string).
	mustFail(t, L, `local s = "x" for i = 1, 40 do s = s .. s end`, "<string>:1: memory budget spent: 1048576 bytes asked", 8<<20)
	if ctx.spent > 1<<20 || ctx.spent < 1<<19 {
		t.Errorf("spent %d", ctx.spent)
	}
	// The error is a Lua error: pcall catches it and the script goes on.
	L2, _ := budgetState(1 << 20)
	defer L2.Close()
	errorIfScriptFail(t, L2, `
local ok, err = pcall(function() local s = "x" for i = 1, 40 do s = s .. s end end)
assert(not ok and err:find("memory budget spent", 1, true), err)
assert(("a"):rep(3) == "aaa")`)
}

func TestIvrouterTableGrowth(t *testing.T) {
	for _, script := range []string{
		`local t = {} for i = 1, 1e9 do t[i] = i end`,
		`local t = {} for i = 1, 1e9 do t["k" .. i] = i end`,
		`local t = {} for i = 1, 1e9 do t[i + 0.5] = i end`,
		`local t = {} for i = 1, 1e9 do t[i] = {} end`,
		`local t = {} for i = 1, 1e9 do t[i] = function() return i end end`,
		`local t = {} for i = 1, 1e9 do table.insert(t, i) end`,
		`local t = {} for i = 1, 1e9 do rawset(t, i, i) end`,
		`local t = {} for i = 1, 1e9 do t[i] = {i, i, i} end`,
		`local t = {} for i = 1, 1e9 do t[i] = {x = i} end`,
		`for i = 1, 1e9 do local t = {} end`, // counts what is allocated, not what is live
	} {
		L, ctx := budgetState(4 << 20)
		mustFail(t, L, script, "memory budget spent", 64<<20)
		if ctx.spent > 4<<20 {
			t.Errorf("%s: spent %d", script, ctx.spent)
		}
		L.Close()
	}
	// One statement asking for 1 GiB of nil-padded array.
	for _, script := range []string{
		`local t = {} t[67108863] = true`,
		`local t = {} rawset(t, 67108863, true)`,
		`local t = {} table.insert(t, 67108863, true)`,
		`local t = {} t[67108863] = nil`,
	} {
		L, _ := budgetState(64 << 20)
		mustFail(t, L, script, "memory budget spent: 1073741808 bytes asked", 16<<20)
		L.Close()
	}
}

// The estimates, one operation at a time; overwrites cost nothing.
func TestIvrouterTableCharges(t *testing.T) {
	L, ctx := budgetState(1 << 30)
	defer L.Close()
	for _, c := range []struct {
		script string
		want   int
	}{
		{`t = {}`, memTable + memHashEntry}, // the global t is new
		{`t[1] = 1`, memArrayInit},
		{`t[2] = 2`, memArraySlot},
		{`t[2] = 3`, 0},
		{`t[40] = 3`, 38 * memArraySlot},
		{`t.x = 1`, memStrdictInit + memHashEntry},
		{`t.x = 2`, 0},
		{`t.y = 2`, memHashEntry},
		{`t.x = nil`, 0},
		{`t.x = 3`, 0}, // keys and k2i kept x
		{`t.z = nil`, 0},
		{`t[0.5] = 1`, memDictInit + memStrdictInit + memHashEntry}, // t's string keys move to strdict
		{`t[1.5] = 1`, memHashEntry},
		{`t[1.5] = 2`, 0},
		{`rawset(t, "w", 1)`, memHashEntry},
		{`rawset(t, "w", 2)`, 0},
		{`table.insert(t, 4)`, memArraySlot},
		{`table.insert(t, 1, 4)`, memArraySlot},
		{`u = {1, 2, 3}`, memTable + 3*memArraySlot + memHashEntry},
		{`u = {x = 1, y = 2}`, memTable + memHashInit + 2*memHashEntry},
		// [4] is set before the list, from the array's length 0 up.
		{`u = {1, 2, 3, x = 1, [4] = 4}`, memTable + 3*memArraySlot + memHashInit + memHashEntry + 4*memArraySlot},
		{`local f = function() end`, memClosure},
		{`local a, b f = function() return a, b end`, memClosure + 2*memUpvalue + memHashEntry},
		{`local s = ("x"):rep(10) .. ("y"):rep(5)`, 10 + 5 + 15},
		{`local s = t.x .. "ab"`, 3},
		{`local s = ("ab"):upper() .. ("é"):lower()`, 2 + 6 + 4},
		{`local s = ("abc"):reverse()`, 3},
		{`local s = string.char(65, 66)`, 2},
		{`local s = table.concat({"a", "b", "c"}, ", ")`, memTable + 3*memArraySlot + 7},
		{`local s = ("abc"):gsub("b", "[%0]")`, 4 + 1 + 5},
	} {
		before := ctx.spent
		errorIfScriptFail(t, L, c.script)
		if got := ctx.spent - before; got != c.want {
			t.Errorf("%s: charged %d, want %d", c.script, got, c.want)
		}
	}
	// Overwriting existing keys in a loop costs nothing.
	before := ctx.spent
	errorIfScriptFail(t, L, `for i = 1, 100000 do t[1] = i t.x = i t[1.5] = i end`)
	if got := ctx.spent - before; got != 0 {
		t.Errorf("overwrites charged %d", got)
	}
}

func TestIvrouterTableConcat(t *testing.T) {
	L, ctx := budgetState(64 << 20)
	defer L.Close()
	// 2000 items joined by a 4 MiB separator: 8 GiB.
	mustFail(t, L, `
local sep = string.rep("x", 4 * 1024 * 1024)
local t = {}
for i = 1, 2000 do t[i] = "a" end
local s = table.concat(t, sep)`, fmt.Sprintf("memory budget spent: %d bytes asked", 2000+1999*4<<20), 32<<20)
	if ctx.spent > 6<<20 {
		t.Errorf("spent %d", ctx.spent)
	}
}

func TestIvrouterStringFunctions(t *testing.T) {
	for _, c := range []struct {
		script, want string
		maxAlloc     uint64
	}{
		{`local s = string.rep("x", 1e12)`, "memory budget spent: 1000000000000 bytes asked", 0},
		{`local s = string.rep("xx", 2^62)`, "memory budget spent: 9223372036854775807 bytes asked", 0},
		{`local s = big:upper()`, "memory budget spent: 8388608 bytes asked", 0},
		{`local s = big:lower()`, "memory budget spent: 8388608 bytes asked", 0},
		{`local s = big:reverse()`, "memory budget spent: 8388608 bytes asked", 0},
		{`local s = string.format("%s", big)`, "memory budget spent", 0},
		{`local s = string.format(string.rep("%999999d", 100), unpack(nums))`, "memory budget spent", 0},
		{`local s = string.format(string.rep("%[1]s", 100), big)`, "memory budget spent", 0},
		{`local s = string.format(string.rep("%.999999f", 5), 1e308, 1e308, 1e308, 1e308, 1e308)`, "memory budget spent", 0},
		{`local s = mid:gsub("x", k)`, "memory budget spent: 1000 bytes asked", 0},
		{`local s = mid:gsub("x", {x = k})`, "memory budget spent: 8192000 bytes asked", 0},
		{`local s = mid:gsub("x", function() return k end)`, "memory budget spent: 8192000 bytes asked", 0},
		// The 4 MiB granted are built by appends: 21 MiB allocated.
		{`local s = ("x"):rep(1000):gsub(".*", ("%0"):rep(10000))`, "memory budget spent: 1000 bytes asked", 32 << 20},
		{`local s = string.char(unpack(nums))`, "memory budget spent: 8000 bytes asked", 0},
	} {
		L, _ := budgetState(8 << 20)
		L.SetGlobal("big", LString(strings.Repeat("x", 8<<20)))
		L.SetGlobal("mid", LString(strings.Repeat("x", 8<<10)))
		L.SetGlobal("k", LString(strings.Repeat("y", 1000)))
		nums := L.NewTable()
		for i := 1; i <= 8000; i++ {
			nums.RawSetInt(i, LNumber(65))
		}
		L.SetGlobal("nums", nums)
		L.SetContext(&budgetCtx{Context: context.Background(), left: 4 << 20}) // what is left
		if c.script == `local s = string.char(unpack(nums))` {
			L.SetContext(&budgetCtx{Context: context.Background(), left: 7999})
		}
		if c.maxAlloc == 0 {
			c.maxAlloc = 16 << 20
		}
		mustFail(t, L, c.script, c.want, c.maxAlloc)
		L.Close()
	}
}

// formatSize is an upper bound of what string.format builds.
func TestIvrouterFormatSize(t *testing.T) {
	L, ctx := budgetState(1 << 30)
	defer L.Close()
	errorIfScriptFail(t, L, `s1 = string.rep("\195\169\255", 1000) s2 = string.rep("\244\143\191\191\255", 1000)`)
	for _, script := range []string{
		`return string.format("%d-%s", 42, "abc")`,
		`return string.format("%5.2f|%-8s|%08x|%q", 3.14159, "ab", 255, "a\0b\200")`,
		`return string.format("%+.20e % #x %X", 1e300, "\1\255", 2^40)`,
		`return string.format("%999999d", 1)`,
		`return string.format("%.999999f", 1e308)`,
		`return string.format("%1000001d|%5", 1, 2, 3)`,
		`return string.format("%10000009d|%10000010d|%.10000009f", 1, 2, 3)`,
		`return string.format("%[2]s%[1]s%[2]s", "ab", "cde")`,
		`return string.format("%*d", 5, 6)`,
		`return string.format("%d %s %v %q %x", {}, {}, {}, {}, {})`,
		`return string.format("%d %s", true, nil)`,
		`return string.format("%s%%%c%U%b%o%t", "a", 65, 65, 5, 8, true)`,
		`return string.format("%s", s1)`,
		`return string.format("%q|%+q|% #x", s1, s2, s2)`,
	} {
		before := ctx.spent
		if err := L.DoString(script); err != nil {
			t.Fatalf("%s: %v", script, err)
		}
		got := len(L.Get(-1).String())
		L.Pop(1)
		if charged := ctx.spent - before; charged < got {
			t.Errorf("%s: charged %d, built %d bytes", script, charged, got)
		}
	}
	// Tables go in as their tostring text, never as a dump of their
	// contents; %s is as upstream.
	errorIfScriptFail(t, L, `
local s = string.rep("x", 1000)
local t = {}
for i = 1, 100 do t[i] = s end
assert(#string.format("%d", t) < 100)
assert(string.format("%s", t) == tostring(t))
assert(string.format("%s|%5s", print, true) == tostring(print) .. "| true")`)
}

func TestIvrouterResultCounts(t *testing.T) {
	L := newState() // no accounter: the bounds are Lua 5.1's, always on
	defer L.Close()
	start := time.Now()
	errorIfScriptNotFail(t, L, `unpack({}, 1, 1e8)`, "too many results to unpack")
	errorIfScriptNotFail(t, L, `unpack({}, 1, 8001)`, "too many results to unpack")
	errorIfScriptNotFail(t, L, `unpack({}, -1e18, 1e18)`, "too many results to unpack")
	errorIfScriptNotFail(t, L, `unpack({}, -2^62, 2^62)`, "too many results to unpack")
	errorIfScriptNotFail(t, L, `string.byte(string.rep("x", 8001), 1, -1)`, "string slice too long")
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	errorIfScriptFail(t, L, `
assert(select("#", unpack({}, 1, 8000)) == 8000)
assert(select("#", unpack({1, 2, 3})) == 3)
assert(select("#", unpack({1, 2, 3}, 2)) == 2)
assert(select("#", unpack({}, 5, 1)) == 0)
assert(select("#", unpack({}, 1e18, 1e18)) == 1)
assert(select("#", string.byte(string.rep("x", 8000), 1, -1)) == 8000)
assert(select("#", select(1e18, 1, 2)) == 0)
assert(select("#", select(2^53, 1, 2)) == 0)
assert(select(-1, 1, 2) == 2)
assert(not pcall(select, -1e18, 1, 2))
assert(not pcall(select, 0/0, 1, 2))
assert(not pcall(select, 1e300, 1, 2) or true)`)
}

// A coroutine charges its parent's context; RemoveContext stops charging.
func TestIvrouterThreadsAndRemoveContext(t *testing.T) {
	L, ctx := budgetState(1 << 20)
	defer L.Close()
	errorIfScriptNotFail(t, L, `
local co = coroutine.wrap(function() local s = "x" for i = 1, 40 do s = s .. s end end)
co()`, "memory budget spent")
	if ctx.spent < 1<<19 {
		t.Errorf("spent %d", ctx.spent)
	}
	L.RemoveContext()
	errorIfScriptFail(t, L, `local s = "x" for i = 1, 22 do s = s .. s end assert(#s == 4194304)`)
	// A context without Alloc: upstream behaviour.
	L.SetContext(context.Background())
	errorIfScriptFail(t, L, `local s = "x" for i = 1, 22 do s = s .. s end assert(#s == 4194304)`)
}

// Without an accounter everything works as upstream.
func TestIvrouterNoAccounter(t *testing.T) {
	for _, ctx := range []context.Context{nil, context.Background()} {
		L := newState()
		if ctx != nil {
			L.SetContext(ctx)
		}
		errorIfScriptFail(t, L, `
local s = "x" for i = 1, 20 do s = s .. s end
assert(#s == 1048576)
local t = {} for i = 1, 100000 do t[i] = i t["k" .. i] = i end
assert(#t == 100000 and t.k100000 == 100000)
local u = {1, 2, 3, x = 1, [0.5] = 2}
assert(#u == 3 and u.x == 1 and u[0.5] == 2)
rawset(u, 4, 4) rawset(u, "y", 5)
table.insert(u, 5) table.insert(u, 1, 0)
assert(table.concat(u, ",") == "0,1,2,3,4,5")
assert(table.concat({"a", "b", "c"}, ", ", 2, 3) == "b, c")
assert(("ab"):rep(3) == "ababab" and ("x"):rep(0) == "" and ("x"):rep(-1) == "")
assert(("aBc"):upper() == "ABC" and ("aBc"):lower() == "abc" and ("abc"):reverse() == "cba")
assert(string.char(72, 105) == "Hi")
assert(string.format("%d|%5.1f|%s|%q", 3, 2.25, "x", "a\nb") == '3|  2.2|x|"a\\nb"')
assert(select(2, ("hello world"):gsub("o", "0")) == 2)
assert(("hello world"):gsub("o", "0") == "hell0 w0rld")
assert(("hello world"):gsub("(o)", "<%1%0>", 1) == "hell<oo> world")
assert(("abc"):gsub("", "-") == "-a-b-c-")
assert(("abc"):gsub("%w", {a = "1", c = false}) == "1bc")
assert(("abc"):gsub("%w", function(c) if c ~= "b" then return c:upper() end end) == "AbC")
assert(("abc"):gsub("^a", "") == "bc" and ("abc"):gsub("c$", "") == "ab")
assert(("x = 1, y = 2"):gsub("(%w+) = (%w+)", "%2 = %1") == "1 = x, 2 = y")
local f = coroutine.wrap(function() local s = "y" for i = 1, 10 do s = s .. s end coroutine.yield(#s) end)
assert(f() == 1024)`)
		L.Close()
	}
}

// BenchmarkIvrouterScript is what the accounting costs Lua code that
// allocates (new tables, keys, closures, concatenations) and code that
// only overwrites: without a context, with one that has no Alloc (the VM's
// context-checking loop, as upstream), and with an Alloc that grants all.
// It uses only exported API but budgetCtx, so it runs against upstream too.
func BenchmarkIvrouterScript(b *testing.B) {
	for _, s := range []struct{ name, src string }{
		{"Alloc", `
local t = {}
for i = 1, 100 do t[i] = i t["k" .. i] = {i} end
local s = ""
for i = 1, 20 do s = s .. "ab" end
local f = function() return s end`},
		{"Overwrite", `
local t = {1, x = 1}
for i = 1, 1000 do t[1] = i t.x = i end`},
	} {
		for _, mode := range []string{"NoContext", "Context", "Alloc"} {
			b.Run(s.name+"/"+mode, func(b *testing.B) {
				L := newState()
				defer L.Close()
				ctx := &budgetCtx{Context: context.Background()}
				switch mode {
				case "Context":
					L.SetContext(context.Background())
				case "Alloc":
					L.SetContext(ctx)
				}
				fn, err := L.LoadString(s.src)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					ctx.left = 1 << 40
					L.Push(fn)
					L.Call(0, 0)
				}
			})
		}
	}
}

// Small tables (up to smallKeys string keys, no map) read, iterate and
// grow into maps like the maps: random sets and clears of string and other
// keys, checked after each against a Go map, through next and ForEach.
func TestIvrouterSmallTables(t *testing.T) {
	pool := []LValue{LTrue, LNumber(0.5), LNumber(-3)}
	for i := 0; i < 12; i++ {
		pool = append(pool, LString(fmt.Sprintf("k%d", i)))
	}
	rnd := rand.New(rand.NewSource(1))
	for run := 0; run < 300; run++ {
		tb := newLTable(0, rnd.Intn(4))
		want := map[LValue]LValue{}
		for op := 0; op < 40; op++ {
			k := pool[3+rnd.Intn(len(pool)-3)] // mostly string keys
			if rnd.Intn(10) == 0 {
				k = pool[rnd.Intn(3)]
			}
			var v LValue = LNumber(op)
			if rnd.Intn(4) == 0 {
				v = LNil
			}
			tb.RawSet(k, v)
			if v == LNil {
				delete(want, k)
			} else {
				want[k] = v
			}
			for _, k := range pool {
				exp, ok := want[k]
				if !ok {
					exp = LNil
				}
				if got := tb.RawGet(k); got != exp {
					t.Fatalf("run %d op %d: [%v] = %v, want %v", run, op, k, got, exp)
				}
			}
			seen := map[LValue]LValue{}
			for k, v := tb.Next(LNil); k != LNil; k, v = tb.Next(k) {
				if _, dup := seen[k]; dup {
					t.Fatalf("run %d op %d: next gave %v twice", run, op, k)
				}
				seen[k] = v
			}
			each := map[LValue]LValue{}
			tb.ForEach(func(k, v LValue) { each[k] = v })
			if !reflect.DeepEqual(seen, want) || !reflect.DeepEqual(each, want) {
				t.Fatalf("run %d op %d: next %v, ForEach %v, want %v", run, op, seen, each, want)
			}
		}
	}
}

// A callback that makes a small table grow sees each key once, as
// upstream's ForEach did.
func TestIvrouterForEachWhileGrowing(t *testing.T) {
	tb := newLTable(0, 0)
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		tb.RawSetString(k, LTrue)
	}
	seen := map[LValue]int{}
	tb.ForEach(func(k, v LValue) {
		seen[k]++
		if k == LString("a") {
			tb.RawSetH(LNumber(0.5), LFalse)
		}
	})
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%v seen %d times", k, n)
		}
	}
	if len(seen) < 8 {
		t.Errorf("saw %d keys, want the 8 there were", len(seen))
	}
}

// memTable is what an LTable takes.
func TestIvrouterTableSize(t *testing.T) {
	if n := int(unsafe.Sizeof(LTable{})); n > memTable {
		t.Errorf("LTable is %d bytes, charged %d", n, memTable)
	}
}
