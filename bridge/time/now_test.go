package time_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	btime "github.com/ivrouter/ivrouter/bridge/time"
)

// timeFields serialises a time table in Lua in a fixed order.
const timeFields = `
local function fields(t)
  local keys = {"year","month","day","hour","min","sec","wday","yday","isdst","zone","offset","unix","date","datetime"}
  local out = {}
  for _, k in ipairs(keys) do out[#out+1] = k .. "=" .. tostring(t[k]) end
  return table.concat(out, " ")
end`

// goFields is what timeFields should print for at, computed with Go's
// time package alone.
func goFields(at time.Time) string {
	name, off := at.Zone()
	return fmt.Sprintf("year=%d month=%d day=%d hour=%d min=%d sec=%d wday=%d yday=%d isdst=%t zone=%s offset=%d unix=%d date=%s datetime=%s",
		at.Year(), int(at.Month()), at.Day(), at.Hour(), at.Minute(), at.Second(), int(at.Weekday())+1, at.YearDay(),
		at.IsDST(), name, off, at.Unix(), at.Format("2006-01-02"), at.Format("2006-01-02T15:04:05"))
}

func TestNowInZones(t *testing.T) {
	instants := []string{
		"2026-01-15T12:00:00Z",    // winter in the north, summer in Auckland
		"2026-03-27T00:30:00Z",    // just after Israel's spring forward
		"2026-07-04T03:59:59Z",    // New York's evening of July 3
		"2026-12-31T22:30:00Z",    // already 2027 in Jerusalem and Auckland
		"2027-10-30T23:30:00.75Z", // Israel's repeated hour, second pass
	}
	zones := []string{"Asia/Jerusalem", "America/New_York", "Pacific/Auckland", "UTC"}
	for _, s := range instants {
		at := utc(t, s)
		e := engine(t, frozen(at), map[string]string{
			"now.lua": handler(timeFields, `return fields(time.now(arg ~= "" and arg or nil))`),
		})
		for _, z := range zones {
			if got, want := run(t, e, "now", z), goFields(at.In(zone(t, z))); got != want {
				t.Errorf("%s time.now(%q):\n got %s\nwant %s", s, z, got, want)
			}
		}
		// No zone: the module's, Asia/Jerusalem here.
		if got, want := run(t, e, "now", ""), goFields(at.In(zone(t, "Asia/Jerusalem"))); got != want {
			t.Errorf("%s time.now():\n got %s\nwant %s", s, got, want)
		}
	}
}

// Spot values that do not come from Go's time package, so a wrong tzdata
// or a wrong reading of it would show.
func TestNowKnownValues(t *testing.T) {
	e := engine(t, frozen(utc(t, "2026-03-27T00:30:00Z")), map[string]string{
		"now.lua": handler(timeFields, `return fields(time.now(arg))`),
	})
	for z, want := range map[string]string{
		"Asia/Jerusalem":   "year=2026 month=3 day=27 hour=3 min=30 sec=0 wday=6 yday=86 isdst=true zone=IDT offset=10800",
		"America/New_York": "year=2026 month=3 day=26 hour=20 min=30 sec=0 wday=5 yday=85 isdst=true zone=EDT offset=-14400",
		"Pacific/Auckland": "year=2026 month=3 day=27 hour=13 min=30 sec=0 wday=6 yday=86 isdst=true zone=NZDT offset=46800",
	} {
		if got := run(t, e, "now", z); !strings.HasPrefix(got, want+" unix=1774571400 ") {
			t.Errorf("time.now(%q) = %s, want %s unix=1774571400 ...", z, got, want)
		}
	}
}

// Every read during one call is the call's instant, however long the call
// takes; the next call has its own.
func TestNowIsTheCallsInstant(t *testing.T) {
	var reads atomic.Int64
	base := utc(t, "2026-05-01T09:00:00Z")
	clock := func() time.Time { return base.Add(time.Duration(reads.Add(1)) * time.Hour) }
	e := engine(t, clock, map[string]string{
		"twice.lua": handler("", `
local a = time.now()
for i = 1, 100000 do end
local b = time.now("UTC")
local h = time.hours{ sun = "00:00-24:00", mon = "00:00-24:00", tue = "00:00-24:00",
  wed = "00:00-24:00", thu = "00:00-24:00", fri = "00:00-24:00", sat = "00:00-24:00" }
return a.unix .. " " .. b.unix .. " " .. h:next_open().unix`),
	})
	first := strings.Fields(run(t, e, "twice", ""))
	if first[0] != first[1] || first[1] != first[2] {
		t.Errorf("one call read %v, want one instant", first)
	}
	second := strings.Fields(run(t, e, "twice", ""))
	if second[0] == first[0] {
		t.Errorf("two calls both at %s: the clock is read once per call", first[0])
	}
}

func TestNowErrors(t *testing.T) {
	for src, want := range map[string]string{
		`time.now("Asia/Jerusalm")`: `time.now: unknown zone "Asia/Jerusalm"`,
		`time.now("")`:              `time.now: unknown zone ""`,
		`time.now(2)`:               `time.now: zone must be a string such as "Asia/Jerusalem", got number`,
	} {
		wantError(t, plain(src), want)
	}
}

func TestSignatures(t *testing.T) {
	sig := btime.New(btime.Options{}).Signatures()
	h, ok := sig["hours"]
	if !ok || h.OptionsArg != 1 {
		t.Fatalf("hours signature %+v", h)
	}
	var names []string
	for _, o := range h.Options {
		names = append(names, o.Name+":"+strings.Join(o.Types, "|"))
	}
	want := "sun:string mon:string tue:string wed:string thu:string fri:string sat:string zone:string closed:string|table eve:string"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("hours options %s, want %s", got, want)
	}
	for _, fn := range []string{"now", "calendar"} {
		if _, ok := sig[fn]; !ok {
			t.Errorf("no signature for %s", fn)
		}
	}
}
