package time

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// freshCache gives the test an empty calendar cache of its own.
func freshCache(t *testing.T, entries, bytes int) *parsedCache {
	t.Helper()
	old := calCache
	calCache = newParsedCache(entries, bytes)
	t.Cleanup(func() { calCache = old })
	return calCache
}

func writeCalendar(t *testing.T, dir, name, src string) string {
	t.Helper()
	path := filepath.Join(dir, "calendars", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func icsOf(summary string) string {
	return "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:" + summary +
		"\nDTSTART;VALUE=DATE:20260101\nRRULE:FREQ=YEARLY\nEND:VEVENT\nEND:VCALENDAR\n"
}

func clockAt(y int) func() time.Time {
	return func() time.Time { return time.Date(y, 6, 1, 0, 0, 0, 0, time.UTC) }
}

// Loading an unchanged file again does not parse it: the load gets the
// calendar the first load built. Changed content, or a load in another
// year, parses again; a broken file is not kept.
func TestCalendarCache(t *testing.T) {
	cache := freshCache(t, 16, 32<<20)
	dir := t.TempDir()
	path := writeCalendar(t, dir, "a.ics", icsOf("A"))
	m := New(Options{Zone: time.UTC, Clock: clockAt(2026)})
	for range 2 {
		if _, err := m.Load(dir); err != nil {
			t.Fatal(err)
		}
	}
	if n := cache.len(); n != 1 {
		t.Fatalf("after two loads of one file, %d cached calendars, want 1", n)
	}
	first, err := loadICS(path, 2026)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := loadICS(path, 2026); again != first {
		t.Error("an unchanged file was parsed again")
	}
	if first.firstYear != 2025 || len(first.loaded) != 5 {
		t.Errorf("load window from %d, %d years; want 2025, 5 years", first.firstYear, len(first.loaded))
	}

	// Load reads Options.Clock for the year of the window.
	if _, err := New(Options{Zone: time.UTC, Clock: clockAt(2040)}).Load(dir); err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile(path)
	if c := cache.get(cacheKey{sum: sum(src), year: 2040}); c == nil || c.firstYear != 2039 {
		t.Errorf("a load in 2040 did not cache a window from 2039: %v", c)
	}

	// Another file of the same content is the same calendar.
	twin := writeCalendar(t, dir, "b.ics", icsOf("A"))
	if c, _ := loadICS(twin, 2026); c != first {
		t.Error("a file of the same content was parsed again")
	}

	// Another year: another load window.
	later, err := loadICS(path, 2040)
	if err != nil {
		t.Fatal(err)
	}
	if later == first || later.firstYear != 2039 || later != cache.get(cacheKey{sum: sum(src), year: 2040}) {
		t.Errorf("a load in 2040 got the 2026 calendar (window from %d)", later.firstYear)
	}

	// Changed content is parsed, and its answers are the new ones.
	writeCalendar(t, dir, "a.ics", icsOf("B"))
	changed, err := loadICS(path, 2026)
	if err != nil {
		t.Fatal(err)
	}
	if changed == first {
		t.Fatal("a changed file got the old calendar")
	}
	if ev, ok := changed.in(time.UTC).event(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).Unix()); !ok || ev.summary != "B" {
		t.Errorf("changed file: event %+v, %t; want B", ev, ok)
	}
	if n := cache.len(); n != 3 {
		t.Errorf("%d cached calendars, want 3 (A in 2026 and 2040, B)", n)
	}

	// A broken file fails every load and is not kept.
	writeCalendar(t, dir, "a.ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\nEND:VCALENDAR\n")
	for range 2 {
		if _, err := loadICS(path, 2026); err == nil || !strings.Contains(err.Error(), "no DTSTART") {
			t.Errorf("broken file: %v", err)
		}
	}
	if n := cache.len(); n != 3 {
		t.Errorf("%d cached calendars after a broken file, want 3", n)
	}
}

// The process-wide cache keeps at most 16 calendars.
func TestCalendarCacheBounded(t *testing.T) {
	dir := t.TempDir()
	for i := range 20 {
		path := writeCalendar(t, dir, "c.ics", icsOf(fmt.Sprint("Bounded ", i)))
		if _, err := loadICS(path, 2026); err != nil {
			t.Fatal(err)
		}
	}
	if n := calCache.len(); n != 16 {
		t.Errorf("%d cached calendars, want 16", n)
	}
}

func key(s string) cacheKey { return cacheKey{sum: sha256.Sum256([]byte(s)), year: 2026} }

// The cache drops its least recently used calendars past its bounds of
// entries and of bytes, and keeps one calendar however large.
func TestParsedCacheBounds(t *testing.T) {
	p := newParsedCache(2, 100)
	a, b, c := &calendar{}, &calendar{}, &calendar{}
	p.put(key("a"), a, 10)
	p.put(key("b"), b, 10)
	if p.get(key("a")) != a { // a is now the most recent
		t.Fatal("a not kept")
	}
	p.put(key("c"), c, 10)
	if p.get(key("b")) != nil || p.get(key("a")) != a || p.get(key("c")) != c || p.len() != 2 {
		t.Errorf("after a third entry: b kept or a, c lost (%d entries)", p.len())
	}
	p.put(key("a"), a, 10) // again: not counted twice
	if p.bytes != 20 {
		t.Errorf("%d bytes, want 20", p.bytes)
	}
	big := &calendar{}
	p.put(key("big"), big, 85) // 105 bytes with c and a: c (least recent) goes
	if p.get(key("c")) != nil || p.get(key("a")) != a || p.get(key("big")) != big || p.bytes != 95 {
		t.Errorf("bytes bound: %d bytes, c kept %t", p.bytes, p.get(key("c")) != nil)
	}
	huge := &calendar{}
	p.put(key("huge"), huge, 500)
	if p.get(key("huge")) != huge || p.len() != 1 || p.bytes != 500 {
		t.Errorf("a calendar over the bound: kept %t, %d entries, %d bytes", p.get(key("huge")) == huge, p.len(), p.bytes)
	}
}

// Years outside the load window are expanded when asked about and kept,
// at most maxExtraYears of them; a year dropped is expanded again, with
// the same answers.
func TestLazyYears(t *testing.T) {
	src := "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Every other day\nDTSTART:19900101T100000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;INTERVAL=2\nEND:VEVENT\nEND:VCALENDAR\n"
	c, err := parseICS([]byte(src), 2026)
	if err != nil {
		t.Fatal(err)
	}
	if c.firstYear != 2025 || len(c.loaded) != 5 || len(c.extra) != 0 {
		t.Fatalf("load window from %d, %d years, %d others", c.firstYear, len(c.loaded), len(c.extra))
	}
	v := c.in(time.UTC)
	epoch := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	check := func(y int) {
		t.Helper()
		for _, day := range []time.Time{time.Date(y, 3, 1, 10, 30, 0, 0, time.UTC), time.Date(y, 3, 2, 10, 30, 0, 0, time.UTC)} {
			want := int(day.Sub(epoch).Hours()/24)%2 == 0
			if got := v.closed(day.Unix()); got != want {
				t.Errorf("%s: %t, want %t", day.Format(time.DateTime), got, want)
			}
		}
	}
	for y := 2025; y <= 2029; y++ {
		check(y)
	}
	if len(c.extra) != 0 {
		t.Errorf("years of the load window expanded again: %v", c.extra)
	}
	for y := 2030; y < 2030+maxExtraYears+4; y++ {
		check(y)
	}
	if len(c.extra) != maxExtraYears || c.lru.Len() != maxExtraYears {
		t.Errorf("%d years kept (%d in the list), want %d", len(c.extra), c.lru.Len(), maxExtraYears)
	}
	if _, ok := c.extra[2030]; ok {
		t.Error("the least recently used year was kept")
	}
	check(2030)
	check(1995)
	if _, ok := c.extra[1995]; !ok || len(c.extra) != maxExtraYears {
		t.Errorf("1995 not kept, or %d years", len(c.extra))
	}
}

// The budget runs out on steps, occurrences or time, and says which.
func TestBudget(t *testing.T) {
	b := newBudget()
	if b.steps != maxSteps || b.occ != maxOccurrences || b.deadline.IsZero() {
		t.Errorf("newBudget: %+v", b)
	}
	steps := &budget{steps: 10}
	if !steps.spend(10) || steps.spend(1) {
		t.Error("10 steps of 10 spent, then the 11th")
	}
	if err := steps.failure(); !strings.Contains(err.Error(), fmt.Sprintf("took over %d steps", maxSteps)) {
		t.Errorf("steps: %v", err)
	}
	late := &budget{steps: 1 << 40, deadline: time.Now().Add(-time.Second)}
	for i := 0; i < 4095; i++ {
		if !late.spend(1) {
			t.Fatal("the clock was read before 4096 steps")
		}
	}
	if late.spend(1) || !late.expired {
		t.Error("a budget past its deadline still holds")
	}
	if err := late.failure(); !strings.Contains(err.Error(), "took over "+expandTime.String()) {
		t.Errorf("time: %v", err)
	}

	// A rule's expansion stops with the budget.
	src := "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Often\nDTSTART:20300101T000000Z\nRRULE:FREQ=HOURLY\nEND:VEVENT\nEND:VCALENDAR\n"
	c, err := parseICS([]byte(src), 2026)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := yearStart(2030), yearStart(2031)
	if _, err := c.rules[0].expand(lo, hi, &budget{steps: 1000, occ: maxOccurrences}, nil); err == nil || !strings.Contains(err.Error(), "steps") {
		t.Errorf("1000 steps for 8760 hours: %v", err)
	}
	if _, err := c.rules[0].expand(lo, hi, &budget{steps: maxSteps, occ: 100}, nil); err != errOccurrences {
		t.Errorf("100 occurrences for 8760 hours: %v", err)
	}
	out, err := c.rules[0].expand(lo, hi, newBudget(), nil)
	if err != nil || len(out) != 0 { // instants: never in progress
		t.Errorf("8760 hours: %d intervals, %v", len(out), err)
	}
}

// A file may name at most maxZones zones.
func TestMaxZones(t *testing.T) {
	var names []string
	for _, n := range windowsZones {
		if _, err := time.LoadLocation(n); err == nil && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if len(names) <= maxZones {
		t.Fatalf("only %d zones to name", len(names))
	}
	file := func(n int) []byte {
		var b strings.Builder
		b.WriteString("BEGIN:VCALENDAR\n")
		for _, z := range names[:n] {
			fmt.Fprintf(&b, "BEGIN:VEVENT\nSUMMARY:%s\nDTSTART;TZID=%s:20260101T100000\nEND:VEVENT\n", z, z)
		}
		b.WriteString("END:VCALENDAR\n")
		return []byte(b.String())
	}
	if _, err := parseICS(file(maxZones), 2026); err != nil {
		t.Errorf("%d zones: %v", maxZones, err)
	}
	_, err := parseICS(file(maxZones+1), 2026)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("DTSTART: more than %d time zones in the file", maxZones)) {
		t.Errorf("%d zones: %v", maxZones+1, err)
	}
}

// Many goroutines ask a shared calendar about years outside its window at
// once, from several zones (run with -race): each year is expanded under
// the calendar's lock, and the answers are those of one goroutine.
func TestLazyYearsConcurrent(t *testing.T) {
	src := "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Weekly\nDTSTART;VALUE=DATE:19900101\nRRULE:FREQ=WEEKLY;BYDAY=MO\nEND:VEVENT\nEND:VCALENDAR\n"
	c, err := parseICS([]byte(src), 2026)
	if err != nil {
		t.Fatal(err)
	}
	zones := []*time.Location{time.UTC, time.FixedZone("east", 10*3600), time.FixedZone("west", -8*3600)}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loc := zones[g%len(zones)]
			v := c.in(loc)
			for y := 2030; y < 2030+2*maxExtraYears; y++ {
				day := time.Date(y, 6, 1+g%7, 12, 0, 0, 0, loc)
				if got, want := v.closed(day.Unix()), day.Weekday() == time.Monday; got != want {
					t.Errorf("%s in %s: %t, want %t", day.Format(time.DateOnly), loc, got, want)
				}
			}
		}()
	}
	wg.Wait()
}
