package time_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	btime "github.com/ivrouter/ivrouter/bridge/time"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/lint"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
)

// checkOf returns the literal check of time.name's first argument, or of
// its option opt.
func checkOf(t *testing.T, sigs map[string]luavm.Signature, name, opt string) func(any) error {
	t.Helper()
	sig := sigs[name]
	if opt == "" {
		if len(sig.Args) == 0 || sig.Args[0].Check == nil {
			t.Fatalf("time.%s has no check of its argument", name)
		}
		return sig.Args[0].Check
	}
	for _, o := range sig.Options {
		if o.Name == opt && o.Check != nil {
			return o.Check
		}
	}
	t.Fatalf("time.%s has no check of %s", name, opt)
	return nil
}

func wantCheck(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: %v, want it accepted", what, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("%s: error %v, want %q", what, err, want)
	}
}

// The literal checks refuse what the calls would refuse, with the same
// message, and accept good values. Calendar names are those of the
// directory the last Load read, broken files included (their error is the
// load's), and the built-in ones.
func TestSignatureChecks(t *testing.T) {
	m := btime.New(btime.Options{})
	sigs := m.Signatures()
	now, cal := checkOf(t, sigs, "now", ""), checkOf(t, sigs, "calendar", "")
	for v, want := range map[any]string{
		"Asia/Jerusalem": "",
		"UTC":            "",
		"Asia/Jerusalm":  `unknown zone "Asia/Jerusalm"`,
		"":               `unknown zone ""`,
		2.0:              `zone must be a string such as "Asia/Jerusalem", got number`,
	} {
		wantCheck(t, "time.now("+luaLiteral(v)+")", now(v), want)
	}
	for opt, cases := range map[string]map[any]string{
		"mon":    {"08:00-18:00": "", "08:00-12:00, 13:00-18:00": "", "22:00-02:00": "", "8-18": `mon: bad range "8-18", want HH:MM-HH:MM`, "08:00-08:00": `mon: bad range "08:00-08:00": it is empty`},
		"sat":    {"00:00-24:00": "", "25:00-26:00": `sat: bad range "25:00-26:00"`},
		"eve":    {"08:00-13:00": "", "8-13": `eve: bad range "8-13", want HH:MM-HH:MM`},
		"zone":   {"America/New_York": "", "Asia/Jerusalm": `zone: unknown zone "Asia/Jerusalm"`, true: "zone: want a zone name"},
		"closed": {"israel": "", "holidays": `closed: unknown calendar "holidays" (known: israel)`},
	} {
		check := checkOf(t, sigs, "hours", opt)
		for v, want := range cases {
			wantCheck(t, "time.hours{"+opt+" = "+luaLiteral(v)+"}", check(v), want)
		}
	}
	wantCheck(t, `time.calendar("israel") before a load`, cal("israel"), "")
	wantCheck(t, `time.calendar("holidays") before a load`, cal("holidays"), `unknown calendar "holidays" (known: israel)`)
	wantCheck(t, "time.calendar(1)", cal(1.0), "name must be a string, got number")

	withHolidays := luavmtest.Dir(t, "", map[string]string{"calendars/holidays.ics": holidaysICS})
	if _, err := m.Load(withHolidays); err != nil {
		t.Fatal(err)
	}
	hoursClosed := checkOf(t, sigs, "hours", "closed")
	for v, want := range map[string]string{
		"holidays": "",
		"israel":   "",
		"holidayz": `unknown calendar "holidayz" (known: holidays, israel)`,
	} {
		wantCheck(t, "time.calendar("+luaLiteral(v)+")", cal(v), want)
		if want != "" {
			want = "closed: " + want
		}
		wantCheck(t, "time.hours{closed = "+luaLiteral(v)+"}", hoursClosed(v), want)
	}

	broken := luavmtest.Dir(t, "", map[string]string{"calendars/closures.ics": "BEGIN:VCALENDAR\n"})
	if _, err := m.Load(broken); err == nil {
		t.Fatal("a broken calendar loaded")
	}
	wantCheck(t, `time.calendar("closures"), broken`, cal("closures"), "")
	wantCheck(t, `time.calendar("holidays") after another load`, cal("holidays"), `unknown calendar "holidays" (known: closures, israel)`)
}

// luaLiteral writes v as a script would, for messages.
func luaLiteral(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// ivrouter check finds the same mistakes in scripts, on their lines.
func TestLintChecks(t *testing.T) {
	m := btime.New(btime.Options{})
	dir := luavmtest.Dir(t, "", map[string]string{
		"calendars/holidays.ics": holidaysICS,
		"bad.lua": `local time = require("time")
local h = time.hours{ mon = "8-18", zone = "Asia/Jerusalem", closed = {"israel", "holidayz"}, eve = "08:00-13:00" }
local c = time.calendar("holidayz")
return function(call)
  local now = time.now("Asia/Jerusalm")
  return nil
end
`,
		"good.lua": `local time = require("time")
local h = time.hours{ mon = "08:00-18:00", zone = "Asia/Jerusalem", closed = {"israel", "holidays"}, eve = "08:00-13:00" }
local c = time.calendar("holidays")
return function(call)
  local now = time.now("Asia/Jerusalem")
  return nil
end
`,
	})
	diags, err := lint.Dir(dir, []luavm.Module{{Name: "time", Load: m.Load, Signatures: m.Signatures()}})
	if err != nil {
		t.Fatal(err)
	}
	var bad, other []string
	for _, d := range diags {
		if d.Severity != lint.Error || !strings.HasPrefix(d.Msg, "time.") {
			continue // handlers here return nil: no ivr module
		}
		if strings.HasSuffix(d.Path, "bad.lua") {
			bad = append(bad, strings.TrimPrefix(d.String(), d.Path))
		} else {
			other = append(other, d.String())
		}
	}
	want := []string{
		`:2: time.hours: mon: bad range "8-18", want HH:MM-HH:MM`,
		`:2: time.hours: closed: unknown calendar "holidayz" (known: holidays, israel)`,
		`:3: time.calendar: unknown calendar "holidayz" (known: holidays, israel)`,
		`:5: time.now: unknown zone "Asia/Jerusalm"`,
	}
	for _, w := range want {
		found := false
		for _, b := range bad {
			found = found || b == w
		}
		if !found {
			t.Errorf("no diagnostic %s in:\n%s", w, strings.Join(bad, "\n"))
		}
	}
	if len(bad) != len(want) {
		t.Errorf("%d errors in bad.lua, want %d:\n%s", len(bad), len(want), strings.Join(bad, "\n"))
	}
	if len(other) != 0 {
		t.Errorf("errors in good scripts:\n%s", strings.Join(other, "\n"))
	}
}
