package ivr_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"testing/quick"
	"unicode/utf8"

	"github.com/ivrouter/ivrouter/bridge/ivr"
)

// docsCustom is the CUSTOM_DATA of the documentation's examples, in its order.
var docsCustom = []ivr.Field{
	{Key: "CRM_cleint_ID", Value: "12345"},
	{Key: "Last_ticket_ID", Value: "222"},
	{Key: "Last_representative", Value: "John Doe"},
}

// docsSay is the DATA of the documentation's SAY example.
var docsSay = []ivr.Item{
	{Type: "Recording", Content: "9899115_20849570029.mp3"},
	{Type: "Digits", Content: "0501234567"},
	{Type: "Number", Content: "112"},
	{Type: "Date", Content: "2019-12-14"},
	{Type: "DateTime", Content: "2019-12-14T10:12:59"},
	{Type: "Recording", Content: "98972915_209570029.mp3"},
}

// compactDoc returns a documentation example as compact JSON: the exact bytes
// AppendJSON must write, keys in the documentation's order.
func compactDoc(t testing.TB, name string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, readDoc(t, name)); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b.String()
}

// parse decodes JSON into generic values, dropping object members that are
// null: Voicenter reads an absent field and a null one alike.
func parse(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return dropNulls(v)
}

func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if x == nil {
				delete(v, k)
			} else {
				v[k] = dropNulls(x)
			}
		}
	case []any:
		for i := range v {
			v[i] = dropNulls(v[i])
		}
	}
	return v
}

// keys returns the member names of the top-level object of b, in order,
// with the member names of nested objects as "PARENT.NAME".
func keys(t testing.TB, b []byte) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	var out []string
	var walk func(prefix string)
	walk = func(prefix string) {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("%v in %s", err, b)
		}
		switch tok {
		case json.Delim('{'):
			for d.More() {
				k, err := d.Token()
				if err != nil {
					t.Fatalf("%v in %s", err, b)
				}
				name := prefix + k.(string)
				out = append(out, name)
				walk(name + ".")
			}
			d.Token() // }
		case json.Delim('['):
			for d.More() {
				walk(prefix)
			}
			d.Token() // ]
		}
	}
	walk("")
	return out
}

// topKeys is keys without the nested ones.
func topKeys(t testing.TB, b []byte) []string {
	var out []string
	for _, k := range keys(t, b) {
		if !strings.Contains(k, ".") {
			out = append(out, k)
		}
	}
	return out
}

func TestAppendJSONMatchesDocs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		action ivr.Action
		doc    string
		want   string // compact, keys in the docs' order
	}{
		{"go to layer", ivr.GoTo(12), "goto-response.json",
			`{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12}`},
		{"go to layer with caller name and custom data",
			ivr.Action{Kind: ivr.GoToLayer, Layer: 22, CallerName: "Shlomi", CustomData: docsCustom, HasCustomData: true},
			"goto-custom-response.json",
			`{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":22,"CALLER_NAME":"Shlomi","CUSTOM_DATA":{"CRM_cleint_ID":"12345","Last_ticket_ID":"222","Last_representative":"John Doe"}}`},
		{"say", ivr.Action{Kind: ivr.SayDigits, Layer: 2, FailLayer: 1, HasFailLayer: true, Language: "EN", Items: docsSay},
			"say-response.json",
			`{"STATUS":0,"ACTION":"SAY_DIGITS","NEXT_LAYER":2,"NEXT_LAYER_IF_FAILED":1,"LANGUAGE":"EN","DATA":[` +
				`{"RecordType":"Recording","Content":"9899115_20849570029.mp3"},` +
				`{"RecordType":"Digits","Content":"0501234567"},` +
				`{"RecordType":"Number","Content":"112"},` +
				`{"RecordType":"Date","Content":"2019-12-14"},` +
				`{"RecordType":"DateTime","Content":"2019-12-14T10:12:59"},` +
				`{"RecordType":"Recording","Content":"98972915_209570029.mp3"}]}`},
		{"dial", ivr.Action{Kind: ivr.Dial, CallerID: "0722776772", CallerName: "Voicenter", MaxCall: 1800, MaxDial: 60,
			Layer: 15, Recording: true, Targets: []ivr.Target{{Type: "PHONE", Target: "0501234567"}},
			CustomData: docsCustom, HasCustomData: true},
			"dial-response.json",
			`{"STATUS":0,"ACTION":"DIAL","CALLER_ID":"0722776772","CALLER_NAME":"Voicenter","MAX_CALL_DURATION":1800,` +
				`"MAX_DIAL_DURATION":60,"NEXT_VO_ID":15,"RECORDING":"yes","TARGETS":[{"TYPE":"PHONE","TARGET":"0501234567"}],` +
				`"CUSTOM_DATA":{"CRM_cleint_ID":"12345","Last_ticket_ID":"222","Last_representative":"John Doe"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The literal and the docs' file must agree, so the test checks
			// what the documentation says.
			if doc := compactDoc(t, tc.doc); doc != tc.want {
				t.Fatalf("test's literal differs from %s:\n%s\n%s", tc.doc, tc.want, doc)
			}
			got := tc.action.AppendJSON(nil)
			if !reflect.DeepEqual(parse(t, got), parse(t, readDoc(t, tc.doc))) {
				t.Errorf("parsed output differs from %s:\ngot  %s\nwant %s", tc.doc, got, tc.want)
			}
			if gk, wk := keys(t, got), keys(t, readDoc(t, tc.doc)); !reflect.DeepEqual(gk, wk) {
				t.Errorf("key order\ngot  %q\nwant %q", gk, wk)
			}
			if string(got) != tc.want {
				t.Errorf("raw output\ngot  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// The case example's response sends CALLER_NAME and CUSTOM_DATA as null;
// ivrouter leaves them out, which parses the same.
func TestGoToMatchesCaseExample(t *testing.T) {
	a := ivr.GoTo(12)
	got := a.AppendJSON(nil)
	want := parse(t, readDoc(t, "case-response.json"))
	if !reflect.DeepEqual(parse(t, got), want) {
		t.Errorf("got %s, want %v", got, want)
	}
	if k := topKeys(t, got); !reflect.DeepEqual(k, []string{"STATUS", "ACTION", "LAYER"}) {
		t.Errorf("keys %q", k)
	}
	if bytes.Contains(got, []byte("null")) {
		t.Errorf("absent fields sent as null: %s", got)
	}
}

func TestAppendJSON(t *testing.T) {
	for _, tc := range []struct {
		name   string
		action ivr.Action
		want   string
	}{
		{"failure", ivr.Failure("script broke"), `{"STATUS":1}`},
		{"zero action is a failure", ivr.Action{}, `{"STATUS":1}`},
		{"unknown kind is a failure", ivr.Action{Kind: 99, Layer: 3}, `{"STATUS":1}`},
		{"fallback with a layer", ivr.Fallback(15, true, "why"), `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":15}`},
		{"fallback without a layer", ivr.Fallback(15, false, "why"), `{"STATUS":1}`},
		{"go to layer 0", ivr.GoTo(0), `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":0}`},
		{"go to the largest layer", ivr.GoTo(ivr.MaxLayer), `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":2147483647}`},
		{"go to layer with caller name only",
			ivr.Action{Kind: ivr.GoToLayer, Layer: 3, CallerName: `Dana "D"`},
			`{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":3,"CALLER_NAME":"Dana \"D\""}`},
		{"go to layer with empty custom data",
			ivr.Action{Kind: ivr.GoToLayer, Layer: 3, HasCustomData: true},
			`{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":3,"CUSTOM_DATA":{}}`},
		{"go to layer ignores custom data it is not told to send",
			ivr.Action{Kind: ivr.GoToLayer, Layer: 3, CustomData: docsCustom},
			`{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":3}`},
		{"say without a fail layer nor items",
			ivr.Action{Kind: ivr.SayDigits, Layer: 2, Language: "HE"},
			`{"STATUS":0,"ACTION":"SAY_DIGITS","NEXT_LAYER":2,"LANGUAGE":"HE","DATA":[]}`},
		{"say with fail layer 0",
			ivr.Action{Kind: ivr.SayDigits, Layer: 2, HasFailLayer: true, Language: "RU", Items: []ivr.Item{{Type: "Number", Content: "7"}}},
			`{"STATUS":0,"ACTION":"SAY_DIGITS","NEXT_LAYER":2,"NEXT_LAYER_IF_FAILED":0,"LANGUAGE":"RU","DATA":[{"RecordType":"Number","Content":"7"}]}`},
		{"dial, defaults: no caller name, no recording, empty custom data",
			ivr.Action{Kind: ivr.Dial, CallerID: "0722776772", MaxCall: 3600, MaxDial: 60, Layer: 15,
				Targets: []ivr.Target{{Type: "PHONE", Target: "0501234567"}, {Type: "EXTENSION", Target: "sip123"}}},
			`{"STATUS":0,"ACTION":"DIAL","CALLER_ID":"0722776772","MAX_CALL_DURATION":3600,"MAX_DIAL_DURATION":60,` +
				`"NEXT_VO_ID":15,"RECORDING":"no","TARGETS":[{"TYPE":"PHONE","TARGET":"0501234567"},{"TYPE":"EXTENSION","TARGET":"sip123"}],"CUSTOM_DATA":{}}`},
		{"custom data values are JSON strings",
			ivr.Action{Kind: ivr.GoToLayer, Layer: 1, HasCustomData: true, CustomData: []ivr.Field{
				{Key: "s", Value: "x"},
				{Key: "n", Value: "12"},
				{Key: "empty", Value: ""},
				{Key: "weird \"key\"\n", Value: "v\\"},
			}},
			`{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":1,"CUSTOM_DATA":{"s":"x","n":"12","empty":"","weird \"key\"\n":"v\\"}}`},
		{"say with custom data, after DATA",
			ivr.Action{Kind: ivr.SayDigits, Layer: 2, Language: "HE", Items: []ivr.Item{{Type: "Number", Content: "7"}},
				CustomData: docsCustom, HasCustomData: true},
			`{"STATUS":0,"ACTION":"SAY_DIGITS","NEXT_LAYER":2,"LANGUAGE":"HE","DATA":[{"RecordType":"Number","Content":"7"}],` +
				`"CUSTOM_DATA":{"CRM_cleint_ID":"12345","Last_ticket_ID":"222","Last_representative":"John Doe"}}`},
		{"say ignores custom data it is not told to send",
			ivr.Action{Kind: ivr.SayDigits, Layer: 2, Language: "HE", CustomData: docsCustom},
			`{"STATUS":0,"ACTION":"SAY_DIGITS","NEXT_LAYER":2,"LANGUAGE":"HE","DATA":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.action.AppendJSON(nil)
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if !json.Valid(got) {
				t.Errorf("output is not JSON: %s", got)
			}
		})
	}
}

func TestAppendJSONAppends(t *testing.T) {
	dst := []byte("prefix:")
	a := ivr.GoTo(7)
	got := a.AppendJSON(dst)
	if want := `prefix:{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":7}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// Reusing a buffer, as the server does, must not leave old bytes behind.
	long := ivr.Action{Kind: ivr.Dial, CallerID: "1", Targets: []ivr.Target{{Type: "PHONE", Target: "12"}}}
	buf := long.AppendJSON(make([]byte, 0, 8))
	buf = a.AppendJSON(buf[:0])
	if want := `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":7}`; string(buf) != want {
		t.Errorf("reused buffer: got %s, want %s", buf, want)
	}
}

func TestFailureKeepsReasonOffTheWire(t *testing.T) {
	a := ivr.Failure("CRM said \"no\"")
	if a.Kind != ivr.Fail || a.Reason != `CRM said "no"` {
		t.Errorf("Failure = %+v", a)
	}
	if got := a.AppendJSON(nil); bytes.Contains(got, []byte("CRM")) {
		t.Errorf("reason sent to Voicenter: %s", got)
	}
	if f := ivr.Fallback(3, false, "r"); f.Kind != ivr.Fail || f.Reason != "r" {
		t.Errorf("Fallback(3, false) = %+v", f)
	}
	if f := ivr.Fallback(3, true, "r"); f.Kind != ivr.GoToLayer || f.Layer != 3 {
		t.Errorf("Fallback(3, true) = %+v", f)
	}
}

func TestKindAndSummary(t *testing.T) {
	for _, tc := range []struct {
		action  ivr.Action
		kind    string
		summary string
	}{
		{ivr.GoTo(12), "GO_TO_LAYER", "GO_TO_LAYER 12"},
		{ivr.Action{Kind: ivr.SayDigits, Layer: 2}, "SAY_DIGITS", "SAY_DIGITS then 2"},
		{ivr.Action{Kind: ivr.Dial, Targets: []ivr.Target{{Type: "PHONE", Target: "050"}, {Type: "EXTENSION", Target: "sip1"}}},
			"DIAL", "DIAL PHONE:050 EXTENSION:sip1"},
		{ivr.Failure("x"), "STATUS_1", "STATUS 1"},
		{ivr.Action{}, "UNKNOWN", "?"},
	} {
		if got := tc.action.Kind.String(); got != tc.kind {
			t.Errorf("Kind(%d).String() = %q, want %q", tc.action.Kind, got, tc.kind)
		}
		if got := tc.action.Summary(); got != tc.summary {
			t.Errorf("Summary() = %q, want %q", got, tc.summary)
		}
	}
}

func TestAppendString(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"", `""`},
		{"plain", `"plain"`},
		{`say "hi"`, `"say \"hi\""`},
		{`C:\dir\`, `"C:\\dir\\"`},
		{"a\nb\rc\td", `"a\nb\rc\td"`},
		{"\x00\x01\x08\x0b\x0c\x1b\x1f", `"\u0000\u0001\u0008\u000b\u000c\u001b\u001f"`},
		{" ~\x7f", "\" ~\x7f\""},
		{"</script>&<>", `"</script>&<>"`},
		{"שלום héllo 日本 🎉", `"שלום héllo 日本 🎉"`},
		{"\u2028\u2029", "\"\u2028\u2029\""},
		{"\ufffd", "\"\ufffd\""}, // a real U+FFFD stays as it is
		{"\xff", `"\ufffd"`},
		{"a\xffb\xfe", `"a\ufffdb\ufffd"`},
		{"truncated \xc3", `"truncated \ufffd"`},
		{"\xc3\x28", `"\ufffd("`},
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},           // UTF-8 encoded surrogate
		{"\xc0\xaf", `"\ufffd\ufffd"`},                     // overlong '/'
		{"\xf4\x90\x80\x80", `"\ufffd\ufffd\ufffd\ufffd"`}, // above U+10FFFF
		{"ok\"\xff\\\n", `"ok\"\ufffd\\\n"`},
	} {
		got := ivr.AppendString(nil, tc.in)
		if string(got) != tc.want {
			t.Errorf("AppendString(%q) = %s, want %s", tc.in, got, tc.want)
		}
		if !json.Valid(got) {
			t.Errorf("AppendString(%q) = %s is not JSON", tc.in, got)
		}
	}
	if got := ivr.AppendString([]byte(`{"k":`), "v"); string(got) != `{"k":"v"` {
		t.Errorf("AppendString did not append: %s", got)
	}
}

// checkAppendString asserts that AppendString(s) parses, and to what
// encoding/json makes of s: s itself when valid UTF-8, else s with each
// invalid byte replaced by U+FFFD.
func checkAppendString(t *testing.T, s string) bool {
	t.Helper()
	prefix := []byte("x")
	out := ivr.AppendString(prefix, s)
	if out[0] != 'x' {
		t.Errorf("prefix lost: %q", out)
		return false
	}
	out = out[1:]
	if !utf8.Valid(out) {
		t.Errorf("AppendString(%q) = %q is not valid UTF-8", s, out)
		return false
	}
	var got string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Errorf("AppendString(%q) = %s: %v", s, out, err)
		return false
	}
	std, _ := json.Marshal(s)
	var want string
	if err := json.Unmarshal(std, &want); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("AppendString(%q) parses to %q, want %q", s, got, want)
		return false
	}
	if utf8.ValidString(s) && got != s {
		t.Errorf("AppendString(%q) parses to %q", s, got)
		return false
	}
	return true
}

func TestAppendStringParsesForRandomStrings(t *testing.T) {
	// Random runes.
	if err := quick.Check(func(s string) bool { return checkAppendString(t, s) }, &quick.Config{MaxCount: 2000}); err != nil {
		t.Error(err)
	}
	// Random bytes, biased to the ones that need care.
	special := []byte{0, 0x1f, 0x20, '"', '\\', '/', '\n', '\t', 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf8, 0xff}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.IntN(24))
		for j := range b {
			if rng.IntN(2) == 0 {
				b[j] = special[rng.IntN(len(special))]
			} else {
				b[j] = byte(rng.UintN(256))
			}
		}
		if !checkAppendString(t, string(b)) {
			return
		}
	}
}

// Whatever a script puts in an action, the answer parses.
func TestAppendJSONIsAlwaysJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	str := func() string {
		b := make([]byte, rng.IntN(12))
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		return string(b)
	}
	for i := 0; i < 5000; i++ {
		a := ivr.Action{
			Kind:          ivr.Kind(rng.IntN(6)),
			Layer:         rng.IntN(ivr.MaxLayer),
			FailLayer:     rng.IntN(100),
			HasFailLayer:  rng.IntN(2) == 0,
			Language:      str(),
			CallerID:      str(),
			CallerName:    str(),
			MaxCall:       rng.IntN(86400),
			MaxDial:       rng.IntN(86400),
			Recording:     rng.IntN(2) == 0,
			HasCustomData: rng.IntN(2) == 0,
		}
		for n := rng.IntN(4); n > 0; n-- {
			a.Items = append(a.Items, ivr.Item{Type: str(), Content: str()})
			a.Targets = append(a.Targets, ivr.Target{Type: str(), Target: str()})
			a.CustomData = append(a.CustomData, ivr.Field{Key: str(), Value: str()})
		}
		out := a.AppendJSON(nil)
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("%+v\nwrites %s: %v", a, out, err)
		}
		if a.Kind >= ivr.GoToLayer && a.Kind <= ivr.Dial {
			if m["STATUS"] != 0.0 || m["ACTION"] != a.Kind.String() {
				t.Fatalf("%+v\nwrites %s", a, out)
			}
		} else if len(m) != 1 || m["STATUS"] != 1.0 {
			t.Fatalf("%+v\nwrites %s", a, out)
		}
	}
}
