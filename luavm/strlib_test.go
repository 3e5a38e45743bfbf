package luavm

import (
	"fmt"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// patternSubjects are (subject, pattern) pairs covering what Lua patterns
// can say, malformed ones included.
var patternSubjects = [][2]string{
	{"12345678", "^%d%d%d%d%d%d%d%d$"},
	{"1234567", "^%d%d%d%d%d%d%d%d$"},
	{"hello world from Lua", "%a+"},
	{"hello world", "^hello"},
	{"hello world", "world$"},
	{"say $5 now", "%$%d"},
	{"a$b", "a$b"},
	{"ctrl\x01\x7fchars", "%c+"},
	{"MiXeD case", "%l+"},
	{"MiXeD case", "%u+"},
	{"tab\tand  spaces\n", "%s+"},
	{"tab\tand  spaces\n", "%S+"},
	{"x_1, y_22; z", "[%w_]+"},
	{"0xDEADbeef!", "%x+"},
	{"a.b,c!d?", "%p"},
	{"a.b,c!d?", "[^%p]+"},
	{"zzab9cx", "[a-c%d]+"},
	{"-a-", "[a-]"},
	{"]x]", "[]]"},
	{"]ax", "[^]]+"},
	{"key=val, k2=v2", "(%w+)=(%w+)"},
	{"banana", "()an()"},
	{"banana", "(a)(n)"},
	{"f(a(b)c) (d", "%b()"},
	{"THE (quick) fox", "%f[%a]%a+"},
	{"THE (quick) fox", "%f[%W]"},
	{"xaay aa", "(a)%1"},
	{"aaab", "a-b"},
	{"baaa", "a*"},
	{"baaa", "a+"},
	{"xyy", "x?y"},
	{"abc", ""},
	{"", ""},
	{"", "a*"},
	{"abc", "."},
	{"abc", ".-"},
	{"abc", "$"},
	{"abc", "^"},
	{"a.b", "%."},
	{"a%", "%"},
	{"a", "[a"},
	{"a", "[^"},
	{"a", "(a"},
	{"a)", "a)"},
	{"a", "%0"},
	{"a", "%1"},
	{"a", "(%1)"},
	{"x", "%bx"},
	{"ab", "[%a-z]"},
	{"one two  three", "(%S+)%s*"},
	{"hello", "(h)(e)(l)(l)(o)"},
	{"k = v", "^(%w+)%s*=%s*(%w+)$"},
	{"2024-01-15", "(%d+)-(%d+)-(%d+)"},
	{"nul\x00byte", "%z"},
	{"a+b", "a+b"},
	{"*x", "*x"},
}

// patternCalls are Lua expressions over s and p, run with each pair; r is
// a replacement table.
var patternCalls = []string{
	`string.find(s, p)`,
	`string.find(s, p, 2)`,
	`string.find(s, p, 0)`,
	`string.find(s, p, -3)`,
	`string.find(s, p, -100)`,
	`string.find(s, p, 100)`,
	`string.find(s, p, 1, true)`,
	`string.find(s, p, 3, true)`,
	`string.find(s, p, -2, true)`,
	`string.find(s, p, nil, true)`,
	`string.find(s, p, 1, false)`,
	`s:match(p)`,
	`s:match(p, 3)`,
	`s:match(p, -2)`,
	`s:match(p, 0)`,
	`s:match(p, 100)`,
	`select("#", s:match(p))`,
	`collect(s:gmatch(p))`,
	`s:gsub(p, "<%0>")`,
	`s:gsub(p, "[%1]")`,
	`s:gsub(p, "%2")`,
	`s:gsub(p, "%%x%")`,
	`s:gsub(p, "%y%")`,
	`s:gsub(p, "-", 1)`,
	`s:gsub(p, "-", 0)`,
	`s:gsub(p, "-", -2)`,
	`s:gsub(p, r)`,
	`s:gsub(p, function(a, b) if a == "a" then return nil end return "{" .. tostring(a) .. "," .. tostring(b) .. "}" end)`,
	`s:gsub(p, function() return false end)`,
	`s:gsub(p, function() return {} end)`,
	`s:gsub(p, 5)`,
	`string.gsub(s, p)`,
	`string.find(s)`,
	`string.match(nil, p)`,
}

// patternPrelude gives each expression its helpers. collect runs a gmatch
// iterator to its end and lists what each step returned.
const patternPrelude = `local s, p = ...
local r = { a = "A", hello = 1, ["1"] = "one", [2] = "two", an = false }
local function collect(iter, state, ctl)
  local out = {}
  while true do
    local vals = { iter(state, ctl) }
    if vals[1] == nil then break end
    for i = 1, #vals do vals[i] = type(vals[i]) .. ":" .. tostring(vals[i]) end
    out[#out + 1] = table.concat(vals, "|")
  end
  return table.concat(out, ",")
end
return pcall(function() return `

// runPattern evaluates expr over s and p in L, with env as its globals
// when not nil, and renders every value it returned.
func runPattern(t *testing.T, L *lua.LState, env *lua.LTable, expr, s, p string) string {
	t.Helper()
	fn, err := L.LoadString(patternPrelude + expr + ` end)`)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	if env != nil {
		fn.Env = env
	}
	top := L.GetTop()
	L.Push(fn)
	L.Push(lua.LString(s))
	L.Push(lua.LString(p))
	if err := L.PCall(2, lua.MultRet, nil); err != nil {
		return "error: " + err.Error()
	}
	var out []string
	for i := top + 1; i <= L.GetTop(); i++ {
		out = append(out, fmt.Sprintf("%s:%s", L.Get(i).Type(), L.Get(i)))
	}
	L.SetTop(top)
	return strings.Join(out, " ")
}

func sandboxVM(t testing.TB) *vm {
	v := newVM(&Set{opts: Options{}.withDefaults()})
	t.Cleanup(v.close)
	return v
}

// TestPatternFunctionsMatchGopherLua runs every call on every pair through
// stock gopher-lua and through the sandbox, and wants the same values and
// the same error messages.
func TestPatternFunctionsMatchGopherLua(t *testing.T) {
	stock := lua.NewState()
	defer stock.Close()
	v := sandboxVM(t)
	n := 0
	for _, sp := range patternSubjects {
		for _, expr := range patternCalls {
			want := runPattern(t, stock, nil, expr, sp[0], sp[1])
			if strings.HasPrefix(want, "boolean:false string:runtime error: slice bounds out of range") {
				// gopher-lua's plain find slices past the end of s and
				// panics in Go; the sandbox answers nil, as PUC Lua does.
				want = "boolean:true nil:nil"
			}
			got := runPattern(t, v.L, v.base, expr, sp[0], sp[1])
			if got != want {
				t.Errorf("s=%q p=%q %s:\n got  %s\n want %s", sp[0], sp[1], expr, got, want)
			}
			n++
		}
	}
	t.Logf("%d calls compared", n)
}

// TestPatternCacheIsBounded feeds a VM more distinct patterns than its
// cache holds and checks answers stay right and the cache stays small.
func TestPatternCacheIsBounded(t *testing.T) {
	v := sandboxVM(t)
	for i := 0; i < 3*patternCacheSize; i++ {
		p := fmt.Sprintf("(%d)", i)
		want := fmt.Sprintf("boolean:true number:2 number:%d string:%d", 1+len(p)-2, i)
		if got := runPattern(t, v.L, v.base, `string.find(s, p)`, "x"+fmt.Sprint(i), p); got != want {
			t.Fatalf("pattern %q: got %s, want %s", p, got, want)
		}
		if len(v.patterns) > patternCacheSize {
			t.Fatalf("cache holds %d patterns, bound %d", len(v.patterns), patternCacheSize)
		}
	}
}

// TestMatchStopsWhenTheCallIsCancelled calls string.find straight from Go,
// where no Lua instruction runs to notice the cancellation first, and
// wants the pattern error once the call's abort channel closes.
func TestMatchStopsWhenTheCallIsCancelled(t *testing.T) {
	v := sandboxVM(t)
	j := &job{abort: make(chan struct{}), deadline: time.Now().Add(time.Hour)}
	v.ctx.job = j
	L := v.L
	find := L.GetField(L.GetField(v.base, "string"), "find")
	res := make(chan error, 1)
	go func() {
		L.Push(find)
		L.Push(lua.LString(strings.Repeat("a", 300000)))
		L.Push(lua.LString(".-.-.-x"))
		res <- L.PCall(2, lua.MultRet, nil)
	}()
	close(j.abort)
	select {
	case err := <-res:
		if err == nil || !strings.Contains(err.Error(), "pattern match cancelled") {
			t.Fatalf("got %v, want pattern match cancelled", err)
		}
	case <-time.After(5 * time.Second): // uncancelled, the match runs for days
		t.Fatal("string.find still running 5s after the call was cancelled")
	}
}
