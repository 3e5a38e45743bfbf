package ivr_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	lua "github.com/yuin/gopher-lua"
)

// docsCall is the call of the documentation's examples: DID 0722776772, and
// layer 15 as the fallback, which the DIAL example uses as NEXT_VO_ID.
func docsCall(*lua.LState) *ivr.Call {
	return &ivr.Call{Request: &ivr.Request{DID: "0722776772"}, Fallback: 15, HasFallback: true}
}

// newState returns a Lua state where require("ivr") loads a module made
// with o.
func newState(t testing.TB, o ivr.Options) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	m, err := ivr.New(o)
	if err != nil {
		t.Fatal(err)
	}
	L.PreloadModule("ivr", m.Loader)
	return L
}

func docsState(t testing.TB) *lua.LState {
	return newState(t, ivr.Options{Language: "EN", Call: docsCall})
}

// eval runs a chunk, with ivr a local, and returns what it returns.
func eval(L *lua.LState, src string) (lua.LValue, error) {
	top := L.GetTop()
	defer L.SetTop(top)
	if err := L.DoString(`local ivr = require("ivr")` + "\n" + src); err != nil {
		return nil, err
	}
	if L.GetTop() == top {
		return lua.LNil, nil
	}
	return L.Get(top + 1), nil
}

// build runs a chunk that returns an action.
func build(t *testing.T, L *lua.LState, src string) *ivr.Action {
	t.Helper()
	v, err := eval(L, src)
	if err != nil {
		t.Fatalf("%s\n%v", src, err)
	}
	a, err := ivr.ActionOf(v)
	if err != nil {
		t.Fatalf("%s\n%v", src, err)
	}
	return a
}

const docsSayScript = `return ivr.say({
	ivr.recording("9899115_20849570029.mp3"),
	ivr.digits("0501234567"),
	ivr.number(112),
	ivr.date("2019-12-14"),
	ivr.datetime("2019-12-14T10:12:59"),
	ivr.recording("98972915_209570029.mp3"),
}, {next_layer = 2, next_layer_if_failed = 1})`

const docsCustomLua = `custom_data = {CRM_cleint_ID = "12345", Last_ticket_ID = "222", Last_representative = "John Doe"}`

// Lua tables have no order, so the builders sort CUSTOM_DATA by key.
const sortedCustomJSON = `"CUSTOM_DATA":{"CRM_cleint_ID":"12345","Last_representative":"John Doe","Last_ticket_ID":"222"}`

func TestBuildersReproduceDocs(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		doc  string
		want string // the exact answer
	}{
		{"go_to_layer", `return ivr.go_to_layer(12)`, "goto-response.json",
			compactDoc(t, "goto-response.json")},
		{"go_to_layer, case example", `return ivr.go_to_layer(12, {})`, "case-response.json",
			compactDoc(t, "goto-response.json")},
		{"go_to_layer with caller_name and custom_data",
			`return ivr.go_to_layer(22, {caller_name = "Shlomi", ` + docsCustomLua + `})`,
			"goto-custom-response.json",
			`{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":22,"CALLER_NAME":"Shlomi",` + sortedCustomJSON + `}`},
		{"say", docsSayScript, "say-response.json", compactDoc(t, "say-response.json")},
		{"say, items added one by one",
			`local items = {}
			table.insert(items, ivr.recording("9899115_20849570029.mp3"))
			table.insert(items, ivr.digits("0501234567"))
			table.insert(items, ivr.number("112"))
			table.insert(items, ivr.date("2019-12-14"))
			table.insert(items, ivr.datetime("2019-12-14T10:12:59"))
			table.insert(items, ivr.recording("98972915_209570029.mp3"))
			return ivr.say(items, {next_layer = "2", next_layer_if_failed = 1, language = "en"})`,
			"say-response.json", compactDoc(t, "say-response.json")},
		{"dial",
			`return ivr.dial(ivr.phone("0501234567"), {
				caller_id = "0722776772",
				caller_name = "Voicenter",
				max_call_duration = 1800,
				max_dial_duration = 60,
				next_vo_id = 15,
				recording = true,
				` + docsCustomLua + `,
			})`,
			"dial-response.json",
			`{"STATUS":0,"ACTION":"DIAL","CALLER_ID":"0722776772","CALLER_NAME":"Voicenter","MAX_CALL_DURATION":1800,` +
				`"MAX_DIAL_DURATION":60,"NEXT_VO_ID":15,"RECORDING":"yes","TARGETS":[{"TYPE":"PHONE","TARGET":"0501234567"}],` +
				sortedCustomJSON + `}`},
		{"dial with the call's defaults and a target table",
			`return ivr.dial({{type = "PHONE", target = "050-123-4567"}}, {
				caller_name = "Voicenter", max_call_duration = 1800, recording = true, ` + docsCustomLua + `})`,
			"dial-response.json",
			`{"STATUS":0,"ACTION":"DIAL","CALLER_ID":"0722776772","CALLER_NAME":"Voicenter","MAX_CALL_DURATION":1800,` +
				`"MAX_DIAL_DURATION":60,"NEXT_VO_ID":15,"RECORDING":"yes","TARGETS":[{"TYPE":"PHONE","TARGET":"0501234567"}],` +
				sortedCustomJSON + `}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := build(t, docsState(t), tc.src)
			got := a.AppendJSON(nil)
			doc := readDoc(t, tc.doc)
			if !reflect.DeepEqual(parse(t, got), parse(t, doc)) {
				t.Errorf("parsed output differs from %s:\ngot %s", tc.doc, got)
			}
			if gk, wk := topKeys(t, got), presentKeys(t, doc); !reflect.DeepEqual(gk, wk) {
				t.Errorf("key order\ngot  %q\nwant %q", gk, wk)
			}
			if string(got) != tc.want {
				t.Errorf("raw output\ngot  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// presentKeys returns the top-level keys of a docs example in order,
// leaving out those whose value is null.
func presentKeys(t testing.TB, doc []byte) []string {
	t.Helper()
	m := parse(t, doc).(map[string]any)
	var out []string
	for _, k := range topKeys(t, doc) {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	return out
}

func TestSayBuildsTheDocsItems(t *testing.T) {
	a := build(t, docsState(t), docsSayScript)
	want := ivr.Action{Kind: ivr.SayDigits, Layer: 2, FailLayer: 1, HasFailLayer: true, Language: "EN", Items: docsSay}
	if !reflect.DeepEqual(*a, want) {
		t.Errorf("got  %+v\nwant %+v", *a, want)
	}
}

func TestDialDefaults(t *testing.T) {
	a := build(t, docsState(t), `return ivr.dial(ivr.phone("0501234567"))`)
	want := ivr.Action{
		Kind:          ivr.Dial,
		CallerID:      "0722776772", // the call's DID
		Layer:         15,           // the call's fallback
		MaxCall:       ivr.DefaultMaxCallDuration,
		MaxDial:       ivr.DefaultMaxDialDuration,
		Targets:       []ivr.Target{{Type: "PHONE", Target: "0501234567"}},
		HasCustomData: true,
	}
	if !reflect.DeepEqual(*a, want) {
		t.Errorf("got  %+v\nwant %+v", *a, want)
	}
	got := string(a.AppendJSON(nil))
	wantJSON := `{"STATUS":0,"ACTION":"DIAL","CALLER_ID":"0722776772","MAX_CALL_DURATION":3600,"MAX_DIAL_DURATION":60,` +
		`"NEXT_VO_ID":15,"RECORDING":"no","TARGETS":[{"TYPE":"PHONE","TARGET":"0501234567"}],"CUSTOM_DATA":{}}`
	if got != wantJSON {
		t.Errorf("got  %s\nwant %s", got, wantJSON)
	}
	for _, mandatory := range []string{`"CALLER_ID":`, `"MAX_CALL_DURATION":`, `"MAX_DIAL_DURATION":`, `"NEXT_VO_ID":`, `"RECORDING":"no"`, `"TARGETS":`, `"CUSTOM_DATA":{}`} {
		if !strings.Contains(got, mandatory) {
			t.Errorf("%s lacks %s", got, mandatory)
		}
	}
}

func TestDialOptionsOverrideDefaults(t *testing.T) {
	a := build(t, docsState(t), `return ivr.dial({ivr.extension("sip_1.a@b"), ivr.phone("+972 (50) 123-4567"), {type = "extension", target = 42}}, {
		caller_id = "+972 50 123 4567", next_vo_id = 0, recording = false, max_call_duration = 86400, max_dial_duration = 1,
		custom_data = {n = 5, ok = true, [3] = "three"}})`)
	want := ivr.Action{
		Kind:     ivr.Dial,
		CallerID: "972501234567",
		Layer:    0,
		MaxCall:  86400,
		MaxDial:  1,
		Targets: []ivr.Target{
			{Type: "EXTENSION", Target: "sip_1.a@b"},
			{Type: "PHONE", Target: "972501234567"},
			{Type: "EXTENSION", Target: "42"},
		},
		CustomData:    []ivr.Field{{Key: "3", Value: "three"}, {Key: "n", Value: "5"}, {Key: "ok", Value: "true"}},
		HasCustomData: true,
	}
	if !reflect.DeepEqual(*a, want) {
		t.Errorf("got  %+v\nwant %+v", *a, want)
	}
}

func TestSayLanguage(t *testing.T) {
	for _, tc := range []struct {
		module string // Options.Language
		option string // the say option, if any
		want   string
	}{
		{"", "", "EN"},
		{"EN", "", "EN"},
		{"he", "", "HE"},
		{" ru ", "", "RU"},
		{"AR", "", "AR"},
		{"EN", `, language = "HE"`, "HE"},
		{"HE", `, language = "ar"`, "AR"},
	} {
		L := newState(t, ivr.Options{Language: tc.module})
		a := build(t, L, `return ivr.say(ivr.number(1), {next_layer = 3`+tc.option+`})`)
		if a.Language != tc.want {
			t.Errorf("module %q, option %q: LANGUAGE %q, want %q", tc.module, tc.option, a.Language, tc.want)
		}
		if a.HasFailLayer {
			t.Errorf("NEXT_LAYER_IF_FAILED set without the option: %+v", a)
		}
		want := `{"STATUS":0,"ACTION":"SAY_DIGITS","NEXT_LAYER":3,"LANGUAGE":"` + tc.want + `","DATA":[{"RecordType":"Number","Content":"1"}]}`
		if got := a.AppendJSON(nil); string(got) != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

// SAY_DIGITS sends CUSTOM_DATA last, after DATA, where Voicenter's SDK adds
// it to every answer; without the option it sends none.
func TestSayCustomData(t *testing.T) {
	L := docsState(t)
	a := build(t, L, `return ivr.say(ivr.number(1), {next_layer = 3, custom_data = {crm_id = 42, vip = true}})`)
	want := `{"STATUS":0,"ACTION":"SAY_DIGITS","NEXT_LAYER":3,"LANGUAGE":"EN","DATA":[{"RecordType":"Number","Content":"1"}],` +
		`"CUSTOM_DATA":{"crm_id":"42","vip":"true"}}`
	if got := a.AppendJSON(nil); string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	a = build(t, L, `return ivr.say(ivr.number(1), {next_layer = 3, custom_data = {}})`)
	if got := a.AppendJSON(nil); !strings.HasSuffix(string(got), `}],"CUSTOM_DATA":{}}`) {
		t.Errorf("empty custom_data: %s", got)
	}
}

func TestNewRejectsUnknownLanguage(t *testing.T) {
	for _, lang := range []string{"XX", "english", " ", "E N"} {
		m, err := ivr.New(ivr.Options{Language: lang})
		if err == nil || m != nil {
			t.Errorf("New(Language %q) = %v, %v; want an error", lang, m, err)
			continue
		}
		if !strings.Contains(err.Error(), "unknown language") || !strings.Contains(err.Error(), "HE, EN, AR, RU") {
			t.Errorf("New(Language %q): %v", lang, err)
		}
	}
}

func TestItemBuilders(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want ivr.Item
	}{
		{`ivr.recording("a b.mp3")`, ivr.Item{Type: "Recording", Content: "a b.mp3"}},
		{`ivr.digits("0501234567")`, ivr.Item{Type: "Digits", Content: "0501234567"}},
		{`ivr.digits("0")`, ivr.Item{Type: "Digits", Content: "0"}},
		{`ivr.number(112)`, ivr.Item{Type: "Number", Content: "112"}},
		{`ivr.number(0)`, ivr.Item{Type: "Number", Content: "0"}},
		{`ivr.number("007")`, ivr.Item{Type: "Number", Content: "7"}},
		{`ivr.number("000")`, ivr.Item{Type: "Number", Content: "0"}},
		{`ivr.number(" 12 ")`, ivr.Item{Type: "Number", Content: "12"}},
		{`ivr.number(999999999999999)`, ivr.Item{Type: "Number", Content: "999999999999999"}},
		{`ivr.date("2020-02-29")`, ivr.Item{Type: "Date", Content: "2020-02-29"}},
		{`ivr.datetime("2019-12-31T23:59:59")`, ivr.Item{Type: "DateTime", Content: "2019-12-31T23:59:59"}},
	} {
		a := build(t, docsState(t), `return ivr.say(`+tc.src+`, {next_layer = 1})`)
		if len(a.Items) != 1 || a.Items[0] != tc.want {
			t.Errorf("%s: items %+v, want [%+v]", tc.src, a.Items, tc.want)
		}
	}
}

func TestTargetBuilders(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want ivr.Target
	}{
		{`ivr.phone("0501234567")`, ivr.Target{Type: "PHONE", Target: "0501234567"}},
		{`ivr.phone("+972-50-123 4567")`, ivr.Target{Type: "PHONE", Target: "972501234567"}},
		{`ivr.phone("+972501234567")`, ivr.Target{Type: "PHONE", Target: "972501234567"}},
		{`ivr.phone("00972501234567")`, ivr.Target{Type: "PHONE", Target: "972501234567"}},
		{`ivr.phone("00 1 (212) 555-0100")`, ivr.Target{Type: "PHONE", Target: "12125550100"}},
		{`ivr.phone("(03) 123-4567")`, ivr.Target{Type: "PHONE", Target: "031234567"}},
		{`ivr.extension("sip123")`, ivr.Target{Type: "EXTENSION", Target: "sip123"}},
		{`ivr.extension(1001)`, ivr.Target{Type: "EXTENSION", Target: "1001"}},
		{`{type = "Phone", target = "050 1234567"}`, ivr.Target{Type: "PHONE", Target: "0501234567"}},
		{`{type = "PHONE", target = "+44 20 7946 0958"}`, ivr.Target{Type: "PHONE", Target: "442079460958"}},
		{`{type = "EXTENSION", target = "a-b_c.d@e"}`, ivr.Target{Type: "EXTENSION", Target: "a-b_c.d@e"}},
	} {
		a := build(t, docsState(t), `return ivr.dial({`+tc.src+`})`)
		if len(a.Targets) != 1 || a.Targets[0] != tc.want {
			t.Errorf("%s: targets %+v, want [%+v]", tc.src, a.Targets, tc.want)
		}
	}
}

func TestGoToLayerOptions(t *testing.T) {
	for _, tc := range []struct {
		src, want string
	}{
		{`ivr.go_to_layer("12")`, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12}`},
		{`ivr.go_to_layer(" 12 ")`, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12}`},
		{`ivr.go_to_layer(12.0)`, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12}`},
		{`ivr.go_to_layer(0)`, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":0}`},
		{`ivr.go_to_layer(2147483647)`, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":2147483647}`},
		{`ivr.go_to_layer(12, nil)`, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12}`},
		{`ivr.go_to_layer(12, {caller_name = 42})`, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12,"CALLER_NAME":"42"}`},
		{`ivr.go_to_layer(12, {caller_name = "דנה \"D\""})`, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12,"CALLER_NAME":"דנה \"D\""}`},
		{`ivr.go_to_layer(12, {custom_data = {}})`, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12,"CUSTOM_DATA":{}}`},
		{`ivr.go_to_layer(12, {custom_data = {b = 1.5, a = false, c = -3, ["d e"] = "x"}})`,
			`{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12,"CUSTOM_DATA":{"a":"false","b":"1.5","c":"-3","d e":"x"}}`},
		// Voicenter keeps CUSTOM_DATA values as strings: numbers go as a
		// script prints them, whole ones without a fraction or exponent.
		{`ivr.go_to_layer(12, {custom_data = {a = 12, b = 12.0, c = 0.1, d = -0.0, e = 1e15, f = 2^53, g = 1e20, h = 1e-7, [2] = true}})`,
			`{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12,"CUSTOM_DATA":{"2":"true","a":"12","b":"12","c":"0.1","d":"0","e":"1000000000000000",` +
				`"f":"9007199254740992","g":"1e+20","h":"1e-07"}}`},
		{`ivr.go_to_layer(12, {custom_data = {v = string.rep("x", 128), w = string.rep("ש", 128), e = string.rep("😀", 64)}})`,
			`{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12,"CUSTOM_DATA":{"e":"` + strings.Repeat("😀", 64) + `","v":"` + strings.Repeat("x", 128) +
				`","w":"` + strings.Repeat("ש", 128) + `"}}`},
	} {
		a := build(t, docsState(t), "return "+tc.src)
		if got := a.AppendJSON(nil); string(got) != tc.want {
			t.Errorf("%s\ngot  %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

func TestErrorBuilder(t *testing.T) {
	L := docsState(t)
	a := build(t, L, `return ivr.error("CRM is down")`)
	if a.Kind != ivr.Fail || a.Reason != "CRM is down" {
		t.Errorf("ivr.error(reason) = %+v", a)
	}
	if got := a.AppendJSON(nil); string(got) != `{"STATUS":1}` {
		t.Errorf("ivr.error answers %s", got)
	}
	a = build(t, L, `return ivr.error()`)
	if a.Kind != ivr.Fail || a.Reason == "" {
		t.Errorf("ivr.error() = %+v, want a default reason", a)
	}
}

func TestBuilderErrors(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want string // in the Lua error
	}{
		// Languages.
		{`ivr.say(ivr.number(1), {next_layer = 2, language = "XX"})`, `ivr.say: language must be one of HE, EN, AR, RU, got "XX"`},
		{`ivr.say(ivr.number(1), {next_layer = 2, language = true})`, `ivr.say: language must be one of HE, EN, AR, RU, got true`},
		// Dates and times.
		{`ivr.date("2019-02-30")`, `ivr.date: value must be a real ISO 8601 YYYY-MM-DD, got "2019-02-30"`},
		{`ivr.date("2019-13-01")`, `ivr.date: value must be a real ISO 8601 YYYY-MM-DD`},
		{`ivr.date("2019-2-3")`, `ivr.date: value must be a real ISO 8601 YYYY-MM-DD`},
		{`ivr.date("14/12/2019")`, `ivr.date: value must be a real ISO 8601 YYYY-MM-DD`},
		{`ivr.date("2019-12-14T10:12:59")`, `ivr.date: value must be a real ISO 8601 YYYY-MM-DD`},
		{`ivr.date(20191214)`, `ivr.date: value must be a real ISO 8601 YYYY-MM-DD, got 20191214`},
		{`ivr.date()`, `ivr.date: value must be a real ISO 8601 YYYY-MM-DD, got nil`},
		{`ivr.datetime("2019-12-14T25:00:00")`, `ivr.datetime: value must be a real ISO 8601 YYYY-MM-DDTHH:MM:SS, got "2019-12-14T25:00:00"`},
		{`ivr.datetime("2019-12-14T10:60:00")`, `ivr.datetime: value must be a real ISO 8601 YYYY-MM-DDTHH:MM:SS`},
		{`ivr.datetime("2019-12-14T1:12:59")`, `ivr.datetime: value must be a real ISO 8601 YYYY-MM-DDTHH:MM:SS`},
		{`ivr.datetime("2019-12-14 10:12:59")`, `ivr.datetime: value must be a real ISO 8601 YYYY-MM-DDTHH:MM:SS`},
		{`ivr.datetime("2019-12-14T10:12:59Z")`, `ivr.datetime: value must be a real ISO 8601 YYYY-MM-DDTHH:MM:SS`},
		{`ivr.datetime("2019-12-14")`, `ivr.datetime: value must be a real ISO 8601 YYYY-MM-DDTHH:MM:SS`},
		// Layers.
		{`ivr.go_to_layer(12.5)`, `ivr.go_to_layer: layer must be a layer number (an integer from 0 to 2147483647), got 12.5`},
		{`ivr.go_to_layer(-1)`, `ivr.go_to_layer: layer must be a layer number`},
		{`ivr.go_to_layer(2147483648)`, `ivr.go_to_layer: layer must be a layer number`},
		{`ivr.go_to_layer("12a")`, `ivr.go_to_layer: layer must be a layer number (an integer from 0 to 2147483647), got "12a"`},
		{`ivr.go_to_layer()`, `ivr.go_to_layer: layer must be a layer number (an integer from 0 to 2147483647), got nil`},
		{`ivr.go_to_layer(true)`, `ivr.go_to_layer: layer must be a layer number`},
		{`ivr.go_to_layer(ivr.number(1))`, `ivr.go_to_layer: layer must be a layer number (an integer from 0 to 2147483647), got ivr.item`},
		{`ivr.say(ivr.number(1), {next_layer = 2.5})`, `ivr.say: next_layer must be a layer number`},
		{`ivr.say(ivr.number(1), {next_layer = 2, next_layer_if_failed = -1})`, `ivr.say: next_layer_if_failed must be a layer number`},
		{`ivr.dial(ivr.phone("0501234567"), {next_vo_id = "x"})`, `ivr.dial: next_vo_id must be a layer number`},
		// Item contents.
		{`ivr.digits("12a")`, `ivr.digits: digits must be a string of 0-9, got "12a"`},
		{`ivr.digits("")`, `ivr.digits: digits must be a string of 0-9`},
		{`ivr.digits("+972")`, `ivr.digits: digits must be a string of 0-9`},
		{`ivr.digits(-1)`, `ivr.digits: digits must be a string ("0501234567"): a Lua number loses its leading zero, got number -1`},
		{`ivr.digits(0501234567)`, `ivr.digits: digits must be a string ("0501234567"): a Lua number loses its leading zero, got number 501234567`},
		{`ivr.digits(1.5)`, `ivr.digits: digits must be a string ("0501234567")`},
		{`ivr.number(-1)`, `ivr.number: n must be a whole number from 0, got -1`},
		{`ivr.number(1.5)`, `ivr.number: n must be a whole number from 0, got 1.5`},
		{`ivr.number(1e15)`, `ivr.number: n must be a whole number from 0`},
		{`ivr.number("1e3")`, `ivr.number: n must be a whole number from 0, got "1e3"`},
		{`ivr.number("")`, `ivr.number: n must be a whole number from 0`},
		{`ivr.recording("")`, `ivr.recording: file must be a recording file name`},
		{`ivr.recording("a\nb.mp3")`, `ivr.recording: file must be a recording file name`},
		{`ivr.recording(string.rep("a", 256))`, `ivr.recording: file must be a recording file name`},
		{`ivr.recording(5)`, `ivr.recording: file must be a recording file name, got 5`},
		// Custom data.
		{`ivr.go_to_layer(1, {custom_data = {a = {b = 1}}})`, `ivr.go_to_layer: custom_data.a must be a string, number or boolean (CUSTOM_DATA is flat), got table`},
		{`ivr.dial(ivr.phone("0501234567"), {custom_data = {a = {b = 1}}})`, `ivr.dial: custom_data.a must be a string, number or boolean`},
		{`ivr.go_to_layer(1, {custom_data = {f = print}})`, `ivr.go_to_layer: custom_data.f must be a string, number or boolean`},
		{`ivr.go_to_layer(1, {custom_data = {[true] = 1}})`, `ivr.go_to_layer: custom_data keys must be strings, got true`},
		{`ivr.go_to_layer(1, {custom_data = {"a", ["1"] = "b"}})`, `ivr.go_to_layer: custom_data has the key "1" twice, as a number and as a string`},
		{`ivr.dial(ivr.phone("0501234567"), {custom_data = {[1.5] = 1, ["1.5"] = 2}})`, `ivr.dial: custom_data has the key "1.5" twice`},
		{`ivr.go_to_layer(1, {custom_data = "x=1"})`, `ivr.go_to_layer: custom_data must be a table, got "x=1"`},
		{`ivr.go_to_layer(1, {custom_data = {id = string.rep("x", 129)}})`, `ivr.go_to_layer: custom_data.id is 129 characters long, Voicenter keeps at most 128`},
		{`ivr.dial(ivr.phone("0501234567"), {custom_data = {name = string.rep("ש", 129)}})`, `ivr.dial: custom_data.name is 129 characters long, Voicenter keeps at most 128`},
		{`ivr.say(ivr.number(1), {next_layer = 1, custom_data = {e = string.rep("😀", 65)}})`, `ivr.say: custom_data.e is 130 characters long, Voicenter keeps at most 128`},
		{`ivr.go_to_layer(1, {custom_data = {n = 0/0}})`, `ivr.go_to_layer: custom_data.n must be a finite number, got `},
		{`ivr.go_to_layer(1, {custom_data = {n = -1/0}})`, `ivr.go_to_layer: custom_data.n must be a finite number, got -Inf`},
		{`ivr.say(ivr.number(1), {next_layer = 1, custom_data = {"a", ["1"] = "b"}})`, `ivr.say: custom_data has the key "1" twice, as a number and as a string`},
		{`ivr.say(ivr.number(1), {next_layer = 1, custom_data = {a = {}}})`, `ivr.say: custom_data.a must be a string, number or boolean`},
		// Targets.
		{`ivr.dial({}, {next_vo_id = 1})`, `ivr.dial: targets is empty`},
		{`ivr.dial(nil, {next_vo_id = 1})`, `ivr.dial: targets is missing`},
		{`ivr.dial("0501234567")`, `ivr.dial: targets must be a list, got "0501234567"`},
		{`ivr.dial({{type = "FAX", target = "1"}}, {next_vo_id = 1})`, `ivr.dial: targets[1] has unknown target type "FAX", want PHONE or EXTENSION`},
		{`ivr.dial({{target = "0501234567"}})`, `ivr.dial: targets[1] has unknown target type nil`},
		{`ivr.dial({ivr.phone("0501234567"), "0501234567"})`, `ivr.dial: targets[2] must be ivr.phone(...) or ivr.extension(...), got "0501234567"`},
		{`ivr.dial(ivr.number(1))`, `ivr.dial: targets must be ivr.phone(...) or ivr.extension(...), got ivr.item`},
		{`ivr.dial({{type = "PHONE", target = "abc"}})`, `ivr.dial: targets[1].target must be a phone number`},
		{`ivr.dial({{type = "EXTENSION", target = "a b"}})`, `ivr.dial: targets[1].target must be a Voicenter extension SIP code`},
		{`ivr.phone("abc")`, `ivr.phone: number must be a phone number (digits; an international one after + or 00), got "abc"`},
		{`ivr.phone(0501234567)`, `ivr.phone: number must be a string ("0501234567"): a Lua number loses its leading zero, got number 501234567`},
		{`ivr.phone(972501234567)`, `ivr.phone: number must be a string ("0501234567"): a Lua number loses its leading zero, got number 972501234567`},
		{`ivr.phone("00")`, `ivr.phone: number must be a phone number`},
		{`ivr.phone("+0501234567")`, `ivr.phone: number must be a phone number`},
		{`ivr.phone("000501234567")`, `ivr.phone: number must be a phone number`},
		{`ivr.phone("+1")`, `ivr.phone: number must be a phone number`},
		{`ivr.dial({{type = "PHONE", target = 501234567}})`, `ivr.dial: targets[1].target must be a string ("0501234567"): a Lua number loses its leading zero, got number 501234567`},
		{`ivr.dial(ivr.phone("0501234567"), {caller_id = 722776772})`, `ivr.dial: caller_id must be a string ("0501234567"): a Lua number loses its leading zero, got number 722776772`},
		{`ivr.phone("+")`, `ivr.phone: number must be a phone number`},
		{`ivr.phone("5")`, `ivr.phone: number must be a phone number`},
		{`ivr.phone("++972501234567")`, `ivr.phone: number must be a phone number`},
		{`ivr.phone("050123456789012345678")`, `ivr.phone: number must be a phone number`},
		{`ivr.phone()`, `ivr.phone: number must be a phone number (digits; an international one after + or 00), got nil`},
		{`ivr.extension("a b")`, `ivr.extension: code must be a Voicenter extension SIP code (letters, digits, _ - . @), got "a b"`},
		{`ivr.extension("")`, `ivr.extension: code must be a Voicenter extension SIP code`},
		{`ivr.extension(string.rep("a", 65))`, `ivr.extension: code must be a Voicenter extension SIP code`},
		// Items.
		{`ivr.say({}, {next_layer = 1})`, `ivr.say: items is empty`},
		{`ivr.say(nil, {next_layer = 1})`, `ivr.say: items is missing`},
		{`ivr.say("hello", {next_layer = 1})`, `ivr.say: items must be a list, got "hello"`},
		{`ivr.say({ivr.number(1), ivr.phone("0501234567")}, {next_layer = 1})`, `ivr.say: items[2] must be built by ivr.recording, ivr.digits, ivr.number, ivr.date or ivr.datetime, got ivr.target`},
		{`ivr.say({"112"}, {next_layer = 1})`, `ivr.say: items[1] must be built by`},
		// Options.
		{`ivr.dial(ivr.phone("0501234567"), {recordng = true})`, `ivr.dial: unknown option "recordng"`},
		{`ivr.go_to_layer(1, {callername = "x"})`, `ivr.go_to_layer: unknown option "callername" (options: caller_name, custom_data)`},
		{`ivr.say(ivr.number(1), {next_layer = 1, lang = "HE"})`, `ivr.say: unknown option "lang"`},
		{`ivr.go_to_layer(1, "fast")`, `ivr.go_to_layer: options must be a table, got "fast"`},
		{`ivr.go_to_layer(1, {"x"})`, `ivr.go_to_layer: options must be a table of name = value, got key 1`},
		{`ivr.say(ivr.number(1))`, `ivr.say: option next_layer is required`},
		{`ivr.say(ivr.number(1), {})`, `ivr.say: option next_layer is required`},
		{`ivr.say(ivr.number(1), {next_layer_if_failed = 1})`, `ivr.say: option next_layer is required`},
		{`ivr.dial(ivr.phone("0501234567"), {recording = "yes"})`, `ivr.dial: option recording must be true or false, got "yes"`},
		{`ivr.dial(ivr.phone("0501234567"), {recording = 1})`, `ivr.dial: option recording must be true or false, got 1`},
		{`ivr.dial(ivr.phone("0501234567"), {caller_id = "anonymous"})`, `ivr.dial: caller_id must be a phone number`},
		{`ivr.dial(ivr.phone("0501234567"), {caller_name = {}})`, `ivr.dial: caller_name must be a string, got table`},
		{`ivr.dial(ivr.phone("0501234567"), {max_call_duration = 0})`, `ivr.dial: max_call_duration must be a whole number of seconds from 1 to 86400, got 0`},
		{`ivr.dial(ivr.phone("0501234567"), {max_call_duration = 86401})`, `ivr.dial: max_call_duration must be a whole number of seconds`},
		{`ivr.dial(ivr.phone("0501234567"), {max_dial_duration = 1.5})`, `ivr.dial: max_dial_duration must be a whole number of seconds`},
		{`ivr.dial(ivr.phone("0501234567"), {max_dial_duration = "60"})`, `ivr.dial: max_dial_duration must be a whole number of seconds`},
	} {
		t.Run(tc.src, func(t *testing.T) {
			checkLuaError(t, docsState(t), "return "+tc.src, tc.want)
		})
	}
}

// checkLuaError runs src and asserts it raises a Lua runtime error holding
// want.
func checkLuaError(t *testing.T, L *lua.LState, src, want string) {
	t.Helper()
	v, err := eval(L, src)
	if err == nil {
		t.Fatalf("%s returned %v, want an error holding %q", src, v, want)
	}
	var apiErr *lua.ApiError
	if !errors.As(err, &apiErr) || apiErr.Type != lua.ApiErrorRun {
		t.Errorf("%s: %v is not a Lua runtime error", src, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("%s\nerror %q\nwant  %q", src, err, want)
	}
	// The error points at the script line that made the mistake.
	if !strings.Contains(err.Error(), "<string>:2:") {
		t.Errorf("%s: error %q does not name the script line", src, err)
	}
}

func TestDialNeedsDefaultsItCannotFind(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(*lua.LState) *ivr.Call
		src  string
		want string
	}{
		{"no fallback", func(*lua.LState) *ivr.Call {
			return &ivr.Call{Request: &ivr.Request{DID: "0722776772"}, Fallback: 15}
		}, `ivr.dial(ivr.phone("0501234567"))`, `ivr.dial: option next_vo_id is required`},
		{"no fallback, caller_id given", func(*lua.LState) *ivr.Call {
			return &ivr.Call{Request: &ivr.Request{DID: "0722776772"}}
		}, `ivr.dial(ivr.phone("0501234567"), {caller_id = "0722776772"})`, `ivr.dial: option next_vo_id is required`},
		{"no call", nil, `ivr.dial(ivr.phone("0501234567"), {caller_id = "0722776772"})`, `ivr.dial: option next_vo_id is required`},
		{"no call, no caller_id", nil, `ivr.dial(ivr.phone("0501234567"), {next_vo_id = 1})`, `ivr.dial: option caller_id is required here`},
		{"no request", func(*lua.LState) *ivr.Call {
			return &ivr.Call{Fallback: 15, HasFallback: true}
		}, `ivr.dial(ivr.phone("0501234567"))`, `ivr.dial: option caller_id is required here`},
		{"no DID", func(*lua.LState) *ivr.Call {
			return &ivr.Call{Request: &ivr.Request{}, Fallback: 15, HasFallback: true}
		}, `ivr.dial(ivr.phone("0501234567"))`, `ivr.dial: option caller_id is required here`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLuaError(t, newState(t, ivr.Options{Call: tc.call}), "return "+tc.src, tc.want)
		})
	}
	// Given both, dial needs no call at all.
	a := build(t, newState(t, ivr.Options{}), `return ivr.dial(ivr.phone("0501234567"), {caller_id = "0722776772", next_vo_id = 3})`)
	if a.CallerID != "0722776772" || a.Layer != 3 {
		t.Errorf("got %+v", a)
	}
}

func TestActionOfRejectsOtherValues(t *testing.T) {
	L := docsState(t)
	for _, tc := range []struct {
		src, want string
	}{
		{`return nil`, "handler returned nil"},
		{`return`, "handler returned nil"},
		{`return 12`, "handler returned 12"},
		{`return "GO_TO_LAYER"`, `handler returned "GO_TO_LAYER"`},
		{`return {STATUS = 0, ACTION = "GO_TO_LAYER", LAYER = 12}`, "handler returned table"},
		{`return ivr.number(1)`, "handler returned ivr.item"},
		{`return ivr.phone("0501234567")`, "handler returned ivr.target"},
		{`return ivr.go_to_layer`, "handler returned function"},
	} {
		v, err := eval(L, tc.src)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		a, err := ivr.ActionOf(v)
		if err == nil || a != nil {
			t.Errorf("%s: ActionOf = %v, %v; want an error", tc.src, a, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "want an action") {
			t.Errorf("%s: %v, want %q", tc.src, err, tc.want)
		}
	}
	// A userdata from elsewhere is not an action either.
	ud := L.NewUserData()
	ud.Value = ivr.GoTo(1) // a value, not a *Action
	if _, err := ivr.ActionOf(ud); err == nil {
		t.Error("ActionOf accepted a userdata holding an Action value")
	}
}

func TestBuiltValuesPrintAndHideTheirMetatable(t *testing.T) {
	L := docsState(t)
	for _, tc := range []struct {
		src, want string
	}{
		{`return tostring(ivr.go_to_layer(12))`, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12}`},
		{`return tostring(ivr.error("x"))`, `{"STATUS":1}`},
		{`return tostring(ivr.digits("0501234567"))`, `Digits(0501234567)`},
		{`return tostring(ivr.datetime("2019-12-14T10:12:59"))`, `DateTime(2019-12-14T10:12:59)`},
		{`return tostring(ivr.phone("050-1234567"))`, `PHONE(0501234567)`},
		{`return tostring(ivr.extension("sip1"))`, `EXTENSION(sip1)`},
		{`return getmetatable(ivr.go_to_layer(12))`, `ivr.action`},
		{`return getmetatable(ivr.number(1))`, `ivr.item`},
		{`return getmetatable(ivr.phone("0501234567"))`, `ivr.target`},
		{`return type(ivr.go_to_layer(12))`, `userdata`},
		{`return pcall(setmetatable, ivr.go_to_layer(12), {}) and "changed" or "protected"`, `protected`},
	} {
		v, err := eval(L, tc.src)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if s, ok := v.(lua.LString); !ok || string(s) != tc.want {
			t.Errorf("%s = %v, want %q", tc.src, v, tc.want)
		}
	}
}

func TestModuleTable(t *testing.T) {
	L := docsState(t)
	v, err := eval(L, `return ivr`)
	if err != nil {
		t.Fatal(err)
	}
	tbl, ok := v.(*lua.LTable)
	if !ok {
		t.Fatalf("require(\"ivr\") = %v", v)
	}
	var names []string
	tbl.ForEach(func(k, v lua.LValue) {
		if _, ok := v.(*lua.LFunction); !ok {
			t.Errorf("ivr.%v is a %s", k, v.Type())
		}
		names = append(names, k.String())
	})
	want := []string{"date", "datetime", "dial", "digits", "error", "extension", "go_to_layer", "number", "phone", "recording", "say"}
	if slices.Sort(names); !reflect.DeepEqual(names, want) {
		t.Errorf("module has %q, want %q", names, want)
	}
}

func TestRequestTable(t *testing.T) {
	L := docsState(t)
	r := ivr.Request{
		DID: "0722776772", CallerID: "0501234567", UniqueID: "u1", DTMF: "1234",
		LayerID: 5, PreviousLayerID: 4, HasPrevious: true, HasCustomData: true,
		CustomData: []ivr.Field{{Key: "s", Value: "x"}, {Key: "n", Value: "1.5"}, {Key: "b", Value: "true"}},
	}
	L.SetGlobal("call", r.Table(L))
	v, err := eval(L, `return string.format("%s|%s|%s|%s|%d|%s|%s|%s|%s|%s",
		call.did, call.caller_id, call.ivr_unique_id, call.dtmf, call.layer_id,
		tostring(call.previous_layer_id), call.custom_data.s, type(call.custom_data.n) .. " " .. call.custom_data.n,
		type(call.custom_data.b) .. " " .. call.custom_data.b, tostring(call.custom_data.z))`)
	if err != nil {
		t.Fatal(err)
	}
	if want := "0722776772|0501234567|u1|1234|5|4|x|string 1.5|string true|nil"; v.String() != want {
		t.Errorf("call table reads %s, want %s", v, want)
	}
	bare := ivr.Request{DTMF: "0", LayerID: 7}
	L.SetGlobal("call", bare.Table(L))
	v, err = eval(L, `return tostring(call.previous_layer_id) .. "|" .. tostring(call.custom_data) .. "|" .. call.dtmf .. "|" .. call.did`)
	if err != nil {
		t.Fatal(err)
	}
	if want := "nil|nil|0|"; v.String() != want {
		t.Errorf("bare call table reads %s, want %s", v, want)
	}
}

// The module's doc comment example, run against a decoded request.
func TestDocCommentExample(t *testing.T) {
	const script = `local ivr = require("ivr")
return function(call)
  if #call.dtmf == 8 then
    return ivr.go_to_layer(12, {caller_name = "Dana", custom_data = {crm_id = "42"}})
  end
  return ivr.say({ivr.recording("bad-id.mp3"), ivr.digits(call.dtmf)},
                 {next_layer = 13, language = "HE"})
end`
	for _, tc := range []struct {
		request, want string
	}{
		{"case-request.json", `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12,"CALLER_NAME":"Dana","CUSTOM_DATA":{"crm_id":"42"}}`},
		{"request.json", `{"STATUS":0,"ACTION":"SAY_DIGITS","NEXT_LAYER":13,"LANGUAGE":"HE","DATA":[` +
			`{"RecordType":"Recording","Content":"bad-id.mp3"},{"RecordType":"Digits","Content":"1234"}]}`},
	} {
		var r ivr.Request
		if err := ivr.Decode(readDoc(t, tc.request), &r); err != nil {
			t.Fatal(err)
		}
		L := newState(t, ivr.Options{Call: func(*lua.LState) *ivr.Call { return &ivr.Call{Request: &r} }})
		if err := L.DoString(script); err != nil {
			t.Fatal(err)
		}
		handler := L.Get(-1)
		L.Pop(1)
		if err := L.CallByParam(lua.P{Fn: handler, NRet: 1, Protect: true}, r.Table(L)); err != nil {
			t.Fatalf("%s: %v", tc.request, err)
		}
		ret := L.Get(-1)
		L.Pop(1)
		a, err := ivr.ActionOf(ret)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.AppendJSON(nil); string(got) != tc.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.request, got, tc.want)
		}
	}
}

func TestDialTakesOneTargetTable(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	m, err := ivr.New(ivr.Options{Call: func(*lua.LState) *ivr.Call {
		return &ivr.Call{Request: &ivr.Request{DID: "0722776772"}, Fallback: 15, HasFallback: true}
	}})
	if err != nil {
		t.Fatal(err)
	}
	L.PreloadModule("ivr", m.Loader)
	if err := L.DoString(`return require("ivr").dial({ type = "extension", target = "sip123" })`); err != nil {
		t.Fatal(err)
	}
	a, err := ivr.ActionOf(L.Get(-1))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Targets) != 1 || a.Targets[0] != (ivr.Target{Type: "EXTENSION", Target: "sip123"}) {
		t.Errorf("targets %+v", a.Targets)
	}
}

// A VM refills one call table, so each call must find exactly its own
// fields, whatever the last handler did to the table.
// full has every field a request can carry; bare has only what Decode
// always sets.
var (
	full = ivr.Request{DID: "1", CallerID: "2", UniqueID: "u1", DTMF: "3", LayerID: 5,
		PreviousLayerID: 4, HasPrevious: true, HasCustomData: true, CustomData: []ivr.Field{{Key: "k", Value: "v"}}}
	bare = ivr.Request{DTMF: "0", LayerID: 7}
)

func TestRequestTableKeepsNothingOfTheLastCall(t *testing.T) {
	L := docsState(t)
	const dump = `local ks = {}
		for k, v in pairs(call) do
			ks[#ks + 1] = k .. "=" .. (type(v) == "table" and "{}" or tostring(v))
		end
		table.sort(ks)
		return table.concat(ks, " ") .. (getmetatable(call) and " +mt" or "")`
	for _, tc := range []struct {
		name, mess string
	}{
		{"new key", `call.tries = 1`},
		{"array entry", `call[1] = "x"`},
		{"metatable", `setmetatable(call, {__index = function() return "leak" end})`},
		{"changed fields", `call.did = 9; call.layer_id = "x"; call.custom_data = nil; call.previous_layer_id = nil`},
		{"rawset", `rawset(call, "tries", 1)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			L.SetGlobal("call", full.Table(L))
			if _, err := eval(L, tc.mess); err != nil {
				t.Fatal(err)
			}
			L.SetGlobal("call", bare.Table(L))
			v, err := eval(L, dump)
			if err != nil {
				t.Fatal(err)
			}
			if want := "caller_id= did= dtmf=0 ivr_unique_id= layer_id=7"; v.String() != want {
				t.Errorf("after %s, the next call reads %q, want %q", tc.mess, v, want)
			}
			L.SetGlobal("call", full.Table(L))
			v, err = eval(L, dump)
			if err != nil {
				t.Fatal(err)
			}
			if want := "caller_id=2 custom_data={} did=1 dtmf=3 ivr_unique_id=u1 layer_id=5 previous_layer_id=4"; v.String() != want {
				t.Errorf("a full call reads %q, want %q", v, want)
			}
		})
	}
}

// TestRequestTableOrderAndGrowth: pairs(call) walks the fields in one order
// whatever earlier calls held, and a table that collects deleted keys is
// replaced before it can grow without end.
func TestRequestTableOrderAndGrowth(t *testing.T) {
	L := docsState(t)
	const order = `local ks = {}
		for k in pairs(call) do ks[#ks + 1] = k end
		return table.concat(ks, " ")`
	walk := func(r ivr.Request) string {
		L.SetGlobal("call", r.Table(L))
		v, err := eval(L, order)
		if err != nil {
			t.Fatal(err)
		}
		return v.String()
	}
	first := walk(full)
	walk(bare)
	if again := walk(full); again != first {
		t.Errorf("pairs order changed after a call without optional fields: %q, then %q", first, again)
	}

	L.SetGlobal("call", full.Table(L))
	id, _ := eval(L, `return tostring(call)`)
	replaced := 0
	for i := 0; i < 3000; i++ {
		L.SetGlobal("call", full.Table(L))
		if _, err := eval(L, `call["k" .. tostring(math.random())] = true; for k in pairs(call) do if k:sub(1, 1) == "k" then call[k] = nil end end`); err != nil {
			t.Fatal(err)
		}
		if now, _ := eval(L, `return tostring(call)`); now.String() != id.String() {
			replaced++
			id = now
		}
	}
	if replaced < 2 {
		t.Errorf("a table collecting deleted keys was replaced %d times in 3000 calls, want it bounded", replaced)
	}
}

// CUSTOM_DATA a later layer brings back reaches the script as
// call.custom_data, a table of strings, whether it came as an object or as
// a string holding one.
func TestCallCustomDataFromEitherForm(t *testing.T) {
	for _, custom := range []string{`{"crm_id":42,"vip":true}`, `"{\"crm_id\":42,\"vip\":true}"`} {
		var r ivr.Request
		if err := ivr.Decode([]byte(`{"METHOD":"IVR_LAYER_INPUT","DATA":{"LAYER_ID":5,"CUSTOM_DATA":`+custom+`}}`), &r); err != nil {
			t.Fatal(err)
		}
		L := docsState(t)
		L.SetGlobal("call", r.Table(L))
		v, err := eval(L, `return type(call.custom_data.crm_id) .. " " .. call.custom_data.crm_id .. " " .. call.custom_data.vip`)
		if err != nil {
			t.Fatalf("%s: %v", custom, err)
		}
		if want := "string 42 true"; v.String() != want {
			t.Errorf("%s: call.custom_data reads %q, want %q", custom, v, want)
		}
	}
}
