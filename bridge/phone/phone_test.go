package phone_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ivrouter/ivrouter/bridge/phone"
	lua "github.com/yuin/gopher-lua"
)

// call runs phone.<fn>(arg) in a fresh state, arg being Lua source, and
// returns what it returned or the Lua error.
func call(t *testing.T, fn, arg string) ([]lua.LValue, error) {
	t.Helper()
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("phone", phone.New().Loader)
	if err := L.DoString(`local phone = require("phone") return phone.` + fn + `(` + arg + `)`); err != nil {
		return nil, err
	}
	out := make([]lua.LValue, L.GetTop())
	for i := range out {
		out[i] = L.Get(i + 1)
	}
	return out, nil
}

// quote makes a Lua string literal of s.
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

func TestConversions(t *testing.T) {
	for _, tc := range []struct {
		in, intl, local string
		kind            string
	}{
		{"0501234567", "972501234567", "0501234567", "mobile"},
		{"050-123-4567", "972501234567", "0501234567", "mobile"},
		{"050 123 4567", "972501234567", "0501234567", "mobile"},
		{"+972 50 123 4567", "972501234567", "0501234567", "mobile"},
		{"+972-50-1234567", "972501234567", "0501234567", "mobile"},
		{"972501234567", "972501234567", "0501234567", "mobile"},
		{"+972 (0)50 1234567", "972501234567", "0501234567", "mobile"},
		{"00972501234567", "972501234567", "0501234567", "mobile"},
		{"058\t7654321", "972587654321", "0587654321", "mobile"},
		{"03-1234567", "97231234567", "031234567", "landline"},
		{"(02) 123 4567", "97221234567", "021234567", "landline"},
		{"+97241234567", "97241234567", "041234567", "landline"},
		{"08 9876543", "97289876543", "089876543", "landline"},
		{"091234567", "97291234567", "091234567", "landline"},
		{"072-2776772", "972722776772", "0722776772", "voip"},
		{"+972 77 1234567", "972771234567", "0771234567", "voip"},
		{"1-800-123-456", "9721800123456", "1800123456", "tollfree"},
		{"1700 555 000", "9721700555000", "1700555000", "tollfree"},
		{"+972 1800 123456", "9721800123456", "1800123456", "tollfree"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			for _, c := range []struct{ fn, want string }{
				{"to_international", tc.intl},
				{"to_local", tc.local},
				{"kind", tc.kind},
			} {
				out, err := call(t, c.fn, quote(tc.in))
				if err != nil {
					t.Fatalf("phone.%s: %v", c.fn, err)
				}
				if len(out) != 1 || out[0] != lua.LString(c.want) {
					t.Errorf("phone.%s(%q) = %v, want %q", c.fn, tc.in, out, c.want)
				}
			}
			out, err := call(t, "is_valid", quote(tc.in))
			if err != nil || len(out) != 1 || out[0] != lua.LTrue {
				t.Errorf("phone.is_valid(%q) = %v, %v; want true", tc.in, out, err)
			}
		})
	}
}

func TestNotIsraeliNumbers(t *testing.T) {
	for _, tc := range []struct {
		in, why string // why: part of the message the script gets
	}{
		{"", "empty"},
		{"   ", "empty"},
		{"12345", "only 1800 and 1700"},
		{"1599123456", "only 1800 and 1700"},
		{"+1 212 555 1234", "country code is not 972"},
		{"0012125551234", "country code is not 972"},
		{"050123456", "mobile numbers (05X) have 7 digits after the prefix, this has 6"},
		{"05012345678", "this has 8"},
		{"+97250123456", "mobile numbers (05X) have 7 digits after the prefix, this has 6"},
		{"0312345678", "landline numbers (03) have 7 digits after the prefix, this has 8"},
		{"07212345", "voip numbers (07X)"},
		{"18001234567", "tollfree numbers (1800) have 6 digits after the prefix, this has 7"},
		{"0612345678", "no Israeli numbers start with 06"},
		{"0112345678", "no Israeli numbers start with 01"},
		{"01800123456", "no Israeli numbers start with 01"},
		{"+972 (0)1800 123456", "no Israeli numbers start with 01"},
		{"+972612345678", "no Israeli numbers start with 06"},
		{"050-123-456a", "characters other than digits"},
		{"050.123.4567", "characters other than digits"},
		{"050+1234567", "characters other than digits"},
		{"501234567", "lose its leading 0"},
		{"972", "no number after the country code"},
		{"+972", "no number after the country code"},
		{"abc", "want a local number"},
		{strings.Repeat("0", 41), "longer than 40"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			for _, fn := range []string{"to_international", "to_local"} {
				out, err := call(t, fn, quote(tc.in))
				if err != nil {
					t.Fatalf("phone.%s raised %v, want nil, err", fn, err)
				}
				if len(out) != 2 || out[0] != lua.LNil {
					t.Fatalf("phone.%s(%q) = %v, want nil, err", fn, tc.in, out)
				}
				if msg := out[1].String(); !strings.Contains(msg, "is not an Israeli phone number") || !strings.Contains(msg, tc.why) {
					t.Errorf("phone.%s(%q) error %q, want it to say %q", fn, tc.in, msg, tc.why)
				}
			}
			if out, err := call(t, "is_valid", quote(tc.in)); err != nil || len(out) != 1 || out[0] != lua.LFalse {
				t.Errorf("phone.is_valid(%q) = %v, %v; want false", tc.in, out, err)
			}
			if out, err := call(t, "kind", quote(tc.in)); err != nil || len(out) != 1 || out[0] != lua.LNil {
				t.Errorf("phone.kind(%q) = %v, %v; want nil", tc.in, out, err)
			}
		})
	}
}

// A number that is not a string is a script bug: 0501234567 as a Lua number
// is 501234567, so every function raises instead of guessing.
func TestArgumentMustBeAString(t *testing.T) {
	for _, fn := range []string{"to_international", "to_local", "is_valid", "kind"} {
		for _, tc := range []struct{ arg, typ string }{
			{"0501234567", "number"},
			{"", "nil"},
			{"nil", "nil"},
			{"{}", "table"},
			{"true", "boolean"},
		} {
			_, err := call(t, fn, tc.arg)
			want := "phone." + fn + ": number must be a string, got " + tc.typ
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("phone.%s(%s): error %v, want %q", fn, tc.arg, err, want)
			}
		}
	}
}

// Scripts use the results together: what one function returns the others
// accept and agree on.
func TestLuaRoundTrip(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("phone", phone.New().Loader)
	err := L.DoString(`
local phone = require("phone")
for _, n in ipairs({"050-1234567", "+972 3 123 4567", "0722776772", "1-700-123-456"}) do
  local intl = assert(phone.to_international(n))
  local loc = assert(phone.to_local(intl))
  assert(phone.to_international(loc) == intl, n .. ": " .. loc .. " does not go back to " .. intl)
  assert(phone.to_local(n) == loc, n)
  assert(phone.kind(intl) == phone.kind(loc) and phone.kind(n) == phone.kind(loc), n)
  assert(phone.is_valid(intl) and phone.is_valid(loc), n)
end`)
	if err != nil {
		t.Fatal(err)
	}
}

func TestGoFunctions(t *testing.T) {
	if got, err := phone.ToInternational("050-123 4567"); err != nil || got != "972501234567" {
		t.Errorf("ToInternational = %q, %v", got, err)
	}
	if got, err := phone.ToLocal("+972 2 1234567"); err != nil || got != "021234567" {
		t.Errorf("ToLocal = %q, %v", got, err)
	}
	if !phone.Valid("0771234567") || phone.Valid("077123456") {
		t.Error("Valid disagrees on 0771234567 / 077123456")
	}
	if k := phone.KindOf("1800123456"); k != phone.TollFree {
		t.Errorf("KindOf(1800123456) = %q", k)
	}
	if k := phone.KindOf("0601234567"); k != "" {
		t.Errorf("KindOf(0601234567) = %q, want empty", k)
	}
	_, err := phone.ToLocal("+44 20 7946 0000")
	if !errors.Is(err, phone.ErrInvalid) {
		t.Errorf("ToLocal(+44...) error %v does not wrap ErrInvalid", err)
	}
}

// FuzzNumbers checks what holds for any input: valid numbers have one local
// and one international form that map to each other, and everything else
// fails with ErrInvalid.
func FuzzNumbers(f *testing.F) {
	for _, s := range []string{"0501234567", "+972 (0)3-1234567", "00972722776772", "1800123456", "9721700123456", "501234567", "+", "972", "0", "1", "+9720", "٠٥٠١٢٣٤٥٦٧"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		intl, err1 := phone.ToInternational(s)
		loc, err2 := phone.ToLocal(s)
		valid, kind := phone.Valid(s), phone.KindOf(s)
		if !valid {
			if !errors.Is(err1, phone.ErrInvalid) || !errors.Is(err2, phone.ErrInvalid) || kind != "" {
				t.Fatalf("%q invalid but ToInternational: %v, ToLocal: %v, KindOf: %q", s, err1, err2, kind)
			}
			return
		}
		if err1 != nil || err2 != nil || kind == "" {
			t.Fatalf("%q valid but ToInternational: %v, ToLocal: %v, KindOf: %q", s, err1, err2, kind)
		}
		if !strings.HasPrefix(intl, "972") || strings.Trim(intl, "0123456789") != "" || strings.Trim(loc, "0123456789") != "" {
			t.Fatalf("%q: forms %q, %q are not digits", s, intl, loc)
		}
		for _, form := range []string{intl, loc, "+" + intl} {
			if i, _ := phone.ToInternational(form); i != intl {
				t.Fatalf("%q: ToInternational(%q) = %q, want %q", s, form, i, intl)
			}
			if l, _ := phone.ToLocal(form); l != loc {
				t.Fatalf("%q: ToLocal(%q) = %q, want %q", s, form, l, loc)
			}
			if k := phone.KindOf(form); k != kind {
				t.Fatalf("%q: KindOf(%q) = %q, want %q", s, form, k, kind)
			}
		}
		want := map[phone.Kind]int{phone.Mobile: 10, phone.VoIP: 10, phone.Landline: 9, phone.TollFree: 10}[kind]
		if len(loc) != want {
			t.Fatalf("%q: %s number %q has %d digits, want %d", s, kind, loc, len(loc), want)
		}
	})
}
