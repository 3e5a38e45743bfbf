package luavm

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// vm is one sandboxed LState with the scripts of a Set instantiated in it.
// Only the goroutine that owns it touches it.
type vm struct {
	L      *lua.LState
	set    *Set
	ctx    runCtx
	base   *lua.LTable            // what every script's globals start from
	envs   []*env                 // by Script.index, filled as scripts load
	mods   map[string]lua.LValue  // required modules
	frozen map[*lua.LTable]string // metatables of read-only tables → their name
	envOf  map[*lua.LTable]*env   // metatables of globals tables → their env
	dirty  []*env                 // envs whose globals a call wrote

	patterns patternCache // compiled Lua patterns, this VM's own

	validating bool // the first VM of a set: its loads record script settings
	slot       int  // Options.Inline: its place in Set.running, kept by its replacement
}

// env is one script's globals in one VM. E stays empty for ever, so every
// global write reaches __newindex: while the script loads it lands in
// globals; during a call it lands in a per-call copy that is dropped after.
type env struct {
	script  *Script
	E, meta *lua.LTable
	globals *lua.LTable
	scratch *lua.LTable
	loading bool
	handle  *lua.LFunction
}

// baseNames are the base library functions scripts get. Left out: load,
// loadstring, loadfile, dofile (code from outside the compiled set),
// getfenv/setfenv (reach and replace other functions' globals),
// collectgarbage (stops the world), module, newproxy, _printregs.
var baseNames = []string{
	"assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall",
	"rawequal", "rawget", "select", "setmetatable", "tonumber", "tostring",
	"type", "unpack", "xpcall", "_VERSION",
}

func newVM(set *Set) *vm {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:        true,
		CallStackSize:       200,
		RegistrySize:        1024,
		RegistryMaxSize:     1 << 20,
		MinimizeStackMemory: true,
		IncludeGoStackTrace: true,
	})
	v := &vm{
		L:      L,
		set:    set,
		envs:   make([]*env, len(set.scripts)),
		mods:   map[string]lua.LValue{},
		frozen: map[*lua.LTable]string{},
		envOf:  map[*lua.LTable]*env{},
	}
	v.ctx.clock, v.ctx.mem, v.ctx.reserve = set.opts.Clock, set.opts.CallMemory, set.opts.Reserve
	if set.opts.SharedMemory > 0 {
		v.ctx.shared, v.ctx.sharedSize = set.opts.shared, set.opts.SharedMemory
	}
	L.SetContext(&v.ctx)
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	v.base = v.sandbox()
	return v
}

// sandbox builds the base globals: allowlisted functions and read-only
// proxies of the libraries, so no call can change what the next one sees.
func (v *vm) sandbox() *lua.LTable {
	L := v.L
	g := L.G.Global
	base := L.CreateTable(0, 32)
	for _, name := range baseNames {
		base.RawSetString(name, g.RawGetString(name))
	}
	base.RawSetString("rawset", L.NewFunction(v.rawset))
	base.RawSetString("setmetatable", L.NewFunction(setmetatable(g.RawGetString("setmetatable").(*lua.LFunction).GFunction)))
	base.RawSetString("print", L.NewFunction(v.print))
	base.RawSetString("require", L.NewFunction(v.require))

	str := g.RawGetString("string").(*lua.LTable)
	str.RawSetString("__index", lua.LNil) // the library was its own metatable
	str.RawSetString("dump", lua.LNil)
	rep := str.RawGetString("rep").(*lua.LFunction).GFunction
	str.RawSetString("rep", L.NewFunction(func(L *lua.LState) int {
		if n := L.CheckInt(2); n > 0 && len(L.CheckString(1)) > v.set.opts.MaxString/n {
			L.RaiseError("string.rep: result would be over %d bytes", v.set.opts.MaxString)
		}
		return rep(L)
	}))
	v.installPatterns(str)
	strMT := L.CreateTable(0, 2)
	strMT.RawSetString("__index", str)
	strMT.RawSetString("__metatable", lua.LString("locked"))
	L.SetMetatable(lua.LString(""), strMT)
	base.RawSetString("string", v.freeze(str, "string"))

	tab := g.RawGetString("table").(*lua.LTable)
	for _, name := range []string{"insert", "remove", "sort"} {
		fn := tab.RawGetString(name).(*lua.LFunction).GFunction
		qualified := "table." + name // built once, not per call
		tab.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			v.checkWritable(L, qualified, L.CheckTable(1))
			return fn(L)
		}))
	}
	base.RawSetString("table", v.freeze(tab, "table"))
	base.RawSetString("math", v.freeze(g.RawGetString("math").(*lua.LTable), "math"))

	for i, m := range v.set.opts.Modules {
		if m.Global {
			base.RawSetString(m.Name, v.module(i))
		}
	}
	return base
}

// freeze returns a read-only view of t.
func (v *vm) freeze(t *lua.LTable, name string) *lua.LTable {
	L := v.L
	mt := L.CreateTable(0, 3)
	mt.RawSetString("__index", t)
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("cannot set %s.%s: %s is read-only", name, L.Get(2).String(), name)
		return 0
	}))
	mt.RawSetString("__metatable", lua.LString("locked"))
	v.frozen[mt] = name
	p := L.CreateTable(0, 0)
	p.Metatable = mt
	return p
}

func (v *vm) checkWritable(L *lua.LState, fn string, t *lua.LTable) {
	mt, _ := t.Metatable.(*lua.LTable)
	if mt == nil {
		return
	}
	if name, ok := v.frozen[mt]; ok {
		L.RaiseError("%s: %s is read-only", fn, name)
	}
	if _, ok := v.envOf[mt]; ok {
		L.RaiseError("%s: cannot be used on the globals table", fn)
	}
}

// rawset is the base rawset that cannot get around read-only tables or
// the per-call globals.
func (v *vm) rawset(L *lua.LState) int {
	t := L.CheckTable(1)
	if mt, ok := t.Metatable.(*lua.LTable); ok {
		if e, ok := v.envOf[mt]; ok {
			v.setGlobal(e, L.CheckAny(2), L.CheckAny(3))
			L.SetTop(1)
			return 1
		}
	}
	v.checkWritable(L, "rawset", t)
	t.RawSet(L.CheckAny(2), L.CheckAny(3))
	L.SetTop(1)
	return 1
}

// setmetatable is the base one for tables only. In gopher-lua, as in C
// Lua's debug.setmetatable, setting a number's or a boolean's metatable sets
// it for the whole type in the VM: one script's tostring(21) would read
// another's "13".
func setmetatable(base lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		if t := L.Get(1).Type(); t != lua.LTTable {
			L.RaiseError("setmetatable: only a table can take a metatable, got %s", t)
		}
		return base(L)
	}
}

// print goes to the log, tagged with the call, since stdout is nobody's.
func (v *vm) print(L *lua.LState) int {
	parts := make([]string, L.GetTop())
	n := 0
	for i := range parts {
		parts[i] = L.ToStringMeta(L.Get(i + 1)).String()
		n += len(parts[i]) + 1
	}
	if !Log(L, n) {
		return 0
	}
	attrs := []any{"where", strings.TrimSuffix(L.Where(1), ":")}
	if c := CallOf(L); c != nil {
		attrs = append(attrs, "ivr_unique_id", c.ID())
	}
	v.set.opts.Logger.Info(strings.Join(parts, "\t"), attrs...)
	return 0
}

// require returns a Go module or a lib/ script, loaded once per VM.
func (v *vm) require(L *lua.LState) int {
	name := L.CheckString(1)
	if val, ok := v.mods[name]; ok {
		if val == nil {
			L.RaiseError("require: module %q requires itself", name)
		}
		L.Push(val)
		return 1
	}
	for i, m := range v.set.opts.Modules {
		if m.Name == name {
			L.Push(v.module(i))
			return 1
		}
	}
	s := v.set.libs[name]
	if s == nil {
		L.RaiseError("require: module %q not found (Go modules: %s; script modules: lib/NAME.lua as \"lib.NAME\")", name, v.set.moduleNames())
	}
	v.mods[name] = nil // marks it loading
	defer func() {
		if v.mods[name] == nil {
			delete(v.mods, name) // it failed: let the next require say why
		}
	}()
	e := v.newEnv(s)
	val := v.runChunk(e, func(ret lua.LValue) lua.LValue {
		if ret == lua.LNil {
			return lua.LTrue
		}
		return ret
	})
	v.mods[name] = val
	L.Push(val)
	return 1
}

// runChunk runs a script's top level in its env, raising its errors in the
// caller's frame.
func (v *vm) runChunk(e *env, result func(lua.LValue) lua.LValue) lua.LValue {
	L := v.L
	fn := L.NewFunctionFromProto(e.script.proto)
	fn.Env = e.E
	e.loading = true
	L.Push(fn)
	err := L.PCall(0, 1, nil)
	e.loading = false
	if err != nil {
		L.Error(lua.LString(errorMessage(err)), 0) // the message already says where
	}
	ret := L.Get(-1)
	L.Pop(1)
	return result(ret)
}

// module loads the i-th Go module into this VM once and hands out a
// read-only view.
func (v *vm) module(i int) lua.LValue {
	m := v.set.opts.Modules[i]
	if val, ok := v.mods[m.Name]; ok && val != nil {
		return val
	}
	L := v.L
	L.Push(L.NewFunction(v.set.loaders[i]))
	L.Call(0, 1)
	val := L.Get(-1)
	L.Pop(1)
	if t, ok := val.(*lua.LTable); ok {
		val = v.freeze(t, m.Name)
	}
	v.mods[m.Name] = val
	return val
}

func (v *vm) newEnv(s *Script) *env {
	L := v.L
	e := &env{script: s, E: L.CreateTable(0, 0), meta: L.CreateTable(0, 3), globals: L.CreateTable(0, 40)}
	v.base.ForEach(func(k, val lua.LValue) { e.globals.RawSet(k, val) })
	e.globals.RawSetString("_G", e.E)
	e.meta.RawSetString("__index", e.globals)
	e.meta.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		v.setGlobal(e, L.Get(2), L.Get(3))
		return 0
	}))
	e.meta.RawSetString("__metatable", lua.LString("locked"))
	e.E.Metatable = e.meta
	v.envOf[e.meta] = e
	return e
}

// setGlobal writes a global: for good while the script loads, for the
// current call only while it handles one.
func (v *vm) setGlobal(e *env, k, val lua.LValue) {
	if k == lua.LNil {
		v.L.RaiseError("table index is nil")
	}
	if e.loading {
		e.globals.RawSet(k, val)
		return
	}
	if e.scratch == nil {
		e.scratch = v.L.CreateTable(0, 40)
		e.globals.ForEach(func(k, val lua.LValue) { e.scratch.RawSet(k, val) })
		e.meta.RawSetString("__index", e.scratch)
		v.dirty = append(v.dirty, e)
	}
	e.scratch.RawSet(k, val)
}

// resetGlobals drops what the last call wrote to globals.
func (v *vm) resetGlobals() {
	for _, e := range v.dirty {
		e.scratch = nil
		e.meta.RawSetString("__index", e.globals)
	}
	v.dirty = v.dirty[:0]
}

// load instantiates a route script in this VM and returns its handler.
func (v *vm) load(s *Script) (*env, error) {
	if e := v.envs[s.index]; e != nil {
		return e, nil
	}
	e := v.newEnv(s)
	var cerr error
	var set settings
	L := v.L
	L.Push(L.NewFunction(func(L *lua.LState) int {
		v.runChunk(e, func(ret lua.LValue) lua.LValue {
			e.handle, set, cerr = contract(s, ret)
			return lua.LNil
		})
		return 0
	}))
	if err := L.PCall(0, 0, nil); err != nil {
		return nil, fmt.Errorf("%s", errorMessage(err))
	}
	if cerr != nil {
		return nil, cerr
	}
	if v.validating {
		// Only the VM that validates a set writes its scripts' settings,
		// before any other goroutine can read them.
		s.Fallback, s.HasFallback, s.Deadline = set.fallback, set.hasFallback, set.deadline
	}
	v.envs[s.index] = e
	return e, nil
}

// endJob detaches j from the VM and gives back the shared memory it took.
func (v *vm) endJob(j *job) {
	v.ctx.job = nil
	if j.shared > 0 {
		v.ctx.shared.give(j.shared)
		j.shared = 0
	}
}

// preload instantiates every script ahead of traffic, under a time limit so
// a top level that never returns fails the load instead of hanging it.
func (v *vm) preload(scripts []*Script, timeout time.Duration) error {
	j := &job{abort: make(chan struct{}), deadline: time.Now().Add(timeout)}
	t := time.AfterFunc(timeout, func() { close(j.abort) })
	defer t.Stop()
	v.ctx.job = j
	defer v.endJob(j)
	var errs []error
	seen := map[string]bool{} // a broken lib fails every script requiring it
	for _, s := range scripts {
		var err error
		if s.lib {
			err = v.requireLib(s.Name)
		} else {
			_, err = v.load(s)
		}
		if err != nil && !seen[err.Error()] {
			seen[err.Error()] = true
			errs = append(errs, err)
		}
	}
	return joinErrors(errs)
}

func (v *vm) requireLib(name string) error {
	L := v.L
	L.Push(L.NewFunction(v.require))
	L.Push(lua.LString(name))
	if err := L.PCall(1, 0, nil); err != nil {
		return fmt.Errorf("%s", errorMessage(err))
	}
	return nil
}

// call runs s's handler for the current job.
func (v *vm) call(j *job) error {
	v.ctx.job = j
	defer v.endJob(j)
	e, err := v.load(j.script)
	if err != nil {
		return &Error{Where: j.script.Path, Msg: err.Error()}
	}
	L := v.L
	L.Push(e.handle)
	L.Push(j.call.Arg(L))
	err = L.PCall(1, 1, nil)
	v.resetGlobals()
	if err != nil {
		return scriptError(j.script, err)
	}
	ret := L.Get(-1)
	L.Pop(1)
	// Past this point the caller waits for the result instead of giving up,
	// so Result never writes into a call the caller has answered itself.
	if !j.state.CompareAndSwap(running, finishing) {
		return ErrTimeout
	}
	if err := j.call.Result(L, ret); err != nil {
		return &Error{Where: fmt.Sprintf("%s:%d", j.script.Path, e.handle.Proto.LineDefined), Msg: err.Error()}
	}
	return nil
}

func (v *vm) close() { v.L.Close() }

var (
	wherePrefix = regexp.MustCompile(`^(.+?\.lua:\d+): ?`)
	traceLine   = regexp.MustCompile(`(?m)^\s*(\S+?\.lua:\d+):`)
)

// scriptError turns a gopher-lua error into an Error with the Lua position:
// from the message, or for a Go panic from the Lua traceback.
func scriptError(s *Script, err error) error {
	msg := errorMessage(err)
	if m := wherePrefix.FindStringSubmatch(msg); m != nil {
		return &Error{Where: m[1], Msg: msg[len(m[0]):]}
	}
	where := s.Path
	if ae, ok := err.(*lua.ApiError); ok {
		if ae.Type == lua.ApiErrorPanic {
			msg = "Go panic: " + msg
		}
		if m := traceLine.FindStringSubmatch(ae.StackTrace); m != nil {
			where = m[1]
		}
	}
	return &Error{Where: where, Msg: msg}
}

// errorMessage is the first line of a Lua error: tracebacks go elsewhere.
func errorMessage(err error) string {
	msg := err.Error()
	if ae, ok := err.(*lua.ApiError); ok {
		msg = ae.Object.String()
	}
	if i := strings.Index(msg, "\nstack traceback:"); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimSpace(msg)
}
