package time_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	btime "github.com/ivrouter/ivrouter/bridge/time"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
	lua "github.com/yuin/gopher-lua"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// utc parses an RFC 3339 instant.
func utc(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// engine loads files (scripts and calendars) with the time module, its
// zone Asia/Jerusalem, every call's instant read from clock. The load
// reads clock too, for the years its calendars are expanded over.
func engine(t testing.TB, clock func() time.Time, files map[string]string) *luavm.Engine {
	t.Helper()
	m := btime.New(btime.Options{Zone: zone(t, "Asia/Jerusalem"), Clock: clock})
	return luavmtest.Engine(t, files, luavm.Options{
		// A minute: a query that expands a costly year runs until the step
		// budget is spent (export_test.go lifts the time bound), which on
		// a loaded machine under -race may take seconds.
		Deadline: time.Minute,
		VMs:      1,
		Modules:  []luavm.Module{{Name: "time", Load: m.Load, Signatures: m.Signatures()}},
		Clock:    clock,
	})
}

func frozen(at time.Time) func() time.Time { return func() time.Time { return at } }

// handler makes a script whose handler runs body with the call's input as
// arg, after top (load-time code).
func handler(top, body string) string {
	return "local time = require(\"time\")\n" + top + "\nreturn function(arg)\n" + body + "\nend\n"
}

// run calls script name with in and fails the test on an error.
func run(t testing.TB, e *luavm.Engine, name, in string) string {
	t.Helper()
	out, err := luavmtest.Run(e, name, "call-1", in)
	if err != nil {
		t.Fatalf("%s(%q): %v", name, in, err)
	}
	return out
}

// plain runs src in a bare Lua state with the module's Loader, as an
// embedding program without a scripts directory would.
func plain(src string) error {
	L := lua.NewState()
	defer L.Close()
	m := btime.New(btime.Options{Zone: time.UTC})
	L.PreloadModule("time", m.Loader)
	return L.DoString("local time = require(\"time\")\n" + src)
}

// unixText turns a unix-seconds answer into RFC 3339 UTC, so failures read
// as instants; anything else is returned as it is.
func unixText(s string) string {
	if u, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(u, 0).UTC().Format(time.RFC3339)
	}
	return s
}

func wantError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want it to contain %q", err, want)
	}
}

func luavmOptions(m *btime.Module, vms int) luavm.Options {
	return luavm.Options{
		Deadline: time.Minute, // as engine's
		VMs:      vms,
		Modules:  []luavm.Module{{Name: "time", Load: m.Load}},
		Clock:    frozen(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
	}
}
