package ivr_test

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/luavm"
	lua "github.com/yuin/gopher-lua"
)

// These tests run the real builders against Signatures: what ivrouter check
// calls a mistake must be one at run time, and what it lets through must
// run, so the table and the builders cannot drift apart.

// sampleCalls call each function of the module with valid arguments and no
// options. A new builder fails TestSignaturesCoverEveryFunction until it has
// one here, and with it a decision whether it needs a Signature.
var sampleCalls = map[string]string{
	"go_to_layer": `ivr.go_to_layer(1%s)`,
	"say":         `ivr.say(ivr.digits("1")%s)`,
	"dial":        `ivr.dial(ivr.phone("0501234567")%s)`,
	"error":       `ivr.error("reason"%s)`,
	"recording":   `ivr.recording("a.mp3"%s)`,
	"digits":      `ivr.digits("1"%s)`,
	"number":      `ivr.number(1%s)`,
	"date":        `ivr.date("2019-12-14"%s)`,
	"datetime":    `ivr.datetime("2019-12-14T10:12:59"%s)`,
	"phone":       `ivr.phone("0501234567"%s)`,
	"extension":   `ivr.extension("sip1"%s)`,
}

// validValues are a value each option accepts, by function, option and
// Lua type: one for every type its Signature lists.
var validValues = map[string]map[string]map[string]string{
	"go_to_layer": {
		"caller_name": {"string": `"Dana"`, "number": `42`},
		"custom_data": {"table": `{crm_id = "42"}`},
	},
	"say": {
		"next_layer":           {"number": `2`, "string": `"2"`},
		"next_layer_if_failed": {"number": `1`, "string": `"1"`},
		"language":             {"string": `"HE"`},
		"custom_data":          {"table": `{crm_id = "42"}`},
	},
	"dial": {
		"caller_id":         {"string": `"0722776772"`},
		"caller_name":       {"string": `"Dana"`, "number": `42`},
		"max_call_duration": {"number": `1800`},
		"max_dial_duration": {"number": `30`},
		"next_vo_id":        {"number": `15`, "string": `"15"`},
		"recording":         {"boolean": `true`},
		"custom_data":       {"table": `{crm_id = "42"}`},
	},
}

// wrongValues are a value of each type, for the types an option refuses.
var wrongValues = map[string]string{
	"number":   `7`,
	"string":   `"x"`,
	"boolean":  `false`,
	"table":    `{}`,
	"function": `function() end`,
}

// call builds fn's sample call with an options table of fields.
func call(t *testing.T, fn string, fields ...string) string {
	t.Helper()
	sample, ok := sampleCalls[fn]
	if !ok {
		t.Fatalf("no sample call for ivr.%s", fn)
	}
	opts := ""
	if len(fields) > 0 {
		opts = ", {" + strings.Join(fields, ", ") + "}"
	}
	return "return " + fmt.Sprintf(sample, opts)
}

// required are the fields of fn's required options, with valid values.
func required(t *testing.T, fn string, sig luavm.Signature, except string) []string {
	t.Helper()
	var fields []string
	for _, o := range sig.Options {
		if o.Required && o.Name != except {
			fields = append(fields, o.Name+" = "+valid(t, fn, o, o.Types[0]))
		}
	}
	return fields
}

func valid(t *testing.T, fn string, o luavm.Option, typ string) string {
	t.Helper()
	v, ok := validValues[fn][o.Name][typ]
	if !ok {
		t.Fatalf("no valid %s value for ivr.%s option %s", typ, fn, o.Name)
	}
	return v
}

func TestSignaturesCoverEveryFunction(t *testing.T) {
	L := docsState(t)
	v, err := eval(L, `return ivr`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	v.(*lua.LTable).ForEach(func(k, _ lua.LValue) { names = append(names, k.String()) })
	sort.Strings(names)
	sigs := ivr.Signatures()
	for name := range sigs {
		if !slices.Contains(names, name) {
			t.Errorf("Signatures has %s, the module has no such function (has %v)", name, names)
		}
	}
	for _, name := range names {
		v, err := eval(L, call(t, name, required(t, name, sigs[name], "")...))
		if err != nil {
			t.Fatalf("ivr.%s: %v", name, err)
		}
		_, notAction := ivr.ActionOf(v)
		if isAction := notAction == nil; isAction != sigs[name].Action {
			t.Errorf("ivr.%s returns an action: %v, its Signature says Action: %v", name, isAction, sigs[name].Action)
		}
	}
}

func TestSignaturesOptionsAreAccepted(t *testing.T) {
	L := docsState(t)
	for fn, sig := range ivr.Signatures() {
		for _, o := range sig.Options {
			if len(o.Types) == 0 {
				t.Errorf("ivr.%s option %s has no Types: say which a literal may have", fn, o.Name)
			}
			for _, typ := range o.Types {
				src := call(t, fn, append(required(t, fn, sig, o.Name), o.Name+" = "+valid(t, fn, o, typ))...)
				if _, err := eval(L, src); err != nil {
					t.Errorf("%s\nrefused, though the Signature lists %s %s: %v", src, o.Name, typ, err)
				}
			}
		}
	}
}

func TestSignaturesWrongTypesAreRefused(t *testing.T) {
	L := docsState(t)
	for fn, sig := range ivr.Signatures() {
		for _, o := range sig.Options {
			for typ, v := range wrongValues {
				if slices.Contains(o.Types, typ) {
					continue
				}
				src := call(t, fn, append(required(t, fn, sig, o.Name), o.Name+" = "+v)...)
				if _, err := eval(L, src); err == nil || !strings.Contains(err.Error(), o.Name) {
					t.Errorf("%s\nwant an error naming %s (a %s is not in its Types), got %v", src, o.Name, typ, err)
				}
			}
		}
	}
}

// optionList reads the options an unknown-option error lists.
var optionList = regexp.MustCompile(`unknown option "zz_made_up" \(options: ([a-z_, ]+)\)`)

func TestSignaturesListEveryOptionTheBuilderKnows(t *testing.T) {
	L := docsState(t)
	for fn, sig := range ivr.Signatures() {
		if sig.OptionsArg == 0 {
			continue
		}
		src := call(t, fn, append(required(t, fn, sig, ""), "zz_made_up = 1")...)
		_, err := eval(L, src)
		if err == nil {
			t.Fatalf("%s\naccepted a made-up option", src)
		}
		m := optionList.FindStringSubmatch(err.Error())
		if m == nil {
			t.Fatalf("%s\nwant an unknown option error listing the options, got %v", src, err)
		}
		var names []string
		for _, o := range sig.Options {
			names = append(names, o.Name)
		}
		if got, want := strings.Split(m[1], ", "), names; !sameSet(got, want) {
			t.Errorf("ivr.%s: the builder knows options %v, its Signature lists %v", fn, got, want)
		}
	}
}

func TestSignaturesRequiredOptionsAreRequired(t *testing.T) {
	L := docsState(t)
	for fn, sig := range ivr.Signatures() {
		for _, o := range sig.Options {
			if !o.Required {
				continue
			}
			src := call(t, fn, required(t, fn, sig, o.Name)...)
			if _, err := eval(L, src); err == nil || !strings.Contains(err.Error(), o.Name+" is required") {
				t.Errorf("%s\nwant an error saying %s is required, got %v", src, o.Name, err)
			}
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// The literal checks refuse what the builders refuse, with their words: a
// phone number or digits written as a Lua number has lost its leading zero.
func TestSignaturesLiteralChecksMatchBuilders(t *testing.T) {
	sigs := ivr.Signatures()
	var callerID luavm.Option
	for _, o := range sigs["dial"].Options {
		if o.Name == "caller_id" {
			callerID = o
		}
	}
	for _, tc := range []struct {
		name  string
		check func(any) error
		src   string // the same value given to the builder, %s
	}{
		{"phone", sigs["phone"].Args[0].Check, `ivr.phone(%s)`},
		{"digits", sigs["digits"].Args[0].Check, `ivr.digits(%s)`},
		{"caller_id", callerID.Check, `ivr.dial(ivr.phone("0501234567"), {caller_id = %s})`},
	} {
		for _, v := range []any{"0501234567", "+972 50-123-4567", "abc", 501234567.0, true} {
			lit := fmt.Sprint(v)
			if s, ok := v.(string); ok {
				lit = fmt.Sprintf("%q", s)
			}
			_, runErr := eval(docsState(t), "return "+fmt.Sprintf(tc.src, lit))
			err := tc.check(v)
			if (err == nil) != (runErr == nil) || err != nil && !strings.Contains(runErr.Error(), err.Error()) {
				t.Errorf("%s %s: check says %v, the builder %v", tc.name, lit, err, runErr)
			}
		}
	}
	if err := sigs["phone"].Args[0].Check(501234567.0); err == nil || !strings.Contains(err.Error(), "loses its leading zero") {
		t.Errorf("ivr.phone(501234567): check says %v", err)
	}
}
