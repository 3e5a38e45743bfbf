// Package log is the "log" Lua module: structured log records from scripts,
// tagged with the call and the script line they come from, so a caller's
// path through the layers can be followed with one grep of its
// IVR_UNIQUE_ID.
package log

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/calltrace"
	lua "github.com/yuin/gopher-lua"
)

// Attribute names the module sets on every record it can.
const (
	// WhereKey is the Lua file:line of the log call.
	WhereKey = "where"
	// CallKey is the IVR_UNIQUE_ID of the call being answered.
	CallKey = "ivr_unique_id"
	// ScriptKey names the script answering the call ("layers/5", "caller"),
	// as the call log and the metrics do.
	ScriptKey = "script"
)

// MaxTableText bounds the text a nested table is logged as, so one log
// call on a whole CRM response cannot write megabytes.
const MaxTableText = 4096

// reserved are field names a script may not use: slog's own keys and the
// module's, which a field would duplicate in the record (and, in JSON, make
// parsers keep one or the other at random).
var reserved = []string{slog.TimeKey, slog.LevelKey, slog.MessageKey, slog.SourceKey, WhereKey, CallKey, ScriptKey}

// Module is the "log" Lua module.
//
//	local log = require("log")
//	local crm = require("lib.crm")
//	return function(call)
//	  local contact, err = crm.lookup(call.caller_id)
//	  if not contact then
//	    log.warn("CRM lookup failed", {error = err, caller = call.caller_id})
//	    return ivr.go_to_layer(20)
//	  end
//	  log.info("known caller", {crm_id = contact.id, vip = contact.vip})
//	  ...
//	end
//
// log.debug, log.info, log.warn and log.error(msg [, fields]) each write one
// record at their level: msg (a string or number), the fields as attributes
// (string names; strings, numbers and booleans as themselves, tables as
// JSON-like text), and where (file:line), ivr_unique_id and script when
// known. They return nothing.
type Module struct {
	logger *slog.Logger
}

// New returns the module writing to logger, or to slog.Default() when
// logger is nil: a module whose only job is logging should not drop
// records silently.
func New(logger *slog.Logger) *Module {
	if logger == nil {
		logger = slog.Default()
	}
	return &Module{logger: logger}
}

// Loader builds the module table in L; it has the lua.LGFunction shape so it
// can be preloaded or required.
func (m *Module) Loader(L *lua.LState) int {
	t := L.CreateTable(0, 4)
	for name, level := range map[string]slog.Level{
		"debug": slog.LevelDebug,
		"info":  slog.LevelInfo,
		"warn":  slog.LevelWarn,
		"error": slog.LevelError,
	} {
		t.RawSetString(name, L.NewFunction(m.logAt("log."+name, level)))
	}
	L.Push(t)
	return 1
}

// logAt makes log.<level>(msg [, fields]).
func (m *Module) logAt(fn string, level slog.Level) lua.LGFunction {
	return func(L *lua.LState) int {
		var msg string
		switch v := L.Get(1).(type) {
		case lua.LString:
			msg = string(v)
		case lua.LNumber:
			msg = v.String()
		default:
			L.RaiseError("%s: msg must be a string or number, got %s", fn, v.Type())
		}
		var fields *lua.LTable
		switch v := L.Get(2).(type) {
		case *lua.LNilType:
		case *lua.LTable:
			fields = v
		default:
			L.RaiseError("%s: fields must be a table of name = value, got %s", fn, v.Type())
		}
		// Fields are checked even when the level is off, so a script that
		// passes in development cannot fail once debug is turned on.
		names := fieldNames(L, fn, fields)
		ctx := context.Background()
		h := m.logger.Handler()
		if !h.Enabled(ctx, level) {
			return 0
		}
		// pc 0: the Go caller is always this function, and where says
		// what is worth knowing.
		r := slog.NewRecord(time.Now(), level, msg, 0)
		w := where(L)
		if w != "" {
			r.AddAttrs(slog.String(WhereKey, w))
		}
		if c := luavm.CallOf(L); c != nil {
			r.AddAttrs(slog.String(CallKey, c.ID()))
		}
		if s := luavm.ScriptOf(L); s != nil {
			r.AddAttrs(slog.String(ScriptKey, s.Name))
		}
		for _, name := range names {
			r.AddAttrs(attr(L, name, fields.RawGetString(name)))
		}
		if !luavm.Log(L, recordSize(r)) {
			return 0 // over the call's log budget: counted, reported once
		}
		if tr := calltrace.Of(L); tr != nil { // for the console's view of the call
			tr.AddLog(calltrace.Log{Time: r.Time, Level: level.String(), Message: msg, Where: w, Fields: fieldsText(r)})
		}
		// A log line that cannot be written is no reason to fail a call.
		_ = h.Handle(ctx, r)
		return 0
	}
}

// fieldsText is a record's fields as name=value, space-separated, without
// the module's own (where, ivr_unique_id, script).
func fieldsText(r slog.Record) string {
	var b strings.Builder
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == WhereKey || a.Key == CallKey || a.Key == ScriptKey {
			return true
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.Key)
		b.WriteByte('=')
		b.WriteString(a.Value.String())
		return b.Len() <= calltrace.MaxLogBytes
	})
	return b.String()
}

// recordSize is about what r takes in the log, for the call's log budget.
func recordSize(r slog.Record) int {
	n := len(r.Message) + 32
	r.Attrs(func(a slog.Attr) bool {
		n += len(a.Key) + len(a.Value.String()) + 2
		return true
	})
	return n
}

// fieldNames checks the fields' names and returns them sorted: Lua tables
// have no order, and records of the same call should read alike.
func fieldNames(L *lua.LState, fn string, fields *lua.LTable) []string {
	if fields == nil {
		return nil
	}
	var names []string
	fields.ForEach(func(k, _ lua.LValue) {
		ks, ok := k.(lua.LString)
		if !ok {
			L.RaiseError("%s: fields must be a table of name = value, got key %s", fn, text(k))
		}
		name := string(ks)
		if name == "" {
			L.RaiseError("%s: field names must not be empty", fn)
		}
		if slices.Contains(reserved, name) {
			L.RaiseError("%s: field %q is reserved (reserved: %s): rename it", fn, name, strings.Join(reserved, ", "))
		}
		names = append(names, name)
	})
	slices.Sort(names)
	return names
}

// where is the file:line of the Lua code that called the log function,
// skipping Go frames such as pcall's.
func where(L *lua.LState) string {
	for level := 1; level <= 8; level++ {
		w := L.Where(level)
		if w == "" {
			break
		}
		if !strings.HasPrefix(w, "[G]") {
			return strings.TrimSuffix(w, ":")
		}
	}
	return ""
}

// maxSafeInt is the largest integer a float64 holds exactly.
const maxSafeInt = 1 << 53

func attr(L *lua.LState, name string, v lua.LValue) slog.Attr {
	switch v := v.(type) {
	case lua.LString:
		return slog.String(name, string(v))
	case lua.LNumber:
		f := float64(v)
		if f == math.Trunc(f) && math.Abs(f) <= maxSafeInt {
			// Integers as integers: 42, not 42.0 or 4.2e+01.
			return slog.Int64(name, int64(f))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			// JSON has no NaN: the JSON handler would write an error
			// in place of the value.
			return slog.String(name, v.String())
		}
		return slog.Float64(name, f)
	case lua.LBool:
		return slog.Bool(name, bool(v))
	case *lua.LTable:
		return slog.String(name, tableText(L, v))
	case *lua.LUserData:
		if luavm.IsNull(v) {
			return slog.Any(name, nil)
		}
	}
	// Functions and userdata: their tostring, which for an ivr action is
	// the answer's JSON.
	return slog.String(name, L.ToStringMeta(v).String())
}

// tableText writes a table as JSON where it is plain data, and as the best
// text it can otherwise: a log call must not fail on what it is shown.
func tableText(L *lua.LState, t *lua.LTable) string {
	b := appendValue(L, nil, t, 0)
	if len(b) > MaxTableText {
		b = append(b[:MaxTableText], "..."...)
	}
	return string(b)
}

// maxDepth stops tables that contain themselves.
const maxDepth = 16

func appendValue(L *lua.LState, b []byte, v lua.LValue, depth int) []byte {
	if len(b) > MaxTableText {
		return b // the rest would be cut anyway
	}
	switch v := v.(type) {
	case lua.LString:
		return appendString(b, string(v))
	case lua.LNumber:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return appendString(b, v.String())
		}
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	case lua.LBool:
		return strconv.AppendBool(b, bool(v))
	case *lua.LNilType:
		return append(b, "null"...)
	case *lua.LUserData:
		if luavm.IsNull(v) {
			return append(b, "null"...)
		}
	case *lua.LTable:
		if depth >= maxDepth {
			return append(b, `"<nested too deep>"`...)
		}
		return appendTable(L, b, v, depth)
	}
	return appendString(b, v.String())
}

func appendTable(L *lua.LState, b []byte, t *lua.LTable, depth int) []byte {
	n, count := t.Len(), 0
	t.ForEach(func(lua.LValue, lua.LValue) { count++ })
	if n == count && (n > 0 || luavm.IsArray(L, t)) {
		b = append(b, '[')
		for i := 1; i <= n; i++ {
			if i > 1 {
				b = append(b, ',')
			}
			b = appendValue(L, b, t.RawGetInt(i), depth+1)
		}
		return append(b, ']')
	}
	type member struct {
		key string
		val lua.LValue
	}
	members := make([]member, 0, count)
	t.ForEach(func(k, v lua.LValue) {
		key := k.String()
		if n, ok := k.(lua.LNumber); ok {
			key = strconv.FormatFloat(float64(n), 'f', -1, 64)
		}
		members = append(members, member{key, v})
	})
	slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	b = append(b, '{')
	for i, mb := range members {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, mb.key)
		b = append(b, ':')
		b = appendValue(L, b, mb.val, depth+1)
	}
	return append(b, '}')
}

// appendString writes s as a JSON string. Not encoding/json: it escapes
// <, > and & for HTML, which only makes logs harder to read.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s { // invalid UTF-8 reads as U+FFFD
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

// text names a value in error messages.
func text(v lua.LValue) string {
	switch v.(type) {
	case lua.LNumber, lua.LBool:
		return v.String()
	}
	return v.Type().String()
}
