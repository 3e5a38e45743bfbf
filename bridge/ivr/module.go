package ivr

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	lua "github.com/yuin/gopher-lua"
)

// Defaults for DIAL fields the documentation marks mandatory but a script
// may leave out.
const (
	DefaultMaxCallDuration = 3600 // seconds
	DefaultMaxDialDuration = 60   // seconds
)

// Call is what the builders need to know of the call being answered: DIAL
// defaults CALLER_ID to the call's DID and NEXT_VO_ID to the fallback layer.
type Call struct {
	Request     *Request
	Fallback    int
	HasFallback bool
}

// Options configure the ivr module.
type Options struct {
	// Language is SAY_DIGITS' LANGUAGE when a script names none.
	Language string
	// Call returns the call a VM is answering, or nil while a script loads.
	Call func(L *lua.LState) *Call
}

// Module is the "ivr" Lua module: the builders of every answer Voicenter
// accepts. Each builder checks its arguments and raises a Lua error naming
// the bad one, so a mistake points at the script line that made it.
//
//	local ivr = require("ivr")   -- also a global
//	return function(call)
//	  if #call.dtmf == 8 then
//	    return ivr.go_to_layer(12, {caller_name = "Dana", custom_data = {crm_id = "42"}})
//	  end
//	  return ivr.say({ivr.recording("bad-id.mp3"), ivr.digits(call.dtmf)},
//	                 {next_layer = 13, language = "HE"})
//	end
//
// Also: ivr.dial(ivr.phone("0501234567"), {next_vo_id = 15, recording = true}),
// ivr.extension("sip123"), ivr.number(112), ivr.date("2019-12-14"),
// ivr.datetime("2019-12-14T10:12:59") and ivr.error("reason").
type Module struct {
	lang string
	call func(L *lua.LState) *Call
}

// New checks the options and returns the module.
func New(o Options) (*Module, error) {
	lang, ok := language(o.Language)
	if o.Language == "" {
		lang, ok = "EN", true
	}
	if !ok {
		return nil, fmt.Errorf("ivr: unknown language %q, want one of %s", o.Language, strings.Join(Languages, ", "))
	}
	call := o.Call
	if call == nil {
		call = func(*lua.LState) *Call { return nil }
	}
	return &Module{lang: lang, call: call}, nil
}

func language(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	for _, l := range Languages {
		if s == l {
			return l, true
		}
	}
	return "", false
}

// Loader builds the module table in L; it has the lua.LGFunction shape so it
// can be preloaded or required.
func (m *Module) Loader(L *lua.LState) int {
	b := &builders{Module: m}
	b.actionMT = b.metatable(L, "ivr.action", func(v any) string {
		a := v.(*Action)
		return string(a.AppendJSON(nil))
	})
	b.itemMT = b.metatable(L, "ivr.item", func(v any) string {
		it := v.(*Item)
		return it.Type + "(" + it.Content + ")"
	})
	b.targetMT = b.metatable(L, "ivr.target", func(v any) string {
		t := v.(*Target)
		return t.Type + "(" + t.Target + ")"
	})
	t := L.CreateTable(0, 12)
	for name, fn := range map[string]lua.LGFunction{
		"go_to_layer": b.goToLayer,
		"say":         b.say,
		"dial":        b.dial,
		"error":       b.fail,
		"recording":   b.item("recording", "Recording", checkRecording),
		"digits":      b.item("digits", "Digits", checkDigits),
		"number":      b.item("number", "Number", checkNumber),
		"date":        b.item("date", "Date", checkTime("2006-01-02", "YYYY-MM-DD")),
		"datetime":    b.item("datetime", "DateTime", checkTime("2006-01-02T15:04:05", "YYYY-MM-DDTHH:MM:SS")),
		"phone":       b.target("phone", "PHONE"),
		"extension":   b.target("extension", "EXTENSION"),
	} {
		t.RawSetString(name, L.NewFunction(fn))
	}
	L.Push(t)
	return 1
}

// ActionOf returns the action a handler returned, or an error saying what it
// returned instead.
func ActionOf(v lua.LValue) (*Action, error) {
	if ud, ok := v.(*lua.LUserData); ok {
		if a, ok := ud.Value.(*Action); ok {
			return a, nil
		}
	}
	return nil, fmt.Errorf("handler returned %s, want an action from ivr.go_to_layer, ivr.say, ivr.dial or ivr.error", describe(v))
}

// Table fills the VM's call table with the request and returns it: the
// table a handler receives as call. call.custom_data is the CUSTOM_DATA a
// later layer brings back, a table of strings as Voicenter keeps them, or
// nil when the request has none.
//
// Each VM keeps one call table and refills it, since building a gopher-lua
// table with string keys costs a dozen allocations. Refilling overwrites or
// removes every field a request sets, and a table a handler changed in any
// other way (a key of its own, an array entry, a metatable) is dropped for a
// new one, so nothing one call stores in call reaches the next. A handler
// that keeps call past its return sees it refilled by the next call on the
// same VM.
func (r *Request) Table(L *lua.LState) *lua.LTable {
	ct := vmCallTable(L)
	ct.uses++
	if ct.t == nil || ct.uses > callTableUses || !onlyCallFields(ct.t) {
		ct.t, ct.uses = newCallTable(L), 1
	}
	t := ct.t
	// Constant keys keep RawSetString from boxing a key per field.
	if !holdsString(t, "did", r.DID) {
		t.RawSetString("did", lua.LString(r.DID))
	}
	if !holdsString(t, "caller_id", r.CallerID) {
		t.RawSetString("caller_id", lua.LString(r.CallerID))
	}
	if !holdsString(t, "ivr_unique_id", r.UniqueID) {
		t.RawSetString("ivr_unique_id", lua.LString(r.UniqueID))
	}
	if !holdsString(t, "dtmf", r.DTMF) {
		t.RawSetString("dtmf", lua.LString(r.DTMF))
	}
	if !holdsNumber(t, "layer_id", r.LayerID) {
		t.RawSetString("layer_id", lua.LNumber(r.LayerID))
	}
	switch {
	case !r.HasPrevious:
		t.RawSetString("previous_layer_id", lua.LNil)
	case !holdsNumber(t, "previous_layer_id", r.PreviousLayerID):
		t.RawSetString("previous_layer_id", lua.LNumber(r.PreviousLayerID))
	}
	if r.HasCustomData {
		// A new table every call: its keys vary, and a handler may change it.
		cd := L.CreateTable(0, len(r.CustomData))
		for _, f := range r.CustomData {
			cd.RawSetString(f.Key, lua.LString(f.Value))
		}
		t.RawSetString("custom_data", cd)
	} else {
		t.RawSetString("custom_data", lua.LNil)
	}
	return t
}

// callTableKey names the VM's call table in its registry, which scripts
// cannot reach.
const callTableKey = "ivrouter.ivr.call"

// callTableUses bounds how many calls share one table. gopher-lua keeps a
// deleted key in the table's key list, so a handler that adds and removes
// a key of its own each call would otherwise grow the table, and slow every
// walk of it, without end.
const callTableUses = 1024

// callTable is a VM's call table and how many calls it has served.
type callTable struct {
	t    *lua.LTable
	uses int
}

func vmCallTable(L *lua.LState) *callTable {
	reg := L.G.Registry
	if ud, ok := reg.RawGetString(callTableKey).(*lua.LUserData); ok {
		return ud.Value.(*callTable)
	}
	ct := &callTable{}
	ud := L.NewUserData()
	ud.Value = ct
	reg.RawSetString(callTableKey, ud)
	return ct
}

// callFields are the call table's keys, set in this order when the table
// is made, so pairs(call) walks them in the same order on every call,
// whichever fields the calls before had.
var callFields = [...]string{"did", "caller_id", "ivr_unique_id", "dtmf", "layer_id", "previous_layer_id", "custom_data"}

func newCallTable(L *lua.LState) *lua.LTable {
	t := L.CreateTable(0, len(callFields))
	for _, k := range callFields {
		t.RawSetString(k, lua.LFalse) // a place in the key order; Table sets or clears each
	}
	return t
}

// onlyCallFields reports whether t holds nothing but fields Table sets, so
// refilling it leaves nothing of the last call behind. ForEach walks the
// few fields of a call table in one pass, without boxing its keys (the
// gopher-lua fork keeps a table of up to 8 string keys boxed).
func onlyCallFields(t *lua.LTable) bool {
	if t.Metatable != lua.LNil {
		return false
	}
	only := true
	t.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); !ok || !slices.Contains(callFields[:], string(s)) {
			only = false
		}
	})
	return only
}

// holdsString and holdsNumber tell a field that already holds its value,
// which is left alone: the DID, DTMF and layer often repeat from call to
// call, and boxing a new value for the table allocates.
func holdsString(t *lua.LTable, k, v string) bool {
	cur, ok := t.RawGetString(k).(lua.LString)
	return ok && string(cur) == v
}

func holdsNumber(t *lua.LTable, k string, v int) bool {
	cur, ok := t.RawGetString(k).(lua.LNumber)
	return ok && cur == lua.LNumber(v)
}

type builders struct {
	*Module
	actionMT, itemMT, targetMT *lua.LTable
}

func (b *builders) metatable(L *lua.LState, name string, str func(any) string) *lua.LTable {
	mt := L.CreateTable(0, 3)
	mt.RawSetString("__name", lua.LString(name))
	mt.RawSetString("__metatable", lua.LString(name))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(str(L.CheckUserData(1).Value)))
		return 1
	}))
	return mt
}

// boxed holds a builder's value and the userdata that carries it to Lua,
// so building an answer costs one allocation per value, not two.
type boxed[T any] struct {
	ud lua.LUserData
	v  T
}

// newBoxed returns a zero T and its userdata, whose Value points at it.
func newBoxed[T any](L *lua.LState, mt *lua.LTable) (*T, *lua.LUserData) {
	b := &boxed[T]{}
	b.ud.Value, b.ud.Metatable, b.ud.Env = &b.v, mt, L.Env
	return &b.v, &b.ud
}

// ivr.go_to_layer(layer [, {caller_name=, custom_data=}])
func (b *builders) goToLayer(L *lua.LState) int {
	const fn = "ivr.go_to_layer"
	a, ud := newBoxed[Action](L, b.actionMT)
	*a = Action{Kind: GoToLayer, Layer: checkLayer(L, fn, "layer", L.Get(1))}
	eachOption(L, fn, 2, func(k string, v lua.LValue) {
		switch k {
		case "caller_name":
			a.CallerName = checkText(L, fn, k, v)
		case "custom_data":
			a.CustomData, a.HasCustomData = checkCustomData(L, fn, v), true
		default:
			unknownOption(L, fn, k, "caller_name, custom_data")
		}
	})
	L.Push(ud)
	return 1
}

// ivr.say(items, {next_layer=, next_layer_if_failed=, language=, custom_data=})
func (b *builders) say(L *lua.LState) int {
	const fn = "ivr.say"
	a, ud := newBoxed[Action](L, b.actionMT)
	*a = Action{Kind: SayDigits, Language: b.lang, Layer: -1}
	a.Items = collect(L, fn, "items", L.Get(1), func(i int, v lua.LValue) Item {
		if ud, ok := v.(*lua.LUserData); ok {
			if it, ok := ud.Value.(*Item); ok {
				return *it
			}
		}
		L.RaiseError("%s: items%s must be built by ivr.recording, ivr.digits, ivr.number, ivr.date or ivr.datetime, got %s", fn, index(i), describe(v))
		return Item{}
	})
	eachOption(L, fn, 2, func(k string, v lua.LValue) {
		switch k {
		case "next_layer":
			a.Layer = checkLayer(L, fn, k, v)
		case "next_layer_if_failed":
			a.FailLayer, a.HasFailLayer = checkLayer(L, fn, k, v), true
		case "language":
			lang, ok := language(lua.LVAsString(v))
			if !ok {
				L.RaiseError("%s: language must be one of %s, got %s", fn, strings.Join(Languages, ", "), describe(v))
			}
			a.Language = lang
		case "custom_data":
			a.CustomData, a.HasCustomData = checkCustomData(L, fn, v), true
		default:
			unknownOption(L, fn, k, "next_layer, next_layer_if_failed, language, custom_data")
		}
	})
	if a.Layer < 0 {
		L.RaiseError("%s: option next_layer is required: the layer the call goes to after the announcement", fn)
	}
	L.Push(ud)
	return 1
}

// ivr.dial(targets, {caller_id=, caller_name=, max_call_duration=,
// max_dial_duration=, next_vo_id=, recording=, custom_data=})
func (b *builders) dial(L *lua.LState) int {
	const fn = "ivr.dial"
	a, ud := newBoxed[Action](L, b.actionMT)
	*a = Action{Kind: Dial, MaxCall: DefaultMaxCallDuration, MaxDial: DefaultMaxDialDuration, Layer: -1, HasCustomData: true}
	targets := L.Get(1)
	if t, ok := targets.(*lua.LTable); ok && t.RawGetString("type") != lua.LNil {
		// one {type=, target=} table, not a list of them
		a.Targets = []Target{checkTarget(L, fn, 0, t)}
	} else {
		a.Targets = collect(L, fn, "targets", targets, func(i int, v lua.LValue) Target {
			return checkTarget(L, fn, i, v)
		})
	}
	eachOption(L, fn, 2, func(k string, v lua.LValue) {
		switch k {
		case "caller_id":
			a.CallerID = checkPhone(L, fn, k, v)
		case "caller_name":
			a.CallerName = checkText(L, fn, k, v)
		case "max_call_duration":
			a.MaxCall = checkSeconds(L, fn, k, v)
		case "max_dial_duration":
			a.MaxDial = checkSeconds(L, fn, k, v)
		case "next_vo_id":
			a.Layer = checkLayer(L, fn, k, v)
		case "recording":
			r, ok := v.(lua.LBool)
			if !ok {
				L.RaiseError("%s: option recording must be true or false, got %s", fn, describe(v))
			}
			a.Recording = bool(r)
		case "custom_data":
			a.CustomData = checkCustomData(L, fn, v)
		default:
			unknownOption(L, fn, k, "caller_id, caller_name, max_call_duration, max_dial_duration, next_vo_id, recording, custom_data")
		}
	})
	call := b.call(L)
	if a.CallerID == "" {
		if call == nil || call.Request == nil || call.Request.DID == "" {
			L.RaiseError("%s: option caller_id is required here: there is no call DID to default to", fn)
		}
		a.CallerID = call.Request.DID
	}
	if a.Layer < 0 {
		if call == nil || !call.HasFallback {
			L.RaiseError("%s: option next_vo_id is required: no fallback layer is set to default to", fn)
		}
		a.Layer = call.Fallback
	}
	L.Push(ud)
	return 1
}

// ivr.error([reason])
func (b *builders) fail(L *lua.LState) int {
	a, ud := newBoxed[Action](L, b.actionMT)
	*a = Failure(L.OptString(1, "script answered ivr.error()"))
	L.Push(ud)
	return 1
}

func (b *builders) item(name, recordType string, check func(v lua.LValue) (string, string)) lua.LGFunction {
	fn := "ivr." + name
	return func(L *lua.LState) int {
		content, problem := check(L.Get(1))
		if problem != "" {
			L.RaiseError("%s: %s", fn, problem)
		}
		it, ud := newBoxed[Item](L, b.itemMT)
		*it = Item{Type: recordType, Content: content}
		L.Push(ud)
		return 1
	}
}

func (b *builders) target(name, targetType string) lua.LGFunction {
	fn := "ivr." + name
	return func(L *lua.LState) int {
		var t string
		if targetType == "PHONE" {
			t = checkPhone(L, fn, "number", L.Get(1))
		} else {
			t = checkExtension(L, fn, "code", L.Get(1))
		}
		tg, ud := newBoxed[Target](L, b.targetMT)
		*tg = Target{Type: targetType, Target: t}
		L.Push(ud)
		return 1
	}
}

// collect accepts one value or a list of them.
func collect[T any](L *lua.LState, fn, name string, v lua.LValue, conv func(i int, v lua.LValue) T) []T {
	switch v := v.(type) {
	case *lua.LUserData:
		return []T{conv(0, v)}
	case *lua.LTable:
		n := v.Len()
		if n == 0 {
			L.RaiseError("%s: %s is empty", fn, name)
		}
		out := make([]T, 0, n)
		for i := 1; i <= n; i++ {
			out = append(out, conv(i, v.RawGetInt(i)))
		}
		return out
	case *lua.LNilType:
		L.RaiseError("%s: %s is missing", fn, name)
	}
	L.RaiseError("%s: %s must be a list, got %s", fn, name, describe(v))
	return nil
}

func checkTarget(L *lua.LState, fn string, i int, v lua.LValue) Target {
	switch v := v.(type) {
	case *lua.LUserData:
		if t, ok := v.Value.(*Target); ok {
			return *t
		}
	case *lua.LTable:
		typ := strings.ToUpper(lua.LVAsString(v.RawGetString("type")))
		val := v.RawGetString("target")
		switch typ {
		case "PHONE":
			return Target{Type: typ, Target: checkPhone(L, fn, "targets"+index(i)+".target", val)}
		case "EXTENSION":
			return Target{Type: typ, Target: checkExtension(L, fn, "targets"+index(i)+".target", val)}
		}
		L.RaiseError("%s: targets%s has unknown target type %s, want PHONE or EXTENSION", fn, index(i), describe(v.RawGetString("type")))
	}
	L.RaiseError("%s: targets%s must be ivr.phone(...) or ivr.extension(...), got %s", fn, index(i), describe(v))
	return Target{}
}

func index(i int) string {
	if i == 0 {
		return ""
	}
	return fmt.Sprintf("[%d]", i)
}

// eachOption walks an options table, so unknown (misspelled) keys are caught.
func eachOption(L *lua.LState, fn string, n int, f func(k string, v lua.LValue)) {
	switch opts := L.Get(n).(type) {
	case *lua.LNilType:
	case *lua.LTable:
		// Next, unlike ForEach, hands out the table's own boxed keys.
		for k, v := opts.Next(lua.LNil); k != lua.LNil; k, v = opts.Next(k) {
			ks, ok := k.(lua.LString)
			if !ok {
				L.RaiseError("%s: options must be a table of name = value, got key %s", fn, describe(k))
			}
			f(string(ks), v)
		}
	default:
		L.RaiseError("%s: options must be a table, got %s", fn, describe(opts))
	}
}

func unknownOption(L *lua.LState, fn, k, known string) {
	L.RaiseError("%s: unknown option %q (options: %s)", fn, k, known)
}

func checkLayer(L *lua.LState, fn, name string, v lua.LValue) int {
	switch v := v.(type) {
	case lua.LNumber:
		if f := float64(v); f >= 0 && f <= MaxLayer && f == float64(int(f)) {
			return int(f)
		}
	case lua.LString:
		if n, ok := ParseLayer(strings.TrimSpace(string(v))); ok {
			return n
		}
	}
	L.RaiseError("%s: %s must be a layer number (an integer from 0 to %d), got %s", fn, name, MaxLayer, describe(v))
	return 0
}

func checkSeconds(L *lua.LState, fn, name string, v lua.LValue) int {
	if n, ok := v.(lua.LNumber); ok && n > 0 && n <= 86400 && float64(n) == float64(int(n)) {
		return int(n)
	}
	L.RaiseError("%s: %s must be a whole number of seconds from 1 to 86400, got %s", fn, name, describe(v))
	return 0
}

func checkText(L *lua.LState, fn, name string, v lua.LValue) string {
	switch v := v.(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	}
	L.RaiseError("%s: %s must be a string, got %s", fn, name, describe(v))
	return ""
}

// checkPhone reads a phone number in the form Voicenter dials, or raises
// the error phoneProblem names.
func checkPhone(L *lua.LState, fn, name string, v lua.LValue) string {
	s, problem := phoneProblem(name, v)
	if problem != "" {
		L.RaiseError("%s: %s", fn, problem)
	}
	return s
}

// phoneProblem reads a phone number in the form Voicenter dials: an
// international number, written after + or 00, as its digits from the
// country code on (+972501234567 is 972501234567), a local one as written.
// The spaces, dashes and brackets CRMs like to store are dropped. It returns
// what is wrong with v instead, naming it name.
func phoneProblem(name string, v lua.LValue) (string, string) {
	if n, ok := v.(lua.LNumber); ok {
		return "", numberNotString(name, n)
	}
	s, _ := v.(lua.LString)
	digits := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, string(s))
	international := false
	for _, prefix := range []string{"+", "00"} {
		if rest, ok := strings.CutPrefix(digits, prefix); ok {
			digits, international = rest, true
			break
		}
	}
	// A country code never starts with 0: +05... is a local number mistyped.
	if len(digits) < 2 || len(digits) > 20 || !allDigits(digits) || international && digits[0] == '0' {
		return "", name + " must be a phone number (digits; an international one after + or 00), got " + describe(v)
	}
	return digits, ""
}

// numberNotString refuses a Lua number where digits are wanted: the script
// wrote 0501234567, Lua read 501234567, and the leading zero is gone before
// a builder sees it.
func numberNotString(name string, n lua.LNumber) string {
	return name + ` must be a string ("0501234567"): a Lua number loses its leading zero, got number ` + n.String()
}

func checkExtension(L *lua.LState, fn, name string, v lua.LValue) string {
	var s string
	switch v := v.(type) {
	case lua.LString:
		s = string(v)
	case lua.LNumber:
		s = v.String()
	}
	ok := len(s) > 0 && len(s) <= 64
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '.' || c == '@'
	}
	if !ok {
		L.RaiseError("%s: %s must be a Voicenter extension SIP code (letters, digits, _ - . @), got %s", fn, name, describe(v))
	}
	return s
}

// MaxCustomValue is the longest CUSTOM_DATA value, in UTF-16 code units:
// Voicenter's SDK drops a longer one ("cant be more than 128 characters"),
// counting as JavaScript's String length does. Hebrew letters count one,
// an emoji two.
const MaxCustomValue = 128

// checkCustomData reads a flat custom_data table as CUSTOM_DATA: every value
// a string, sorted by key.
func checkCustomData(L *lua.LState, fn string, v lua.LValue) []Field {
	t, ok := v.(*lua.LTable)
	if !ok {
		L.RaiseError("%s: custom_data must be a table, got %s", fn, describe(v))
	}
	out := make([]Field, 0, 4)
	for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
		key := customKey(L, fn, k)
		out = append(out, Field{Key: key, Value: customValue(L, fn, key, v)})
	}
	// Lua tables have no order; sorted keys make answers repeatable.
	slices.SortFunc(out, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })
	// A number key and a string key (1 and "1") would name one JSON key twice.
	for i := 1; i < len(out); i++ {
		if out[i].Key == out[i-1].Key {
			L.RaiseError("%s: custom_data has the key %q twice, as a number and as a string", fn, clip(out[i].Key))
		}
	}
	return out
}

func customKey(L *lua.LState, fn string, k lua.LValue) string {
	switch k := k.(type) {
	case lua.LString:
		return string(k)
	case lua.LNumber:
		return formatNumber(float64(k))
	}
	L.RaiseError("%s: custom_data keys must be strings, got %s", fn, describe(k))
	return ""
}

// customValue sends a value as the string Voicenter keeps: numbers as a
// script would print them, booleans as "true" and "false".
func customValue(L *lua.LState, fn, key string, v lua.LValue) string {
	var s string
	switch v := v.(type) {
	case lua.LString:
		s = string(v)
	case lua.LNumber:
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			L.RaiseError("%s: custom_data.%s must be a finite number, got %s", fn, clip(key), describe(v))
		}
		s = formatNumber(float64(v))
	case lua.LBool:
		s = v.String()
	default:
		L.RaiseError("%s: custom_data.%s must be a string, number or boolean (CUSTOM_DATA is flat), got %s", fn, clip(key), describe(v))
	}
	// No string has more UTF-16 units than bytes: most need no count.
	if len(s) > MaxCustomValue {
		if n := utf16Len(s); n > MaxCustomValue {
			L.RaiseError("%s: custom_data.%s is %d characters long, Voicenter keeps at most %d", fn, clip(key), n, MaxCustomValue)
		}
	}
	return s
}

// formatNumber writes a number as Lua's tostring does: whole numbers without
// a fraction or exponent (12, not 1.2e+01), others in their shortest exact
// form (1.5). Unlike tostring it does not depend on the platform's
// conversion of numbers beyond int64.
func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// utf16Len counts s as JavaScript's String length does. A byte that is not
// UTF-8 counts one: AppendString sends it as U+FFFD.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

func checkRecording(v lua.LValue) (string, string) {
	s, ok := v.(lua.LString)
	if !ok || len(s) == 0 || len(s) > 255 || strings.ContainsFunc(string(s), func(r rune) bool { return r < 0x20 }) {
		return "", "file must be a recording file name, got " + describe(v)
	}
	return string(s), ""
}

func checkDigits(v lua.LValue) (string, string) {
	if n, ok := v.(lua.LNumber); ok {
		return "", numberNotString("digits", n)
	}
	s, _ := v.(lua.LString)
	if s == "" || len(s) > 64 || !allDigits(string(s)) {
		return "", "digits must be a string of 0-9, got " + describe(v)
	}
	return string(s), ""
}

func checkNumber(v lua.LValue) (string, string) {
	switch v := v.(type) {
	case lua.LNumber:
		if v >= 0 && v < 1e15 && float64(v) == float64(int64(v)) {
			return v.String(), ""
		}
	case lua.LString:
		if s := strings.TrimSpace(string(v)); len(s) <= 15 && allDigits(s) {
			if s = strings.TrimLeft(s, "0"); s == "" {
				s = "0"
			}
			return s, ""
		}
	}
	return "", "n must be a whole number from 0, got " + describe(v)
}

func checkTime(layout, human string) func(v lua.LValue) (string, string) {
	return func(v lua.LValue) (string, string) {
		s, ok := v.(lua.LString)
		if ok && len(s) == len(layout) {
			if _, err := time.Parse(layout, string(s)); err == nil {
				return string(s), ""
			}
		}
		return "", "value must be a real ISO 8601 " + human + ", got " + describe(v)
	}
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// describe names a value in error messages: its type, and its text when short.
func describe(v lua.LValue) string {
	switch v := v.(type) {
	case lua.LString:
		return fmt.Sprintf("%q", clip(string(v)))
	case lua.LNumber:
		return v.String()
	case lua.LBool:
		return v.String()
	case *lua.LNilType:
		return "nil"
	case *lua.LUserData:
		if mt, ok := v.Metatable.(*lua.LTable); ok {
			if name, ok := mt.RawGetString("__name").(lua.LString); ok {
				return string(name)
			}
		}
	}
	return v.Type().String()
}
