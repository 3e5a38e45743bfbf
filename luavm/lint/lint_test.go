package lint_test

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ivrouter/ivrouter/bridge/cache"
	"github.com/ivrouter/ivrouter/bridge/env"
	bhttp "github.com/ivrouter/ivrouter/bridge/http"
	"github.com/ivrouter/ivrouter/bridge/ivr"
	bjson "github.com/ivrouter/ivrouter/bridge/json"
	scriptlog "github.com/ivrouter/ivrouter/bridge/log"
	"github.com/ivrouter/ivrouter/bridge/phone"
	"github.com/ivrouter/ivrouter/bridge/state"
	btime "github.com/ivrouter/ivrouter/bridge/time"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/lint"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
	lua "github.com/yuin/gopher-lua"
)

// modules are the bridge modules as server/modules.go gives them to
// scripts: the real loaders, so the linter reads the real tables.
func modules(t *testing.T) []luavm.Module {
	t.Helper()
	iv, err := ivr.New(ivr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := btime.New(btime.Options{})
	return []luavm.Module{
		{Name: "ivr", Loader: iv.Loader, Global: true, Signatures: ivr.Signatures()},
		{Name: "http", Loader: bhttp.New(bhttp.Options{}).Loader, Signatures: bhttp.Signatures()},
		{Name: "cache", Loader: cache.New(cache.Options{}).Loader},
		{Name: "state", Loader: state.New(state.Options{}).Loader},
		{Name: "json", Loader: bjson.New().Loader},
		{Name: "log", Loader: scriptlog.New(slog.New(slog.DiscardHandler)).Loader},
		{Name: "phone", Loader: phone.New().Loader},
		{Name: "env", Loader: env.New(map[string]string{"CRM_URL": "", "CRM_TOKEN": ""}).Loader},
		{Name: "time", Loader: clock.Loader, Load: clock.Load, Signatures: clock.Signatures()},
	}
}

// check lints files (path → source) as a scripts directory and returns
// the diagnostics as printed, with paths relative to the directory.
func check(t *testing.T, files map[string]string, mods ...luavm.Module) []string {
	t.Helper()
	dir := luavmtest.Dir(t, "", files)
	diags, err := lint.Dir(dir, append(modules(t), mods...))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(diags))
	for i, d := range diags {
		rel, err := filepath.Rel(dir, d.Path)
		if err != nil {
			t.Fatal(err)
		}
		d.Path = filepath.ToSlash(rel)
		out[i] = d.String()
	}
	return out
}

func expect(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// handler wraps a handler body (lines 2 on) in the script that returns it.
func handler(body string) string {
	return "return function(call)\n" + body + "\nend\n"
}

func TestTheFourMistakesInOneRun(t *testing.T) {
	got := check(t, map[string]string{
		"layers/5.lua": `return {
  fallback = 13,
  handle = function(call)
    return ivr.go_to_layr(3)
  end,
}`,
		"night.lua": `return function(call)
  local t = ivr.phone("0501234567")
  return ivr.dial(t, {caller_nmae = "Dana", next_vo_id = 15})
end`,
		"id.lua": `return function(call)
  if #call.dtmf == 8 then
    return ivr.go_to_layer(12)
  end
  return "12"
end`,
		"announce.lua": `return function(call)
  return ivr.say(ivr.digits(call.dtmf), {language = "HE"})
end`,
	})
	expect(t, got,
		"announce.lua:2: ivr.say: option next_layer is required",
		`id.lua:5: handler returns a string, want an action from ivr.dial, ivr.error, ivr.go_to_layer or ivr.say`,
		"layers/5.lua:4: unknown function ivr.go_to_layr (did you mean ivr.go_to_layer?)",
		`night.lua:3: ivr.dial: unknown option "caller_nmae" (did you mean "caller_name"?)`,
	)
}

func TestALocalNamedAfterAModuleIsNotIt(t *testing.T) {
	got := check(t, map[string]string{
		"local.lua": `local ivr = { go_to_layr = function() end }
ivr.go_to_layr(3)
return function(call) return call.go end`,
		"param.lua": `local function route(ivr, http)
  ivr.go_to_layr(3)
  http.gett("x")
end
return function(call) return route(call, call) end`,
		"for.lua": `for _, ivr in ipairs({}) do ivr.nope() end
for ivr = 1, 2 do local x = ivr.nope end
return function(call) return ivr.go_to_layer(1) end`,
		"reassigned.lua": `ivr = { go_to_layr = function() end }
return function(call) return ivr.go_to_layr(1) end`,
		"alias.lua": `local ivr = ivr
return function(call) return ivr.go_to_layr(1) end`,
		"inner.lua": `return function(call)
  do local ivr = call; ivr.go_to_layr(1) end
  return ivr.go_to_layr(2)
end`,
	})
	expect(t, got,
		"alias.lua:2: unknown function ivr.go_to_layr (did you mean ivr.go_to_layer?)",
		"inner.lua:3: unknown function ivr.go_to_layr (did you mean ivr.go_to_layer?)",
	)
}

func TestRequiredModulesAreChecked(t *testing.T) {
	got := check(t, map[string]string{
		"a.lua": `local http = require("http")
local h = require "http"
local j, p = require("json"), require("phone")
local alias = h
http_global = require("http")
return function(call)
  http.gett("u")
  h.post("u", {timout = 500})
  j.decod("{}")
  p.to_locl("050")
  alias.gett("u")
  http_global.gett("u")
  require("http").gett("u")
  http:gett("u")
  return ivr.go_to_layer(1)
end`,
	})
	expect(t, got,
		"a.lua:7: unknown function http.gett (did you mean http.get?)",
		`a.lua:8: http.post: unknown option "timout" (did you mean "timeout"?)`,
		"a.lua:9: unknown function json.decod (did you mean json.decode?)",
		"a.lua:10: unknown function phone.to_locl (did you mean phone.to_local?)",
		"a.lua:11: unknown function http.gett (did you mean http.get?)",
		"a.lua:12: unknown function http.gett (did you mean http.get?)",
		"a.lua:13: unknown function http.gett (did you mean http.get?)",
		"a.lua:14: unknown function http.gett (did you mean http.get?)",
	)
}

func TestAModuleIsReadOnly(t *testing.T) {
	got := check(t, map[string]string{
		"a.lua": `ivr.go_to_layr = ivr.go_to_layer
function ivr.helper() end
return function(call) return ivr.go_to_layer(1) end`,
	})
	expect(t, got,
		"a.lua:1: cannot set ivr.go_to_layr: module ivr is read-only",
		"a.lua:2: cannot set ivr.helper: module ivr is read-only",
	)
}

func TestUnknownModuleFunctionWithoutSuggestion(t *testing.T) {
	got := check(t, map[string]string{"a.lua": handler("return ivr.transfer(1)")})
	expect(t, got, "a.lua:2: unknown function ivr.transfer (ivr has date, datetime, dial, digits, error, extension, go_to_layer, number, phone, recording, say)")
}

func TestHandlerForms(t *testing.T) {
	bad := "    return 5\n"
	got := check(t, map[string]string{
		"table.lua":     "return {\n  fallback = 3,\n  handle = function(call)\n" + bad + "  end,\n}",
		"local-fn.lua":  "local function handle(call)\n  if call then return ivr.error() end\n" + bad + "end\nreturn handle",
		"local-tab.lua": "local function h(call)\n  if call then return ivr.error() end\n" + bad + "end\nreturn { handle = h, deadline = 100 }",
		"field.lua":     "local M = {}\nfunction M.handle(call)\n" + bad + "end\nreturn M",
		"assigned.lua":  "local M = { fallback = 2 }\nM.handle = function(call)\n" + bad + "end\nreturn M",
		"global.lua":    "function handle(call)\n" + bad + "end\nreturn handle",
		"nested.lua": `return function(call)
  local pick = function() return "not the handler's" end
  return ivr.go_to_layer(pick())
end`,
	})
	expect(t, got,
		"assigned.lua:3: handler returns a number, want an action from ivr.dial, ivr.error, ivr.go_to_layer or ivr.say",
		"field.lua:3: handler returns a number, want an action from ivr.dial, ivr.error, ivr.go_to_layer or ivr.say",
		"global.lua:2: handler returns a number, want an action from ivr.dial, ivr.error, ivr.go_to_layer or ivr.say",
		"local-fn.lua:3: handler returns a number, want an action from ivr.dial, ivr.error, ivr.go_to_layer or ivr.say",
		"local-tab.lua:3: handler returns a number, want an action from ivr.dial, ivr.error, ivr.go_to_layer or ivr.say",
		"table.lua:4: handler returns a number, want an action from ivr.dial, ivr.error, ivr.go_to_layer or ivr.say",
	)
}

func TestHandlerReturnsThatAreNoAction(t *testing.T) {
	got := check(t, map[string]string{"a.lua": handler(`  local n = tonumber(call.dtmf)
  if n == 1 then return end
  if n == 2 then return nil end
  if n == 3 then return {action = "GO_TO_LAYER"} end
  if n == 4 then return n == 4 end
  if n == 5 then return ivr.digits("5") end
  if n == 6 then return -6 end
  if n == 7 then return n end
  if n == 8 then return (ivr.say(ivr.number(8), {next_layer = 8})) end
  return ivr.error("no route")`)})
	want := "want an action from ivr.dial, ivr.error, ivr.go_to_layer or ivr.say"
	expect(t, got,
		"a.lua:3: handler returns nothing, "+want,
		"a.lua:4: handler returns nil, "+want,
		"a.lua:5: handler returns a table, "+want,
		"a.lua:6: handler returns a boolean, "+want,
		"a.lua:7: handler returns the value of ivr.digits, which is not an action; "+want,
		"a.lua:8: handler returns a number, "+want,
	)
}

func TestHandlerThatCanEndWithoutAnAction(t *testing.T) {
	cases := map[string]string{
		"if-no-else.lua": "  if call.dtmf == '1' then\n    return ivr.go_to_layer(1)\n  end",
		"for.lua":        "  for i = 1, 3 do\n    return ivr.go_to_layer(i)\n  end",
		"while-break.lua": "  while true do\n    if call.dtmf then break end\n" +
			"    return ivr.go_to_layer(1)\n  end",
		"elseif.lua": "  if call.dtmf == '1' then return ivr.go_to_layer(1)\n" +
			"  elseif call.dtmf == '2' then return ivr.go_to_layer(2)\n  end",
		"shadowed-error.lua": "  local error = print\n  error('no route')",
		"empty.lua":          "",
	}
	fine := map[string]string{
		"if-else.lua": "  if call.dtmf == '1' then return ivr.go_to_layer(1)\n" +
			"  elseif call.dtmf == '2' then return ivr.go_to_layer(2)\n  else return ivr.go_to_layer(3) end",
		"error.lua":      "  if call.dtmf == '1' then return ivr.go_to_layer(1) end\n  error('no route')",
		"assert.lua":     "  assert(false, 'no route')",
		"while-true.lua": "  while true do\n    if call.dtmf then return ivr.go_to_layer(1) end\n  end",
		"repeat.lua":     "  repeat\n    local d = call.dtmf\n  until false",
		"do.lua":         "  do\n    return ivr.go_to_layer(1)\n  end",
		"goto.lua":       "  goto done\n  ::done::\n  return ivr.go_to_layer(1)",
	}
	files := map[string]string{}
	var want []string
	for name, body := range cases {
		files[name] = handler(body)
		end := strings.Count(files[name], "\n")
		want = append(want, name+":"+strconv.Itoa(end)+": warning: handler can reach its end without returning an action")
	}
	for name, body := range fine {
		files[name] = handler(body)
	}
	slices.Sort(want)
	expect(t, check(t, files), want...)
}

func TestOptionTables(t *testing.T) {
	got := check(t, map[string]string{"a.lua": `local opts = {next_layre = 1}
local function o() return {next_layer = 1} end
return function(call)
  local d = call.dtmf
  if d == "1" then return ivr.say(ivr.digits(d), opts) end
  if d == "2" then return ivr.say(ivr.digits(d), o()) end
  if d == "3" then return ivr.say(ivr.digits(d), {[d] = 1}) end
  if d == "4" then return ivr.say(ivr.digits(d), {next_layer = "4", language = 4}) end
  if d == "5" then return ivr.say(ivr.digits(d), nil) end
  if d == "6" then return ivr.say(ivr.digits(d), "next_layer=6") end
  if d == "7" then return ivr.go_to_layer(7, {"Dana"}) end
  if d == "8" then return ivr.go_to_layer(8, {color = "red"}) end
  if d == "9" then return ivr.dial(ivr.phone("0501234567"), {recording = "yes", max_dial_duration = -1}) end
  if d == "10" then return ivr.say(ivr.digits(d), {next_layer = nil}) end
  if d == "11" then return ivr.go_to_layer(call.layer_id, {caller_name = d, custom_data = {a = 1}}) end
  return ivr.say(ivr.digits(d), {
    next_layer = 3,
    langauge = "HE",
  })
end`})
	expect(t, got,
		"a.lua:8: ivr.say: option language must be a string, got a number",
		"a.lua:9: ivr.say: option next_layer is required",
		"a.lua:10: ivr.say: options must be a table, got a string",
		"a.lua:11: ivr.go_to_layer: options are name = value pairs, got a string without a name",
		`a.lua:12: ivr.go_to_layer: unknown option "color" (options: caller_name, custom_data)`,
		"a.lua:13: ivr.dial: option recording must be a boolean, got a string",
		"a.lua:14: ivr.say: option next_layer is required",
		`a.lua:18: ivr.say: unknown option "langauge" (did you mean "language"?)`,
	)
}

func TestRequireNames(t *testing.T) {
	got := check(t, map[string]string{
		"lib/crm.lua":      "local M = {}\nfunction M.get() return require('http').get('u') end\nreturn M",
		"lib/util/fmt.lua": "return {}",
		"a.lua": `local crm = require("lib.crm")
local fmt = require("lib.util.fmt")
local bad = require("lib.crmm")
local ok, x = pcall(require, "time")
local clock = require("clock")
return function(call) return ivr.go_to_layer(1) end`,
		"b.lua": `local require = function(name) return {} end
local m = require("anything")
return function(call) return ivr.go_to_layer(1) end`,
	})
	expect(t, got,
		`a.lua:3: require: module "lib.crmm" not found (did you mean "lib.crm"?)`,
		`a.lua:5: require: module "clock" not found (Go modules: cache, env, http, ivr, json, log, phone, state, time; script modules: lib/NAME.lua as "lib.NAME": lib.crm, lib.util.fmt)`,
	)
}

func TestLibScripts(t *testing.T) {
	got := check(t, map[string]string{
		"lib/crm.lua": `local http = require("http")
local M = {}
function M.by_phone(phone)
  local res = http.gett("u", {query = {phone = phone}})
  if not res then return nil end
  return res.body
end
return M`,
		"caller.lua": `local crm = require("lib.crm")
return function(call) return ivr.go_to_layer(crm.by_phone(call.caller_id) or 1) end`,
	})
	expect(t, got, "lib/crm.lua:4: unknown function http.gett (did you mean http.get?)")
}

func TestUnknownGlobals(t *testing.T) {
	got := check(t, map[string]string{"a.lua": `local LAYERS = { a = 1 }
function helper(x) return later(x) end
function later(x) return x end
_G.exported = 1
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
return function(call)
  repeat local again = false until not again
  for k, v in pairs(LAYERS) do print(k, v, exported) end
  if calll.dtmf == "1" then return ivr.go_to_layer(LAYER.a) end
  local n = tonumber(call.dtmf) + fib(3) + helper(1)
  json.encode(n)
  return ivr.go_to_layer(n + undefined_thing)
end`})
	expect(t, got,
		`a.lua:9: warning: unknown global "calll" (did you mean "call"?)`,
		`a.lua:9: warning: unknown global "LAYER" (did you mean "LAYERS"?)`,
		`a.lua:11: warning: unknown global "json": Go module json is not a global, require it (local json = require("json"))`,
		`a.lua:12: warning: unknown global "undefined_thing": no local, sandbox global or assignment in this file defines it`,
	)
}

func TestASyntaxErrorStopsOnlyItsFile(t *testing.T) {
	got := check(t, map[string]string{
		"broken.lua":   "return function(call)\n  if call.dtmf then\n    return ivr.go_to_layer(1)\n  ende\nend\n",
		"unclosed.lua": "return function(call)\n  return ivr.go_to_layer(1)\n",
		"break.lua":    "do break end\nreturn function(call) return ivr.go_to_layer(1) end\n",
		"other.lua":    handler("return ivr.go_to_layr(1)"),
	})
	expect(t, got,
		"break.lua:1: no loop to break",
		`broken.lua:4:6: syntax error near "ende"`,
		"other.lua:2: unknown function ivr.go_to_layr (did you mean ivr.go_to_layer?)",
		"unclosed.lua:2: syntax error at the end of the file",
	)
}

func TestModulesWithoutAKnownTable(t *testing.T) {
	loaded := ""
	got := check(t, map[string]string{
		"a.lua": `local cal = require("calendar")
local odd = require("odd")
local later = require("later")
return function(call)
  cal.is_holday()
  odd.anything()
  later.anything()
  return ivr.go_to_layer(1)
end`,
	},
		luavm.Module{Name: "calendar", Load: func(dir string) (lua.LGFunction, error) {
			loaded = dir
			return func(L *lua.LState) int {
				t := L.NewTable()
				t.RawSetString("is_holiday", L.NewFunction(func(*lua.LState) int { return 0 }))
				L.Push(t)
				return 1
			}, nil
		}},
		luavm.Module{Name: "odd", Loader: func(L *lua.LState) int { L.RaiseError("needs a call"); return 0 }},
		luavm.Module{Name: "later", Load: func(string) (lua.LGFunction, error) { return nil, errors.New("no calendars/") }},
	)
	expect(t, got, "a.lua:5: unknown function calendar.is_holday (did you mean calendar.is_holiday?)")
	if loaded == "" {
		t.Error("Load was not given the scripts directory")
	}
}

func TestBundledExamplesAreClean(t *testing.T) {
	diags, err := lint.Dir("../../scripts", modules(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diags {
		t.Error(d)
	}
}

func TestDiagnosticString(t *testing.T) {
	for _, tc := range []struct {
		d    lint.Diagnostic
		want string
	}{
		{lint.Diagnostic{Path: "s/a.lua", Line: 3, Msg: "m"}, "s/a.lua:3: m"},
		{lint.Diagnostic{Path: "s/a.lua", Line: 3, Severity: lint.Warning, Msg: "m"}, "s/a.lua:3: warning: m"},
		{lint.Diagnostic{Path: "s/a.lua", Line: 3, Col: 7, Msg: "m"}, "s/a.lua:3:7: m"},
		{lint.Diagnostic{Path: "s/a.lua", Msg: "m"}, "s/a.lua: m"},
	} {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	if lint.HasErrors([]lint.Diagnostic{{Severity: lint.Warning}}) || !lint.HasErrors([]lint.Diagnostic{{Severity: lint.Warning}, {}}) {
		t.Error("HasErrors counts only errors")
	}
}

func TestDirSortsAndFailsOnlyForItsDirectory(t *testing.T) {
	if _, err := lint.Dir(filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Error("want an error for a missing directory")
	}
	got := check(t, map[string]string{
		"b.lua":       handler("return ivr.go_to_layr(1)\n  -- " + "\n"),
		"a.lua":       "x.y = 1\n" + handler("return 1"),
		".hidden.lua": "this is not lua",
		"notes.txt":   "nor this",
	})
	expect(t, got,
		`a.lua:1: warning: unknown global "x": no local, sandbox global or assignment in this file defines it`,
		"a.lua:3: handler returns a number, want an action from ivr.dial, ivr.error, ivr.go_to_layer or ivr.say",
		"b.lua:2: unknown function ivr.go_to_layr (did you mean ivr.go_to_layer?)",
	)
}

// types/ holds LuaLS ---@meta definitions, which assign module tables and
// declare empty functions: check reads none of it, as the loader loads none.
func TestDirSkipsTypes(t *testing.T) {
	got := check(t, map[string]string{
		"types/ivr.lua":    "---@meta ivr\nivr = {}\nfunction ivr.go_to_layer(layer, opts) end\nreturn ivr",
		"types/broken.lua": "this is not lua",
		"a.lua":            handler("return ivr.go_to_layer(1)"),
	})
	expect(t, got)
}

func TestSource(t *testing.T) {
	got := lint.Source("lib/x.lua", []byte("local M = {}\nfunction M.f() return ivr.sya() end\nreturn M"), lint.Options{Modules: modules(t), Lib: true})
	if len(got) != 1 || got[0].String() != "lib/x.lua:2: unknown function ivr.sya (did you mean ivr.say?)" {
		t.Errorf("got %v", got)
	}
}

// Every name Globals lists is a global of every script, and names the
// sandbox leaves out are not: the linter warns of exactly what a script
// cannot read.
func TestGlobalsMatchTheSandbox(t *testing.T) {
	names := luavm.Globals()
	absent := []string{"load", "loadstring", "loadfile", "dofile", "getfenv", "setfenv", "collectgarbage", "module", "os", "io", "debug", "coroutine"}
	dir := luavmtest.Dir(t, "", map[string]string{"globals.lua": `return function(call)
  local out = {}
  for name in call:gmatch("%S+") do
    if _G[name] ~= nil then out[#out + 1] = name end
  end
  return table.concat(out, " ")
end`})
	e, err := luavm.NewEngine(dir, luavm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	out, err := luavmtest.Run(e, "globals", "id", strings.Join(append(slices.Clone(names), absent...), " "))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(out); !slices.Equal(got, names) {
		t.Errorf("of %v and %v, scripts have %v; want exactly the first", names, absent, got)
	}
}

func TestSetmetatableOnATypeIsAnError(t *testing.T) {
	got := check(t, map[string]string{"a.lua": `setmetatable(0, {})
local ok = setmetatable({}, { __index = {} })
return function(call)
  setmetatable(true, {})
  setmetatable("x", {})
  setmetatable(call, {})
  return ivr.go_to_layer(1)
end
`})
	expect(t, got,
		"a.lua:1: setmetatable on a number: only a table can take a metatable",
		"a.lua:4: setmetatable on a boolean: only a table can take a metatable",
		"a.lua:5: setmetatable on a string: only a table can take a metatable",
	)
}

// TestLiteralValuesAreCheckedByTheModule: a module's own checks (here a
// test module's) see the literal values a script spells out.
func TestLiteralValuesAreCheckedByTheModule(t *testing.T) {
	zone := func(v any) error {
		if s, ok := v.(string); ok && s != "Asia/Jerusalem" {
			return fmt.Errorf("unknown zone %q", s)
		}
		return nil
	}
	clock := luavm.Module{Name: "clock", Loader: func(L *lua.LState) int {
		t := L.NewTable()
		t.RawSetString("now", L.NewFunction(func(*lua.LState) int { return 0 }))
		t.RawSetString("hours", L.NewFunction(func(*lua.LState) int { return 0 }))
		L.Push(t)
		return 1
	}, Signatures: map[string]luavm.Signature{
		"now":   {Args: []luavm.Arg{{Check: zone}}},
		"hours": {OptionsArg: 1, Options: []luavm.Option{{Name: "zone", Check: zone}, {Name: "closed", Check: zone}}},
	}}
	got := check(t, map[string]string{"a.lua": `local clock = require("clock")
local ok = clock.now("Asia/Jerusalem")
return function(call)
  clock.now("Asia/Jerusalm")
  clock.now(call.zone)
  clock.hours({ zone = "Mars/Base", closed = { "Asia/Jerusalem", "Moon" } })
  return ivr.go_to_layer(1)
end
`}, clock)
	expect(t, got,
		`a.lua:4: clock.now: unknown zone "Asia/Jerusalm"`,
		`a.lua:6: clock.hours: unknown zone "Mars/Base"`,
		`a.lua:6: clock.hours: unknown zone "Moon"`,
	)
}

// An events script's answer goes nowhere: its handler need not return an
// action, and its code is checked all the same.
func TestAnEventsScriptNeedsNoAction(t *testing.T) {
	got := check(t, map[string]string{
		"default.lua":    "return function(call) return ivr.go_to_layer(1) end",
		"events/cdr.lua": "return function(cdr)\n  if cdr.status == 'ANSWER' then return end\n  ivr.go_to_layr(2)\nend",
	})
	expect(t, got, `events/cdr.lua:3: unknown function ivr.go_to_layr (did you mean ivr.go_to_layer?)`)
}
