package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
	lua "github.com/yuin/gopher-lua"
	luaparse "github.com/yuin/gopher-lua/parse"
)

// The editor definitions of scripts/types/ (LuaLS ---@meta files) say what
// the Go modules do: these tests fail when the two drift apart. They read
// the definitions simply, line by line, as the files are written: one file
// per module, `local M = {}` (ivr: the global), `function M.name(...)`,
// `---@class` blocks of `---@field`s, `---@alias` on one line.

const typesDir = "../scripts/types"

// luaTypes is what the definition files declare.
type luaTypes struct {
	files   map[string]*typesFile // by module name (---@meta NAME)
	classes map[string]*typesClass
	aliases map[string]string
}

type typesFile struct {
	path, module string
	table        string // the variable the file returns: the module's table
	tables       map[string]*typesTable
}

// typesTable is a table a file builds: the module's, or a class's methods.
type typesTable struct {
	class  string // the ---@class of `local X = {}`
	funcs  map[string]*typesFunc
	values map[string]bool // X.name = ... (json.null)
}

type typesFunc struct {
	name   string
	method bool
	params []string
	param  map[string]string // ---@param name → type, ? dropped
	ret    []string          // ---@return types
	where  string
}

type typesClass struct {
	name, parent string
	fields       map[string]typesField
	where        string
}

type typesField struct {
	typ      string
	optional bool
}

var (
	metaLine  = regexp.MustCompile(`^---@meta\s+([A-Za-z_][\w.]*)\s*$`)
	classLine = regexp.MustCompile(`^---@class\s+([\w.]+)(?:\s*:\s*([\w.]+))?`)
	fieldLine = regexp.MustCompile(`^---@field\s+([A-Za-z_]\w*)(\??)\s+(.*)$`)
	aliasLine = regexp.MustCompile(`^---@alias\s+([\w.]+)\s+(.*)$`)
	paramLine = regexp.MustCompile(`^---@param\s+([A-Za-z_]\w*)(\??)\s+(.*)$`)
	retLine   = regexp.MustCompile(`^---@return\s+(.*)$`)
	tableLine = regexp.MustCompile(`^(?:local\s+)?([A-Za-z_]\w*)\s*=\s*\{\s*\}\s*$`)
	funcLine  = regexp.MustCompile(`^function\s+([A-Za-z_]\w*)([.:])([A-Za-z_]\w*)\s*\(([^)]*)\)\s*end\s*$`)
	valueLine = regexp.MustCompile(`^([A-Za-z_]\w*)\.([A-Za-z_]\w*)\s*=`)
	retStmt   = regexp.MustCompile(`^return\s+([A-Za-z_]\w*)\s*$`)
)

// leadingType splits an annotation's type from the words after it: a type
// ends at a space outside brackets that neither follows nor precedes a |,
// a comma or a colon.
func leadingType(s string) (typ, rest string) {
	s = strings.TrimSpace(s)
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<', '(', '[', '{':
			depth++
		case '>', ')', ']', '}':
			depth--
		case ' ', '\t':
			if depth > 0 {
				continue
			}
			prev := strings.TrimRight(s[:i], " \t")
			next := strings.TrimLeft(s[i:], " \t")
			if strings.HasSuffix(prev, "|") || strings.HasSuffix(prev, ",") || strings.HasSuffix(prev, ":") || strings.HasPrefix(next, "|") {
				continue
			}
			return s[:i], strings.TrimSpace(s[i:])
		}
	}
	return s, ""
}

func readTypes(t *testing.T) *luaTypes {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(typesDir, "*.lua"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no definitions in %s: %v", typesDir, err)
	}
	lt := &luaTypes{files: map[string]*typesFile{}, classes: map[string]*typesClass{}, aliases: map[string]string{}}
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// They are Lua, and a broken one would confuse the editor.
		if _, err := luaparse.Parse(bytes.NewReader(src), path); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		f := lt.readFile(t, path, src)
		if f == nil {
			continue
		}
		if other := lt.files[f.module]; other != nil {
			t.Errorf("%s and %s both define module %s", other.path, path, f.module)
		}
		lt.files[f.module] = f
	}
	return lt
}

func (lt *luaTypes) readFile(t *testing.T, path string, src []byte) *typesFile {
	t.Helper()
	base := strings.TrimSuffix(filepath.Base(path), ".lua")
	sc := bufio.NewScanner(bytes.NewReader(src))
	if !sc.Scan() {
		t.Errorf("%s is empty", path)
		return nil
	}
	m := metaLine.FindStringSubmatch(sc.Text())
	if m == nil || m[1] != base {
		// ---@meta first, so that the file is never taken for code, and
		// named, so that require("NAME") finds it.
		t.Errorf("%s:1: want ---@meta %s, got %q", path, base, sc.Text())
		return nil
	}
	f := &typesFile{path: path, module: m[1], tables: map[string]*typesTable{}}
	var class *typesClass
	var lastClass string
	fn := &typesFunc{param: map[string]string{}}
	for n := 2; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		where := path + ":" + strconv.Itoa(n)
		if strings.HasPrefix(line, "---") {
			switch {
			case classLine.MatchString(line):
				m := classLine.FindStringSubmatch(line)
				if lt.classes[m[1]] != nil {
					t.Errorf("%s: class %s defined twice", where, m[1])
				}
				class = &typesClass{name: m[1], parent: m[2], fields: map[string]typesField{}, where: where}
				lt.classes[m[1]], lastClass = class, m[1]
			case fieldLine.MatchString(line):
				m := fieldLine.FindStringSubmatch(line)
				if class == nil {
					t.Errorf("%s: ---@field outside a class", where)
					continue
				}
				typ, _ := leadingType(m[3])
				class.fields[m[1]] = typesField{typ: typ, optional: m[2] == "?"}
			case aliasLine.MatchString(line):
				m := aliasLine.FindStringSubmatch(line)
				lt.aliases[m[1]] = strings.TrimSpace(m[2])
			case paramLine.MatchString(line):
				m := paramLine.FindStringSubmatch(line)
				typ, _ := leadingType(m[3])
				fn.param[m[1]] = typ
			case retLine.MatchString(line):
				typ, _ := leadingType(retLine.FindStringSubmatch(line)[1])
				fn.ret = append(fn.ret, typ)
			}
			continue
		}
		switch {
		case tableLine.MatchString(line):
			name := tableLine.FindStringSubmatch(line)[1]
			f.tables[name] = &typesTable{class: lastClass, funcs: map[string]*typesFunc{}, values: map[string]bool{}}
		case funcLine.MatchString(line):
			m := funcLine.FindStringSubmatch(line)
			tb := f.tables[m[1]]
			if tb == nil {
				t.Errorf("%s: function of %s, which no `%s = {}` before it makes", where, m[1], m[1])
				break
			}
			fn.name, fn.method, fn.where = m[3], m[2] == ":", where
			for _, p := range strings.Split(m[4], ",") {
				if p = strings.TrimSpace(p); p != "" {
					fn.params = append(fn.params, p)
				}
			}
			for p := range fn.param {
				if !slices.Contains(fn.params, p) {
					t.Errorf("%s: ---@param %s is not a parameter of %s", where, p, fn.name)
				}
			}
			if tb.funcs[fn.name] != nil {
				t.Errorf("%s: %s.%s defined twice", where, m[1], fn.name)
			}
			tb.funcs[fn.name] = fn
		case valueLine.MatchString(line):
			m := valueLine.FindStringSubmatch(line)
			if tb := f.tables[m[1]]; tb != nil {
				tb.values[m[2]] = true
			}
		case retStmt.MatchString(line):
			f.table = retStmt.FindStringSubmatch(line)[1]
		}
		// Any other line, a blank one too, ends the annotation block.
		class, lastClass = nil, ""
		fn = &typesFunc{param: map[string]string{}}
	}
	if f.tables[f.table] == nil {
		t.Errorf("%s: want the module's table made (`local M = {}`) and returned (`return M`) at the end", path)
		return nil
	}
	return f
}

// luaTypes maps an annotation's type to the Lua types a value of it may
// have ("string", "number", "table", ...; "any" for any), as
// luavm.Option.Types names them.
func (lt *luaTypes) luaTypes(t *testing.T, typ, where string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	var walk func(typ string, depth int)
	walk = func(typ string, depth int) {
		if depth > 10 {
			t.Errorf("%s: alias %s refers to itself", where, typ)
			return
		}
		for _, part := range splitUnion(typ) {
			part = strings.TrimSuffix(strings.TrimSpace(part), "?")
			if strings.HasPrefix(part, "(") && strings.HasSuffix(part, ")") {
				walk(part[1:len(part)-1], depth+1)
				continue
			}
			switch {
			case part == "nil":
			case part == "any":
				out["any"] = true
			case part == "string" || strings.HasPrefix(part, `"`):
				out["string"] = true
			case part == "number" || part == "integer":
				out["number"] = true
			case part == "boolean" || part == "true" || part == "false":
				out["boolean"] = true
			case part == "table" || strings.HasPrefix(part, "table<") || strings.HasSuffix(part, "[]"):
				out["table"] = true
			case part == "function" || strings.HasPrefix(part, "fun("):
				out["function"] = true
			case part == "userdata":
				out["userdata"] = true
			case lt.aliases[part] != "":
				walk(lt.aliases[part], depth+1)
			case lt.classes[part] != nil:
				if lt.classes[part].parent == "userdata" {
					out["userdata"] = true
				} else {
					out["table"] = true
				}
			default:
				t.Errorf("%s: unknown type %q", where, part)
			}
		}
	}
	walk(typ, 0)
	return out
}

// splitUnion splits a|b|c at the top level.
func splitUnion(typ string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(typ); i++ {
		switch typ[i] {
		case '<', '(', '[', '{':
			depth++
		case '>', ')', ']', '}':
			depth--
		case '|':
			if depth == 0 {
				parts = append(parts, typ[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, typ[start:])
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// serverModules are the modules a server gives its scripts, as serve
// builds them.
func serverModules(t *testing.T) ([]luavm.Module, string) {
	t.Helper()
	dir, err := filepath.Abs("../scripts")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Scripts: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}.withDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger}
	mods, err := s.modules()
	if err != nil {
		t.Fatal(err)
	}
	return mods, dir
}

// moduleTable builds a module's table as a VM does (as ivrouter check
// does, in a scratch state) and returns it with the state.
func moduleTable(t *testing.T, m luavm.Module, dir string) (*lua.LState, *lua.LTable) {
	t.Helper()
	loader := m.Loader
	if m.Load != nil {
		l, err := m.Load(dir)
		if err != nil {
			t.Fatalf("%s: Load: %v", m.Name, err)
		}
		loader = l
	}
	L := lua.NewState()
	t.Cleanup(L.Close)
	L.Push(L.NewFunction(loader))
	if err := L.PCall(0, 1, nil); err != nil {
		t.Fatalf("%s: loader: %v", m.Name, err)
	}
	tb, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("%s: loader returned %s, want a table", m.Name, L.Get(-1).Type())
	}
	return L, tb
}

// Every module the server registers has a definition file; every name
// of its table is defined there (a function as a function), and nothing
// else is; an options table's fields are its Signature's options, by name,
// requiredness and type; the builders that return ivr.Action are the
// Signatures' actions.
func TestTypesMatchTheModules(t *testing.T) {
	lt := readTypes(t)
	mods, dir := serverModules(t)
	seen := map[string]bool{}
	for _, m := range mods {
		seen[m.Name] = true
		f := lt.files[m.Name]
		if f == nil {
			t.Errorf("module %s has no definitions: add scripts/types/%s.lua", m.Name, m.Name)
			continue
		}
		tb := f.tables[f.table]
		_, table := moduleTable(t, m, dir)
		goNames := map[string]bool{}
		table.ForEach(func(k, v lua.LValue) {
			name, ok := k.(lua.LString)
			if !ok {
				return
			}
			goNames[string(name)] = true
			_, isFunc := v.(*lua.LFunction)
			switch def := tb.funcs[string(name)]; {
			case isFunc && def == nil:
				t.Errorf("%s.%s has no definition: add `function %s.%s(...) end` to %s", m.Name, name, f.table, name, f.path)
			case isFunc && def.method:
				t.Errorf("%s: %s.%s is a function of the module, not a method", def.where, m.Name, name)
			case !isFunc && !tb.values[string(name)]:
				t.Errorf("%s.%s (a %s) has no definition: add `%s.%s = ...` with its ---@type to %s", m.Name, name, v.Type(), f.table, name, f.path)
			}
		})
		for _, name := range append(keys(tb.funcs), keys(tb.values)...) {
			if !goNames[name] {
				t.Errorf("%s defines %s.%s, which the Go module does not have", f.path, m.Name, name)
			}
		}
		for _, name := range keys(tb.funcs) {
			def := tb.funcs[name]
			sig, hasSig := m.Signatures[name]
			checkOptions(t, lt, m.Name, def, sig)
			if m.Signatures == nil {
				continue
			}
			returnsAction := slices.Contains(def.ret, "ivr.Action")
			if returnsAction != (hasSig && sig.Action) {
				t.Errorf("%s: %s.%s: ---@return ivr.Action is %v, its Signature's Action %v", def.where, m.Name, name, returnsAction, sig.Action)
			}
		}
		for name := range m.Signatures {
			if tb.funcs[name] == nil {
				t.Errorf("%s.%s has a Signature but no definition in %s", m.Name, name, f.path)
			}
		}
	}
	for name, f := range lt.files {
		if !seen[name] {
			t.Errorf("%s defines module %s, which the server does not register", f.path, name)
		}
	}
}

// checkOptions compares the parameter of def that an options class types
// with the Signature's options table.
func checkOptions(t *testing.T, lt *luaTypes, mod string, def *typesFunc, sig luavm.Signature) {
	t.Helper()
	fn := mod + "." + def.name
	for i, p := range def.params {
		typ := strings.TrimSuffix(strings.TrimSuffix(def.param[p], "|nil"), "?")
		class := lt.classes[typ]
		isOptions := class != nil && strings.HasSuffix(class.name, "Options")
		if i+1 == sig.OptionsArg && !isOptions {
			t.Errorf("%s: %s takes options as argument %d, but ---@param %s is %q, not an ...Options class", def.where, fn, sig.OptionsArg, p, def.param[p])
		}
		if !isOptions {
			continue
		}
		if i+1 != sig.OptionsArg {
			t.Errorf("%s: %s: ---@param %s is options (%s), but the Signature's OptionsArg is %d", def.where, fn, p, typ, sig.OptionsArg)
			continue
		}
		var names []string
		for _, o := range sig.Options {
			names = append(names, o.Name)
			field, ok := class.fields[o.Name]
			if !ok {
				t.Errorf("%s: %s has no field %s, an option of %s", class.where, class.name, o.Name, fn)
				continue
			}
			if field.optional == o.Required {
				t.Errorf("%s: %s.%s: optional %v (---@field %s?), but the option's Required is %v", class.where, class.name, o.Name, field.optional, o.Name, o.Required)
			}
			want := o.Types
			if len(want) == 0 {
				want = []string{"any"}
			}
			got := keys(lt.luaTypes(t, field.typ, class.where))
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s.%s is %s, which is Lua %v; the option takes %v", class.where, class.name, o.Name, field.typ, got, want)
			}
		}
		for _, name := range keys(class.fields) {
			if !slices.Contains(names, name) {
				t.Errorf("%s: %s has field %s, which is no option of %s", class.where, class.name, name, fn)
			}
		}
	}
}

// fieldsMatch compares a class's fields with a table Go builds: the same
// names, each value of a type the field allows.
func fieldsMatch(t *testing.T, lt *luaTypes, className string, tb *lua.LTable) {
	t.Helper()
	class := lt.classes[className]
	if class == nil {
		t.Errorf("no class %s in %s", className, typesDir)
		return
	}
	got := map[string]bool{}
	tb.ForEach(func(k, v lua.LValue) {
		name := k.String()
		got[name] = true
		field, ok := class.fields[name]
		if !ok {
			t.Errorf("%s: %s lacks field %s (a %s)", class.where, className, name, v.Type())
			return
		}
		types := lt.luaTypes(t, field.typ, class.where)
		if !types["any"] && !types[v.Type().String()] {
			t.Errorf("%s: %s.%s is %s, but Go sets a %s", class.where, className, name, field.typ, v.Type())
		}
	})
	for _, name := range keys(class.fields) {
		if !got[name] {
			t.Errorf("%s: %s has field %s, which Go does not set", class.where, className, name)
		}
	}
}

// The call table a handler gets, the time tables, the methods of time's
// objects and the keys of a script's returned table are defined as Go
// makes them.
func TestTypesMatchTheTables(t *testing.T) {
	lt := readTypes(t)

	L := lua.NewState()
	defer L.Close()
	req := &ivr.Request{DID: "0722776772", CallerID: "0501234567", UniqueID: "u", DTMF: "1", LayerID: 5,
		PreviousLayerID: 4, HasPrevious: true, HasCustomData: true, CustomData: []ivr.Field{{Key: "k", Value: "v"}}}
	fieldsMatch(t, lt, "ivr.Call", req.Table(L))
	if class := lt.classes["ivr.Call"]; class != nil {
		for _, name := range []string{"previous_layer_id", "custom_data"} {
			if !class.fields[name].optional {
				t.Errorf("%s: ivr.Call.%s may be nil: want ---@field %s?", class.where, name, name)
			}
		}
	}

	mods, dir := serverModules(t)
	for _, m := range mods {
		if m.Name != "time" {
			continue
		}
		L, tb := moduleTable(t, m, dir)
		call := func(src string) lua.LValue {
			t.Helper()
			fn, err := L.LoadString("local time = ... " + src)
			if err != nil {
				t.Fatal(err)
			}
			L.Push(fn)
			L.Push(tb)
			if err := L.PCall(1, 1, nil); err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			v := L.Get(-1)
			L.Pop(1)
			return v
		}
		now, ok := call(`return time.now("Asia/Jerusalem")`).(*lua.LTable)
		if !ok {
			t.Fatal("time.now returned no table")
		}
		fieldsMatch(t, lt, "time.Table", now)
		for src, class := range map[string]string{
			`return time.hours({ mon = "08:00-18:00" })`: "time.Hours",
			`return time.calendar("israel")`:             "time.Calendar",
		} {
			ud, ok := call(src).(*lua.LUserData)
			if !ok {
				t.Fatalf("%s: no object", src)
			}
			index, _ := ud.Metatable.(*lua.LTable).RawGetString("__index").(*lua.LTable)
			methods := map[string]bool{}
			index.ForEach(func(k, _ lua.LValue) { methods[k.String()] = true })
			checkMethods(t, lt, class, methods)
		}
	}

	// The returned table's keys, as the loader lists them when it meets
	// another.
	sdir := luavmtest.Dir(t, "", map[string]string{"x.lua": "return { handle = function() end, not_a_key = 1 }"})
	_, err := luavm.Build(sdir, luavm.Options{VMs: 1})
	m := regexp.MustCompile(`\(keys: ([a-z_, ]+)\)`).FindStringSubmatch(errString(err))
	if m == nil {
		t.Fatalf("the loader's error does not list the returned table's keys: %v", err)
	}
	class := lt.classes["ivr.Script"]
	if class == nil {
		t.Fatal("no class ivr.Script")
	}
	want := strings.Split(m[1], ", ")
	sort.Strings(want)
	if got := keys(class.fields); !slices.Equal(got, want) {
		t.Errorf("%s: ivr.Script has fields %v, a script's returned table takes %v", class.where, got, want)
	}
	if class.fields["handle"].optional || !class.fields["fallback"].optional || !class.fields["deadline"].optional {
		t.Errorf("%s: ivr.Script: handle is required, fallback and deadline optional", class.where)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// checkMethods compares the methods a class's table defines with an
// object's.
func checkMethods(t *testing.T, lt *luaTypes, class string, methods map[string]bool) {
	t.Helper()
	var tb *typesTable
	for _, f := range lt.files {
		for _, x := range f.tables {
			if x.class == class {
				tb = x
			}
		}
	}
	if tb == nil {
		t.Errorf("no `local X = {}` of class %s in %s", class, typesDir)
		return
	}
	for name := range methods {
		if def := tb.funcs[name]; def == nil || !def.method {
			t.Errorf("%s has method %s, which %s does not define as `function X:%s(...) end`", class, name, typesDir, name)
		}
	}
	for name := range tb.funcs {
		if !methods[name] {
			t.Errorf("%s defines %s:%s, which Go's object does not have", typesDir, class, name)
		}
	}
}

// With lua-language-server installed, the definitions do what they are
// for: a misspelled builder and an argument of the wrong type are
// diagnosed, a correct script is not.
func TestTypesInLuaLanguageServer(t *testing.T) {
	bin, err := exec.LookPath("lua-language-server")
	if err != nil {
		t.Skip("lua-language-server is not installed")
	}
	dir := t.TempDir()
	copyFile(t, "../scripts/.luarc.json", filepath.Join(dir, ".luarc.json"))
	paths, _ := filepath.Glob(filepath.Join(typesDir, "*.lua"))
	for _, p := range paths {
		copyFile(t, p, filepath.Join(dir, "types", filepath.Base(p)))
	}
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("good.lua", `local http = require("http")
local time = require("time")
local HOURS = time.hours({ sun = "08:00-18:00", zone = "Asia/Jerusalem", closed = "israel" })
---@param call ivr.Call
return function(call)
  local res = http.get("http://crm.example/x", { timeout = 500 })
  if res and res.status == 200 and HOURS:open() then
    return ivr.say({ ivr.digits(call.dtmf) }, { next_layer = 3, language = "HE" })
  end
  return ivr.go_to_layer(call.layer_id + 1, { custom_data = { n = 1 } })
end
`)
	write("bad.lua", `---@param call ivr.Call
return function(call)
  if call.dtmf == "1" then return ivr.go_to_layr(3) end
  return ivr.go_to_layer({})
end
`)
	logs := t.TempDir()
	out, err := exec.Command(bin, "--check="+dir, "--checklevel=Warning", "--logpath="+logs).CombinedOutput()
	if err != nil {
		t.Logf("lua-language-server: %v\n%s", err, out)
	}
	var report map[string][]struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	found := false
	_ = filepath.WalkDir(logs, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &report) == nil {
				found = true
			}
		}
		return nil
	})
	if !found {
		t.Skipf("lua-language-server wrote no JSON report:\n%s", out)
	}
	codes := map[string][]string{}
	for uri, diags := range report {
		name := filepath.Base(uri)
		if strings.Contains(filepath.ToSlash(uri), "/types/") {
			name = "types/" + name
		}
		for _, d := range diags {
			codes[name] = append(codes[name], d.Code+": "+d.Message)
		}
	}
	if len(codes["good.lua"]) > 0 {
		t.Errorf("good.lua: %v", codes["good.lua"])
	}
	bad := strings.Join(codes["bad.lua"], "\n")
	for _, want := range []string{"undefined-field", "param-type-mismatch"} {
		if !strings.Contains(bad, want) {
			t.Errorf("bad.lua: no %s among\n%s", want, bad)
		}
	}
	for name := range codes {
		if strings.HasPrefix(name, "types/") {
			t.Errorf("%s is diagnosed: %v", name, codes[name])
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
