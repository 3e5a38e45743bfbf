package ivr_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	lua "github.com/yuin/gopher-lua"
)

func FuzzDecode(f *testing.F) {
	docs, err := filepath.Glob(filepath.Join(docsDir, "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	if len(docs) < 7 {
		f.Fatalf("found %d docs examples in %s, want the 7 of the README", len(docs), docsDir)
	}
	for _, p := range docs {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		body(base + `,"LAYER_ID":5,"PREVIOUS_LAYER_ID":5`),
		`{"METHOD":"IVR_LAYER_INPUT","DATA":"{\"DID\":\"0722776772\",\"LAYER_ID\":\"5\",\"DTMF\":\"\"}"}`,
		`{"method":"IVR_LAYER_INPUT","data":{"CALLER_ ID":501234567,"layer_ id":" 12 ","PREVIOUS_LAYER_ID":null}}`,
		body(`"LAYER_ID":"2147483647","CUSTOM_DATA":{"a":{"b":[1,{"c":null}]},"n":1e400,"x":NaN}`),
		body(`"LAYER_ID":5,"CUSTOM_DATA":"{\"a\":1,\"b\":{\"c\":null},\"d\":null}"`),
		body(`"LAYER_ID":5.5`),
		body(`"LAYER_ID":-0,"PREVIOUS_LAYER_ID":-1`),
		body(`"LAYER_ID":"\u0035","DTMF":"\ud800"`),
		`{"METHOD":"IVR_LAYER_INPUT","DATA":"[1]"}`,
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		var r ivr.Request
		err := ivr.Decode(b, &r)
		if !bytes.Equal(b, orig) {
			t.Fatalf("Decode changed its input from %q to %q", orig, b)
		}
		if err != nil {
			if !errors.Is(err, ivr.ErrBadRequest) {
				t.Fatalf("error %q does not wrap ErrBadRequest", err)
			}
			if !strings.HasPrefix(err.Error(), "bad request: ") {
				t.Fatalf("error %q", err)
			}
			return
		}
		if r.LayerID < 0 || r.LayerID > ivr.MaxLayer {
			t.Fatalf("LayerID %d out of range", r.LayerID)
		}
		if r.DTMF == "" {
			t.Fatal("DTMF is empty")
		}
		if r.HasPrevious && (r.PreviousLayerID < 0 || r.PreviousLayerID > ivr.MaxLayer) {
			t.Fatalf("PreviousLayerID %d out of range", r.PreviousLayerID)
		}
		if !r.HasPrevious && r.PreviousLayerID != 0 {
			t.Fatalf("PreviousLayerID %d without HasPrevious", r.PreviousLayerID)
		}
		if !r.HasCustomData && len(r.CustomData) != 0 {
			t.Fatalf("CustomData %v without HasCustomData", r.CustomData)
		}
		if len(r.CustomData) > ivr.MaxRequestFields {
			t.Fatalf("%d CUSTOM_DATA fields", len(r.CustomData))
		}
		for _, fd := range r.CustomData {
			if len(fd.Key) > ivr.MaxRequestFieldSize || len(fd.Value) > ivr.MaxRequestFieldSize {
				t.Fatalf("CUSTOM_DATA field of %d and %d bytes", len(fd.Key), len(fd.Value))
			}
		}
		// Decoding again into a used request gives the same result.
		dirty := ivr.Request{DID: "x", CallerID: "x", UniqueID: "x", DTMF: "x", LayerID: 99,
			PreviousLayerID: 98, HasPrevious: true, HasCustomData: true,
			CustomData: []ivr.Field{{Key: "stale", Value: "stale"}}}
		if err := ivr.Decode(b, &dirty); err != nil {
			t.Fatalf("second Decode: %v", err)
		}
		if !sameRequest(r, dirty) {
			t.Fatalf("decoding into a used request:\ngot  %+v\nwant %+v", dirty, r)
		}
		// Whatever was decoded, a script's answer built from it parses.
		a := ivr.Action{Kind: ivr.Dial, CallerID: r.DID, CallerName: r.CallerID, Layer: r.LayerID,
			Targets: []ivr.Target{{Type: "PHONE", Target: r.DTMF}}, CustomData: r.CustomData, HasCustomData: true}
		if out := a.AppendJSON(nil); !json.Valid(out) {
			t.Fatalf("answer is not JSON: %s", out)
		}
	})
}

// FuzzBuilders feeds arbitrary arguments to the Lua builders and checks every
// answer they build the way the server sends it. An input is one call in a
// small JSON-ish notation (see fuzzParser):
//
//	dial([phone("050-123 4567"), {type: "extension", target: 1e400}], {recording: true, next_vo_id: NaN})
//
// where name(args) calls ivr.name from Lua and a table may mix list entries
// and key: value pairs. A builder may refuse its arguments, with an ordinary
// Lua error naming the builder; it must never panic. Whatever it builds must
// encode, through ActionOf and AppendJSON as server/handler.go does, to JSON
// with STATUS 0 and a known ACTION, the same bytes each time, and the same
// text as tostring gives the script.
func FuzzBuilders(f *testing.F) {
	for _, s := range []string{
		`go_to_layer(12)`,
		`go_to_layer("22", {caller_name: "Shlomi", custom_data: {CRM_cleint_ID: "12345", Last_ticket_ID: 222, vip: true}})`,
		`go_to_layer(-1)`,
		`go_to_layer(2147483647.5, {caller_name: -0})`,
		`go_to_layer(" 7 ", {custom_data: {1: nan, 2: inf, "x": -inf, 1.5: 1e400, "\xff\"\n": "\u05e9\x00"}})`,
		`go_to_layer(" 7 ", {custom_data: {1: 12, 2: 0.1, "x": -0, 1.5: 1e20, "\xff\"\n": "\u05e9\x00"}})`,
		`go_to_layer(3, {custom_data: {1: "a", "1": "b"}})`,
		`go_to_layer(3, {caller_name: {}, custom_data: {a: {b: 1}}})`,
		`say([recording("9899115_20849570029.mp3"), digits("0501234567"), number(112), date("2019-12-14"), datetime("2019-12-14T10:12:59")], {next_layer: 2, next_layer_if_failed: 1, language: " he "})`,
		`say(number("000000000000000"), {next_layer: 0})`,
		`say(recording("a.mp3"), {next_layer: 1, custom_data: {crm_id: 42, vip: true, name: "\u05e9"}})`,
		`say([digits(12), number(1e15), number(-0.5)], {next_layer: 1})`,
		`say([recording("a"), nil, recording("b")], {next_layer: 1, language: "FR"})`,
		`say({}, {next_layer: 1})`,
		`say(date("2019-02-29"), {next_layer: 1})`,
		`say(datetime("2019-12-14T24:00:00"), {next_layer: inf})`,
		`dial(phone("0501234567"), {caller_id: "0722776772", caller_name: "Voicenter", max_call_duration: 1800, max_dial_duration: 60, next_vo_id: 15, recording: true, custom_data: {a: "b"}})`,
		`dial([phone("+972 (50) 123-4567"), extension("sip_123.a@b"), {type: "phone", target: "00972501234567"}, {type: "EXTENSION", target: "x"}])`,
		`dial([phone(501234567), {type: "phone", target: 501234567}], {caller_id: 722776772})`,
		`dial({type: "Phone", target: "12"}, {recording: false, max_call_duration: 86400, max_dial_duration: 1})`,
		`dial([phone(1e20)], {max_call_duration: 86401, next_vo_id: "5"})`,
		`dial(extension(""), {caller_id: "+"})`,
		`dial([], {})`,
		`dial(phone("0501234567"), {1: 2})`,
		`dial(digits(1), nil)`,
		`error("why")`,
		`number(5)`,
		`nope(1)`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p := fuzzParser{s: in}
		root, ok := p.value()
		if !ok || root.kind != fuzzCall {
			return
		}
		for _, o := range []ivr.Options{
			{Language: "EN", Call: docsCall},
			{Language: "HE"}, // no call: DIAL needs caller_id and next_vo_id
		} {
			e := newFuzzEnv(t, o)
			first, ok := e.answer(t, in, root)
			if !ok {
				continue
			}
			// Built again from the same arguments, the answer is the same.
			if again, _ := e.answer(t, in, root); !bytes.Equal(first, again) {
				t.Fatalf("%q built twice:\n%s\n%s", in, first, again)
			}
		}
	})
}

// fuzzEnv is a Lua state with the ivr module and a dispatcher that calls a
// builder by name and returns what it built and tostring of it.
type fuzzEnv struct {
	L        *lua.LState
	dispatch lua.LValue
	out      []byte // reused, as the server reuses a call's buffer
}

func newFuzzEnv(t *testing.T, o ivr.Options) *fuzzEnv {
	L := newState(t, o)
	if err := L.DoString(`local ivr = require("ivr")
return function(name, ...)
	local v = ivr[name](...)
	return v, tostring(v)
end`); err != nil {
		t.Fatal(err)
	}
	e := &fuzzEnv{L: L, dispatch: L.Get(-1), out: []byte("stale answer of the last call")}
	L.Pop(1)
	return e
}

// answer builds root and returns its wire form, or false when a builder
// refused it or it built no action of STATUS 0.
func (e *fuzzEnv) answer(t *testing.T, in string, root *fuzzNode) ([]byte, bool) {
	ret, str, ok := e.eval(t, in, root)
	if !ok {
		return nil, false
	}
	a, err := ivr.ActionOf(ret)
	if err != nil {
		return nil, false // not an action: ivr.number(5), say
	}
	e.out = a.AppendJSON(e.out[:0])
	out := e.out
	if string(out) != str {
		t.Fatalf("%q: tostring gives %s, AppendJSON %s", in, str, out)
	}
	if again := a.AppendJSON([]byte("x")); string(again[1:]) != string(out) {
		t.Fatalf("%q: AppendJSON after a prefix gives %s, want %s", in, again[1:], out)
	}
	if a.Kind == ivr.Fail {
		if string(out) != `{"STATUS":1}` {
			t.Fatalf("%q: ivr.error answers %s", in, out)
		}
		return nil, false
	}
	checkAnswer(t, in, a, out)
	// Read back, the answer is the action it was built from (written
	// again, the same JSON, but for escapes: a byte that is not UTF-8 is
	// written \ufffd, which reads back as the character itself).
	back, err := ivr.ParseAnswer(out)
	if err != nil {
		t.Fatalf("%q: ParseAnswer(%s): %v", in, out, err)
	}
	var was, is any
	again := back.AppendJSON(nil)
	if json.Unmarshal(out, &was) != nil || json.Unmarshal(again, &is) != nil || !reflect.DeepEqual(was, is) {
		t.Fatalf("%q: read back, %s is written %s", in, out, again)
	}
	return bytes.Clone(out), true
}

// checkAnswer checks one STATUS 0 answer: JSON, each key once, the action
// it says it is, layers in range and nothing empty that Voicenter needs.
func checkAnswer(t *testing.T, in string, a *ivr.Action, out []byte) {
	t.Helper()
	if !json.Valid(out) {
		t.Fatalf("%q: answer is not JSON: %s", in, out)
	}
	if err := uniqueKeys(json.NewDecoder(bytes.NewReader(out))); err != nil {
		t.Fatalf("%q: %v in %s", in, err, out)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%q: %v: %s", in, err, out)
	}
	if m["STATUS"] != json.Number("0") {
		t.Fatalf("%q: STATUS %v: %s", in, m["STATUS"], out)
	}
	layers := map[ivr.Kind][]string{
		ivr.GoToLayer: {"LAYER"},
		ivr.SayDigits: {"NEXT_LAYER", "NEXT_LAYER_IF_FAILED"},
		ivr.Dial:      {"NEXT_VO_ID", "MAX_CALL_DURATION", "MAX_DIAL_DURATION"},
	}
	keys, known := layers[a.Kind]
	if action, _ := m["ACTION"].(string); !known || action != a.Kind.String() {
		t.Fatalf("%q: ACTION %v for kind %v: %s", in, m["ACTION"], a.Kind, out)
	}
	for _, k := range keys {
		v, ok := m[k]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(string(v.(json.Number)), 10, 64)
		if err != nil || n < 0 || n > ivr.MaxLayer {
			t.Fatalf("%q: %s is %v: %s", in, k, v, out)
		}
	}
	if cd, ok := m["CUSTOM_DATA"]; ok {
		checkCustomData(t, in, cd, out)
	}
	switch a.Kind {
	case ivr.SayDigits:
		if len(a.Items) == 0 || !slices.Contains(ivr.Languages, a.Language) {
			t.Fatalf("%q: %s", in, out)
		}
		for _, it := range a.Items {
			if it.Content == "" {
				t.Fatalf("%q: empty %s item: %s", in, it.Type, out)
			}
		}
	case ivr.Dial:
		if len(a.Targets) == 0 || a.CallerID == "" {
			t.Fatalf("%q: %s", in, out)
		}
		for _, tg := range a.Targets {
			if tg.Target == "" || tg.Type != "PHONE" && tg.Type != "EXTENSION" {
				t.Fatalf("%q: target %+v: %s", in, tg, out)
			}
			if tg.Type == "PHONE" && !onlyDigits(tg.Target) {
				t.Fatalf("%q: phone target %q is not Voicenter's digits: %s", in, tg.Target, out)
			}
		}
		if !onlyDigits(a.CallerID) {
			t.Fatalf("%q: CALLER_ID %q is not Voicenter's digits: %s", in, a.CallerID, out)
		}
	}
}

// checkCustomData checks CUSTOM_DATA is what Voicenter's SDK keeps: an
// object of strings of at most 128 UTF-16 code units.
func checkCustomData(t *testing.T, in string, cd any, out []byte) {
	t.Helper()
	obj, ok := cd.(map[string]any)
	if !ok {
		t.Fatalf("%q: CUSTOM_DATA is %T: %s", in, cd, out)
	}
	for k, v := range obj {
		s, ok := v.(string)
		if !ok || len(utf16.Encode([]rune(s))) > ivr.MaxCustomValue {
			t.Fatalf("%q: CUSTOM_DATA %q is %#v: %s", in, k, v, out)
		}
	}
}

// onlyDigits: Voicenter's phone numbers, international ones without + or 00.
func onlyDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// uniqueKeys reads one JSON value and reports an object that names a key
// twice: a reader keeps one of them, which one depends on the reader.
func uniqueKeys(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			if seen[k.(string)] {
				return fmt.Errorf("key %q twice", k)
			}
			seen[k.(string)] = true
			if err := uniqueKeys(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	case json.Delim('['):
		for dec.More() {
			if err := uniqueKeys(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	}
	return err
}

// eval makes root's Lua value, calling the builders it names through the
// dispatcher. It returns false when a builder raised an error, after
// checking the error is an ordinary one.
func (e *fuzzEnv) eval(t *testing.T, in string, n *fuzzNode) (v lua.LValue, str string, ok bool) {
	L := e.L
	switch n.kind {
	case fuzzValue:
		return n.val, "", true
	case fuzzTable:
		tb := L.NewTable()
		next := 1
		for _, en := range n.entries {
			var k lua.LValue
			if en.key == nil {
				k = lua.LNumber(next)
				next++
			} else if k, _, ok = e.eval(t, in, en.key); !ok {
				return nil, "", false
			}
			v, _, ok := e.eval(t, in, en.val)
			if !ok {
				return nil, "", false
			}
			if k == lua.LNil {
				return nil, "", false // Lua: table index is nil
			}
			if n, isNum := k.(lua.LNumber); isNum {
				if n != n {
					return nil, "", false // Lua: table index is NaN
				}
				if n > 1<<12 && n < lua.LNumber(lua.MaxArrayIndex) && n == lua.LNumber(int64(n)) {
					return nil, "", false // gopher-lua pads the array part up to n
				}
			}
			tb.RawSet(k, v)
		}
		return tb, "", true
	}
	args := make([]lua.LValue, 0, len(n.entries))
	for _, en := range n.entries {
		v, _, ok := e.eval(t, in, en.val)
		if !ok {
			return nil, "", false
		}
		args = append(args, v)
	}
	top := L.GetTop()
	L.Push(e.dispatch)
	L.Push(lua.LString(n.name))
	for _, a := range args {
		L.Push(a)
	}
	err := L.PCall(len(args)+1, 2, nil)
	if L.GetTop() != top+2 && err == nil || err != nil && L.GetTop() != top {
		t.Fatalf("%q: ivr.%s left the stack at %d, from %d", in, n.name, L.GetTop(), top)
	}
	if err != nil {
		var ae *lua.ApiError
		if !errors.As(err, &ae) || ae.Type != lua.ApiErrorRun {
			t.Fatalf("%q: ivr.%s: not a Lua error: %#v", in, n.name, err)
		}
		if fuzzBuilderNames[n.name] && !strings.Contains(err.Error(), "ivr."+n.name+": ") {
			t.Fatalf("%q: the error does not name ivr.%s: %v", in, n.name, err)
		}
		return nil, "", false
	}
	v, s := L.Get(-2), L.Get(-1)
	L.Pop(2)
	return v, lua.LVAsString(s), true
}

// fuzzBuilderNames are the builders whose errors start with their name.
var fuzzBuilderNames = map[string]bool{
	"go_to_layer": true, "say": true, "dial": true, "recording": true, "digits": true,
	"number": true, "date": true, "datetime": true, "phone": true, "extension": true,
}

const (
	fuzzValue = iota // a string, number, boolean or nil
	fuzzTable
	fuzzCall
)

type fuzzNode struct {
	kind    int
	val     lua.LValue // fuzzValue
	name    string     // fuzzCall: the builder
	entries []fuzzEntry
}

// fuzzEntry is a table entry, key nil for the next list index, or a call's
// argument.
type fuzzEntry struct {
	key, val *fuzzNode
}

// fuzzParser reads FuzzBuilders' notation, leniently: any input that starts
// with a value means something.
//
//	value  = call | table | string | word
//	call   = word "(" [value {sep value}] ")"
//	table  = ("{" | "[") [entry {sep entry}] ("}" | "]")  -- either closes, so does the end
//	entry  = value [(":" | "=") value]
//	string = '"' ... '"' | "'" ... "'"  -- escapes \n \t \r \0 \xHH \uHHHH, others literal; the end closes
//	word   = nil | null | true | false | a number strconv.ParseFloat reads
//	         (nan, inf, -inf, 1e400, 0x1p-2) | any other text, a string
//
// where sep is spaces, commas or semicolons.
type fuzzParser struct {
	s     string
	i     int
	depth int
}

func (p *fuzzParser) skip() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n,;", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *fuzzParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *fuzzParser) value() (*fuzzNode, bool) {
	p.skip()
	if p.i >= len(p.s) || p.depth > 50 {
		return nil, false
	}
	p.depth++
	defer func() { p.depth-- }()
	switch c := p.s[p.i]; c {
	case '"', '\'':
		return &fuzzNode{kind: fuzzValue, val: lua.LString(p.str(c))}, true
	case '{', '[':
		p.i++
		n := &fuzzNode{kind: fuzzTable}
		for {
			p.skip()
			if c := p.peek(); c == 0 || c == '}' || c == ']' {
				p.i++
				return n, true
			}
			v, ok := p.value()
			if !ok {
				return nil, false
			}
			p.skip()
			if c := p.peek(); c == ':' || c == '=' {
				p.i++
				val, ok := p.value()
				if !ok {
					return nil, false
				}
				n.entries = append(n.entries, fuzzEntry{key: v, val: val})
			} else {
				n.entries = append(n.entries, fuzzEntry{val: v})
			}
		}
	}
	start := p.i
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n,;:=(){}[]\"'", p.s[p.i]) < 0 {
		p.i++
	}
	word := p.s[start:p.i]
	if word == "" { // a stray ) : or =
		p.i++
		return &fuzzNode{kind: fuzzValue, val: lua.LNil}, true
	}
	p.skip()
	if p.peek() == '(' {
		p.i++
		n := &fuzzNode{kind: fuzzCall, name: word}
		for {
			p.skip()
			if c := p.peek(); c == 0 || c == ')' {
				p.i++
				return n, true
			}
			v, ok := p.value()
			if !ok {
				return nil, false
			}
			n.entries = append(n.entries, fuzzEntry{val: v})
		}
	}
	switch word {
	case "nil", "null":
		return &fuzzNode{kind: fuzzValue, val: lua.LNil}, true
	case "true", "false":
		return &fuzzNode{kind: fuzzValue, val: lua.LBool(word == "true")}, true
	}
	if f, err := strconv.ParseFloat(word, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		return &fuzzNode{kind: fuzzValue, val: lua.LNumber(f)}, true
	}
	return &fuzzNode{kind: fuzzValue, val: lua.LString(word)}, true
}

// str reads a quoted string from p.s[p.i], which is the quote q.
func (p *fuzzParser) str(q byte) string {
	var b []byte
	for p.i++; p.i < len(p.s); p.i++ {
		c := p.s[p.i]
		if c == q {
			p.i++
			break
		}
		if c != '\\' || p.i+1 >= len(p.s) {
			b = append(b, c)
			continue
		}
		p.i++
		switch c = p.s[p.i]; c {
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case 'r':
			b = append(b, '\r')
		case '0':
			b = append(b, 0)
		case 'x', 'u':
			w := 2
			if c == 'u' {
				w = 4
			}
			if p.i+w < len(p.s) {
				if n, err := strconv.ParseUint(p.s[p.i+1:p.i+1+w], 16, 32); err == nil {
					if c == 'x' {
						b = append(b, byte(n))
					} else {
						b = utf8.AppendRune(b, rune(n))
					}
					p.i += w
					continue
				}
			}
			b = append(b, c)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}
