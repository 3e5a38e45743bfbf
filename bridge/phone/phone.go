// Package phone is the "phone" Lua module: Israeli phone numbers as CRMs
// store them ("050-123 4567", "+972 (0)50 1234567", "972501234567") turned
// into the one form a lookup or a comparison needs.
//
// Numbers are checked by prefix and length only: a number of a valid shape
// on an unallocated prefix is valid here, because allocations change and a
// router that drops a caller's real number is worse than one that keeps a
// fake one.
package phone

import (
	"errors"
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Kind is the kind of service a number's prefix belongs to.
type Kind string

// The kinds of Israeli numbers the module recognises.
const (
	// Mobile is 05X and 7 digits.
	Mobile Kind = "mobile"
	// Landline is an area code (02, 03, 04, 08, 09) and 7 digits.
	Landline Kind = "landline"
	// VoIP is 07X and 7 digits.
	VoIP Kind = "voip"
	// TollFree is 1-800 or 1-700 and 6 digits, dialled without a trunk 0:
	// free to the caller (1-800) or at a local call's price (1-700).
	TollFree Kind = "tollfree"
)

// ErrInvalid is wrapped by every error saying a string is not an Israeli
// phone number, so Go callers can tell it from other failures.
var ErrInvalid = errors.New("not an Israeli phone number")

// maxInput bounds what is parsed: no phone number with separators is longer,
// and error messages should not echo a whole CRM record.
const maxInput = 40

// number is a parsed number: its national significant number (no trunk 0,
// no country code) and its kind.
type number struct {
	nsn  string
	kind Kind
}

// ToInternational returns n as Voicenter and E.164 write it without the
// plus: "972501234567" for "050-1234567".
func ToInternational(n string) (string, error) {
	p, err := parse(n)
	if err != nil {
		return "", err
	}
	return "972" + p.nsn, nil
}

// ToLocal returns n as dialled inside Israel: "0501234567" for
// "+972 50 123 4567", "1800123456" for a 1-800 number (no trunk 0).
func ToLocal(n string) (string, error) {
	p, err := parse(n)
	if err != nil {
		return "", err
	}
	return p.local(), nil
}

// Valid reports whether n is an Israeli phone number in any form ToLocal
// accepts.
func Valid(n string) bool {
	_, err := parse(n)
	return err == nil
}

// KindOf returns the kind of n, or "" if n is not an Israeli phone number.
func KindOf(n string) Kind {
	p, err := parse(n)
	if err != nil {
		return ""
	}
	return p.kind
}

func (p number) local() string {
	if p.kind == TollFree {
		return p.nsn
	}
	return "0" + p.nsn
}

// parse reads a number in local ("0501234567", "1800123456") or
// international ("+972...", "972...", "00972...") form, separators
// dropped.
func parse(orig string) (number, error) {
	if len(orig) > maxInput {
		return number{}, invalid(orig, fmt.Sprintf("longer than %d characters", maxInput))
	}
	s := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '-', '(', ')':
			return -1
		}
		return r
	}, orig)
	if s == "" {
		return number{}, invalid(orig, "empty")
	}
	var nsn string
	international, trunk := true, false
	switch {
	case strings.HasPrefix(s, "+972"):
		nsn = s[4:]
	case strings.HasPrefix(s, "00972"):
		nsn = s[5:]
	case strings.HasPrefix(s, "972"):
		// No local number starts with 9 (09 starts with its trunk 0),
		// so a bare 972 can only be the country code.
		nsn = s[3:]
	case strings.HasPrefix(s, "+"), strings.HasPrefix(s, "00"):
		return number{}, invalid(orig, "the country code is not 972")
	case strings.HasPrefix(s, "0"):
		nsn, international, trunk = s[1:], false, true
	case strings.HasPrefix(s, "1"):
		nsn, international = s, false
	default:
		reason := "want a local number (0..., 1800..., 1700...) or an international one (+972...)"
		if allDigits(s) && (len(s) == 8 || len(s) == 9) {
			reason += "; did it lose its leading 0 as a number?"
		}
		return number{}, invalid(orig, reason)
	}
	if international && strings.HasPrefix(nsn, "0") {
		// "+972 (0)50 ...": the trunk 0 some people keep after the
		// country code; no national number starts with 0.
		nsn, trunk = nsn[1:], true
	}
	if !allDigits(nsn) {
		return number{}, invalid(orig, "has characters other than digits, spaces, dashes and brackets")
	}
	if nsn == "" {
		return number{}, invalid(orig, "no number after the country code")
	}
	sh := classify(nsn)
	if trunk && sh.kind == TollFree {
		sh = shape{label: "01"} // 1-800 and 1-700 are dialled without it
	}
	if sh.kind == "" && nsn[0] == '1' && !trunk {
		// 1-599, 1-900, 144 and the like are services, not numbers to
		// route a caller by.
		return number{}, invalid(orig, "of the numbers without a trunk 0 only 1800 and 1700 ones are accepted")
	}
	if sh.kind == "" {
		return number{}, invalid(orig, "no Israeli numbers start with "+sh.label)
	}
	if got := len(nsn) - sh.prefix; got != sh.rest {
		return number{}, invalid(orig, fmt.Sprintf("%s numbers (%s) have %d digits after the prefix, this has %d", sh.kind, sh.label, sh.rest, max(got, 0)))
	}
	return number{nsn: nsn, kind: sh.kind}, nil
}

// shape is what a prefix says of a number: its kind, how many digits of
// the national number the prefix takes and how many must follow, and the
// prefix as people dial it, for messages.
type shape struct {
	kind         Kind
	prefix, rest int
	label        string
}

// classify reads the prefix of a non-empty national significant number.
func classify(nsn string) shape {
	switch nsn[0] {
	case '5':
		return shape{Mobile, 2, 7, "05X"}
	case '7':
		return shape{VoIP, 2, 7, "07X"}
	case '2', '3', '4', '8', '9':
		return shape{Landline, 1, 7, "0" + nsn[:1]}
	case '1':
		if strings.HasPrefix(nsn, "1800") || strings.HasPrefix(nsn, "1700") {
			return shape{TollFree, 4, 6, nsn[:4]}
		}
	}
	return shape{label: "0" + nsn[:1]}
}

func invalid(n, reason string) error {
	return fmt.Errorf("%q is %w: %s", clip(n, maxInput), ErrInvalid, reason)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Module is the "phone" Lua module: Israeli phone numbers in the forms
// CRMs, Voicenter and people write them.
//
//	local phone = require("phone")
//	return function(call)
//	  local number, err = phone.to_international(call.caller_id)
//	  if not number then                      -- withheld, foreign, garbage
//	    return ivr.go_to_layer(20)
//	  end
//	  if phone.kind(number) ~= "mobile" then  -- no SMS link to send
//	    return ivr.go_to_layer(21)
//	  end
//	  ...
//	end
//
// phone.to_international(n) returns "972501234567", phone.to_local(n)
// returns "0501234567"; both return nil, err when n is not an Israeli
// number. phone.is_valid(n) returns a boolean and phone.kind(n) returns
// "mobile", "landline", "voip", "tollfree" or nil. n must be a string:
// a Lua number has already lost the leading 0.
type Module struct{}

// New returns the module. It has no dependencies; it is a type so the
// server registers every bridge module the same way.
func New() *Module { return &Module{} }

// Loader builds the module table in L; it has the lua.LGFunction shape so it
// can be preloaded or required.
func (m *Module) Loader(L *lua.LState) int {
	t := L.CreateTable(0, 4)
	t.RawSetString("to_international", L.NewFunction(convert("phone.to_international", ToInternational)))
	t.RawSetString("to_local", L.NewFunction(convert("phone.to_local", ToLocal)))
	t.RawSetString("is_valid", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LBool(Valid(checkNumber(L, "phone.is_valid"))))
		return 1
	}))
	t.RawSetString("kind", L.NewFunction(func(L *lua.LState) int {
		if k := KindOf(checkNumber(L, "phone.kind")); k != "" {
			L.Push(lua.LString(k))
		} else {
			L.Push(lua.LNil)
		}
		return 1
	}))
	L.Push(t)
	return 1
}

// convert makes a Lua function of a conversion: a number that is not
// Israeli is data the script must handle (nil, err), not a script bug.
func convert(fn string, f func(string) (string, error)) lua.LGFunction {
	return func(L *lua.LState) int {
		out, err := f(checkNumber(L, fn))
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		L.Push(lua.LString(out))
		return 1
	}
}

// checkNumber insists on a string: 0501234567 written as a Lua number is
// 501234567, and guessing the lost 0 back would hide the script's bug.
func checkNumber(L *lua.LState, fn string) string {
	s, ok := L.Get(1).(lua.LString)
	if !ok {
		L.RaiseError("%s: number must be a string, got %s", fn, L.Get(1).Type())
	}
	return string(s)
}
