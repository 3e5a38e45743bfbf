package log_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	scriptlog "github.com/ivrouter/ivrouter/bridge/log"
	"github.com/ivrouter/ivrouter/luavm"
	lua "github.com/yuin/gopher-lua"
)

// syncBuffer is written by VM goroutines and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// records parses the JSON lines written so far, numbers kept as written.
func (s *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	d := json.NewDecoder(bytes.NewReader(s.b.Bytes()))
	d.UseNumber()
	for d.More() {
		var r map[string]any
		if err := d.Decode(&r); err != nil {
			t.Fatalf("%v in %s", err, s.b.String())
		}
		out = append(out, r)
	}
	return out
}

func jsonLogger(buf *syncBuffer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: level}))
}

// run executes src after `local log = require("log")` (so src starts on
// line 2) with a module writing JSON at level, and returns the records.
func run(t *testing.T, level slog.Level, src string) ([]map[string]any, error) {
	t.Helper()
	var buf syncBuffer
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("null", luavm.Null(L))
	ud := L.NewUserData()
	ud.Metatable = L.CreateTable(0, 1)
	L.SetField(ud.Metatable, "__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("custom text"))
		return 1
	}))
	L.SetGlobal("ud", ud)
	L.PreloadModule("log", scriptlog.New(jsonLogger(&buf, level)).Loader)
	err := L.DoString(`local log = require("log")` + "\n" + src)
	return buf.records(t), err
}

// absent in a want map: the record must not have the attribute.
var absent = struct{ absent bool }{true}

func TestRecords(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want map[string]any // attributes the one record must have
	}{
		{`log.info("hello")`, map[string]any{"level": "INFO", "msg": "hello", "where": "<string>:2", "ivr_unique_id": absent, "script": absent}},
		{`log.debug("d")`, map[string]any{"level": "DEBUG", "msg": "d"}},
		{`log.warn("w")`, map[string]any{"level": "WARN", "msg": "w"}},
		{`log.error("e", nil)`, map[string]any{"level": "ERROR", "msg": "e"}},
		{`log.info(42)`, map[string]any{"msg": "42"}},
		{`log.info(1.5)`, map[string]any{"msg": "1.5"}},
		{`log.info("f", {s = "x", n = 42, neg = -3, f = 1.5, b = true, big = 2^60})`, map[string]any{
			"s": "x", "n": json.Number("42"), "neg": json.Number("-3"), "f": json.Number("1.5"), "b": true,
			"big": json.Number("1152921504606847000"), // a float64, as JSON writes it
		}},
		// JSON has no NaN or infinity: they are logged as text rather than
		// as the JSON handler's error.
		{`log.info("f", {nan = 0/0, inf = 1/0})`, map[string]any{"nan": "NaN", "inf": "+Inf"}},
		{`log.info("t", {t = {a = 1, b = {"x", "y"}, c = {}}})`, map[string]any{"t": `{"a":1,"b":["x","y"],"c":{}}`}},
		{`log.info("t", {t = {1, 2, x = 3}})`, map[string]any{"t": `{"1":1,"2":2,"x":3}`}},
		{`log.info("t", {t = {s = 'a"b\n<c>&'}})`, map[string]any{"t": `{"s":"a\"b\n<c>&"}`}},
		{`log.info("t", {t = {n = null, [true] = 1}})`, map[string]any{"t": `{"n":null,"true":1}`}},
		{`log.info("n", {n = null, u = ud})`, map[string]any{"n": nil, "u": "custom text"}},
		{`log.info("empty", {})`, map[string]any{"msg": "empty"}},
		{"local function f()\n  log.info(\"in f\")\nend\nf()", map[string]any{"where": "<string>:3"}},
		{`pcall(log.info, "via pcall")`, map[string]any{"where": "<string>:2"}},
		{"local function f() return log.info(\"tail\") end\nf()", map[string]any{"where": "<string>:2"}},
	} {
		t.Run(tc.src, func(t *testing.T) {
			recs, err := run(t, slog.LevelDebug, tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1: %v", len(recs), recs)
			}
			r := recs[0]
			for k, want := range tc.want {
				got, ok := r[k]
				if want == absent {
					if ok {
						t.Errorf("%s = %v, want it absent", k, got)
					}
					continue
				}
				if !ok || got != want {
					t.Errorf("%s = %#v, want %#v (record %v)", k, got, want, r)
				}
			}
		})
	}
}

// Nested text that is not plain data still logs, as readable text.
func TestTableText(t *testing.T) {
	for _, tc := range []struct {
		src   string
		check func(s string) bool
	}{
		{`local t = {} t.self = t log.info("m", {t = t})`, func(s string) bool {
			return strings.Contains(s, `"<nested too deep>"`) && json.Valid([]byte(s))
		}},
		{`log.info("m", {t = {f = print}})`, func(s string) bool {
			return strings.HasPrefix(s, `{"f":"function: `) && json.Valid([]byte(s))
		}},
		{`log.info("m", {t = {string.rep("x", 10000)}})`, func(s string) bool {
			return len(s) == scriptlog.MaxTableText+3 && strings.HasSuffix(s, "xxx...")
		}},
		{`log.info("m", {t = {"\1", "\255"}})`, func(s string) bool {
			return s == `["\u0001","`+"\uFFFD"+`"]` && json.Valid([]byte(s))
		}},
	} {
		recs, err := run(t, slog.LevelInfo, tc.src)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if len(recs) != 1 {
			t.Fatalf("%s: %d records", tc.src, len(recs))
		}
		if s, _ := recs[0]["t"].(string); !tc.check(s) {
			t.Errorf("%s: t = %q", tc.src, s)
		}
	}
}

func TestBadArguments(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`log.info()`, "log.info: msg must be a string or number, got nil"},
		{`log.info({})`, "log.info: msg must be a string or number, got table"},
		{`log:info("x")`, "log.info: msg must be a string or number, got table"},
		{`log.warn(true)`, "log.warn: msg must be a string or number, got boolean"},
		{`log.error("x", "y")`, "log.error: fields must be a table of name = value, got string"},
		{`log.info("x", {"a", "b"})`, "log.info: fields must be a table of name = value, got key 1"},
		{`log.info("x", {[true] = 1})`, "log.info: fields must be a table of name = value, got key true"},
		{`log.info("x", {[""] = 1})`, "log.info: field names must not be empty"},
		{`log.info("x", {msg = "m"})`, `log.info: field "msg" is reserved`},
		{`log.info("x", {time = 3})`, `log.info: field "time" is reserved`},
		{`log.info("x", {where = 1})`, `log.info: field "where" is reserved`},
		{`log.info("x", {script = "s"})`, `log.info: field "script" is reserved`},
		{`log.info("x", {ivr_unique_id = "s"})`, `log.info: field "ivr_unique_id" is reserved`},
		// Off levels check their arguments too: turning debug on must not
		// break a script.
		{`log.debug(nil)`, "log.debug: msg must be a string or number, got nil"},
		{`log.debug("x", {level = 1})`, `log.debug: field "level" is reserved`},
		{`log.debug("x", {1})`, "log.debug: fields must be a table of name = value, got key 1"},
	} {
		recs, err := run(t, slog.LevelInfo, tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.src, err, tc.want)
		}
		if len(recs) != 0 {
			t.Errorf("%s: wrote %v", tc.src, recs)
		}
	}
}

func TestLevelOffWritesNothing(t *testing.T) {
	recs, err := run(t, slog.LevelWarn, `log.debug("d", {a = 1}) log.info("i") log.warn("w") log.error("e")`)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, r := range recs {
		msgs = append(msgs, r["msg"].(string))
	}
	if strings.Join(msgs, ",") != "w,e" {
		t.Errorf("records %v, want w and e only", msgs)
	}
}

// The module writes through the logger's handler: attributes the server
// added with With must still be on every record.
func TestLoggerWithAttrs(t *testing.T) {
	var buf syncBuffer
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("log", scriptlog.New(jsonLogger(&buf, slog.LevelInfo).With("component", "scripts")).Loader)
	if err := L.DoString(`require("log").info("x")`); err != nil {
		t.Fatal(err)
	}
	recs := buf.records(t)
	if len(recs) != 1 || recs[0]["component"] != "scripts" {
		t.Errorf("records %v, want component=scripts", recs)
	}
}

func TestNilLoggerIsDefault(t *testing.T) {
	var buf syncBuffer
	old := slog.Default()
	slog.SetDefault(jsonLogger(&buf, slog.LevelInfo))
	defer slog.SetDefault(old)
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("log", scriptlog.New(nil).Loader)
	if err := L.DoString(`require("log").info("to default")`); err != nil {
		t.Fatal(err)
	}
	if recs := buf.records(t); len(recs) != 1 || recs[0]["msg"] != "to default" {
		t.Errorf("records %v", recs)
	}
}

// testCall passes its argument through, as a string.
type testCall struct {
	arg string
	ret lua.LValue
}

func (c *testCall) Arg(L *lua.LState) lua.LValue { return lua.LString(c.arg) }

func (c *testCall) Result(L *lua.LState, ret lua.LValue) error {
	c.ret = ret
	return nil
}

func (c *testCall) ID() string { return "call-42" }

// In a real engine, records carry the call and the script answering it;
// records written while scripts load carry neither.
func TestEngineTagsCallAndScript(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"hello.lua": `local log = require("log") return function(x) log.info("hello", {k = "v"}) return x end`,
		"boot.lua":  "local log = require(\"log\")\nlog.info(\"loading\")\nreturn function(x) return x end",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf syncBuffer
	m := scriptlog.New(jsonLogger(&buf, slog.LevelInfo))
	e, err := luavm.NewEngine(dir, luavm.Options{VMs: 1, Modules: []luavm.Module{{Name: "log", Loader: m.Loader}}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c := &testCall{arg: "in"}
	sc, err := e.Run("hello", 0, time.Now(), c)
	if err != nil {
		t.Fatal(err)
	}
	if c.ret != lua.LString("in") {
		t.Errorf("handler returned %v", c.ret)
	}
	var hello, loading []map[string]any
	for _, r := range buf.records(t) {
		switch r["msg"] {
		case "hello":
			hello = append(hello, r)
		case "loading":
			loading = append(loading, r)
		}
	}
	if len(hello) != 1 {
		t.Fatalf("%d hello records, want 1", len(hello))
	}
	r := hello[0]
	script, _ := r["script"].(string)
	if r["ivr_unique_id"] != "call-42" || script != sc.Name || script != "hello" || r["k"] != "v" {
		t.Errorf("record %v, want ivr_unique_id call-42, script %s, k v", r, sc.Name)
	}
	if where, _ := r["where"].(string); where != sc.Path+":1" {
		t.Errorf("where = %q, want %s:1", where, sc.Path)
	}
	if len(loading) == 0 {
		t.Fatal("no record from boot.lua's top level")
	}
	for _, r := range loading {
		for _, k := range []string{"ivr_unique_id", "script"} {
			if _, ok := r[k]; ok {
				t.Errorf("load-time record %v has %s", r, k)
			}
		}
		if where, _ := r["where"].(string); !strings.HasSuffix(where, "boot.lua:2") {
			t.Errorf("load-time record where = %q, want boot.lua:2", where)
		}
	}
}
