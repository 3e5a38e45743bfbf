package time

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/ivrouter/ivrouter/luavm"
)

// Limits on what a calendar file may ask of a load.
const (
	maxICSBytes = 4 << 20
	// maxOccurrences bounds the occurrences one file expands to: a
	// minutely RRULE must fail the load, not fill the memory.
	maxOccurrences = 100000
	// horizon is where recurrences stop being expanded: 2100-01-01.
	horizon = 4102444800
)

// readCalendars parses dir/calendars/*.ics, each a calendar named by its
// file. A directory without calendars/ has none.
func readCalendars(dir string) (map[string]*calendar, error) {
	cdir := filepath.Join(dir, "calendars")
	entries, err := os.ReadDir(cdir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cals := map[string]*calendar{}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".ics") {
			continue
		}
		path := filepath.Join(cdir, name)
		base := strings.TrimSuffix(name, ".ics")
		if !luavm.ValidName(base) {
			errs = append(errs, fmt.Errorf("%s: a calendar's name must match [a-z0-9_-]+: scripts name it in time.calendar and closed =", path))
			continue
		}
		c, err := readICS(path, base)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cals[base] = c
	}
	return cals, errors.Join(errs...)
}

// readICS reads one calendar file; every error names the file and, where
// it can, the line.
func readICS(path, name string) (*calendar, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(src) > maxICSBytes {
		return nil, fmt.Errorf("%s: over %d bytes", path, maxICSBytes)
	}
	ic, line, err := decode(src)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %w", path, line, err)
	}
	c, err := buildCalendar(ic, name, src)
	if err != nil {
		return nil, prefixErrors(path, err)
	}
	return c, nil
}

// decode parses src with go-ical. The library gives no line numbers, but
// its decoder reads through the bufio.Reader it is given, so how much of
// src that reader has consumed when decoding fails says which line did.
func decode(src []byte) (ic *ical.Calendar, line int, err error) {
	r := bytes.NewReader(src)
	br := bufio.NewReader(r)
	defer func() {
		if p := recover(); p != nil { // the library panics on some malformed parameters
			ic, err = nil, fmt.Errorf("malformed line (the parser failed: %v)", p)
		}
		if err != nil {
			line = lineAt(src, len(src)-r.Len()-br.Buffered())
		}
	}()
	ic, err = ical.NewDecoder(br).Decode()
	switch {
	case errors.Is(err, io.EOF) && len(bytes.TrimSpace(src)) == 0:
		err = errors.New("empty file, want BEGIN:VCALENDAR")
	case errors.Is(err, io.EOF):
		err = errors.New("unexpected end of file: a BEGIN without its END")
	}
	return ic, line, err
}

// buildCalendar turns a decoded file into a calendar, collecting every
// event's error.
func buildCalendar(ic *ical.Calendar, name string, src []byte) (*calendar, error) {
	text := sourceLines(strings.Split(string(src), "\n"))
	lines := text.events()
	b := &calBuilder{cal: &calendar{name: name}}
	if tz := ic.Props.Get("X-WR-TIMEZONE"); tz != nil {
		loc, err := loadZone(tz.Value)
		if err != nil {
			return nil, fmt.Errorf("X-WR-TIMEZONE: %w", err)
		}
		b.cal.zone = loc
	}
	events := ic.Events()
	moved, errs := movedOccurrences(events, lines, text)
	total := 0
	for i, e := range events {
		var skip []time.Time
		if e.Props.Get(ical.PropRecurrenceID) == nil {
			skip = moved[uidOf(e)]
		}
		n, err := b.addICS(e, skip, maxOccurrences-total)
		total += n
		if err != nil {
			errs = append(errs, text.eventError(lineOf(lines, i), summaryOf(e), err))
		}
	}
	return b.cal, errors.Join(errs...)
}

func lineOf(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}

func uidOf(e ical.Event) string {
	if p := e.Props.Get(ical.PropUID); p != nil {
		return p.Value
	}
	return ""
}

func summaryOf(e ical.Event) string {
	s, _ := e.Props.Text(ical.PropSummary)
	return s
}

// movedOccurrences finds events that replace one occurrence of a
// recurring event (RECURRENCE-ID): by UID, the occurrences the recurring
// event must no longer have.
func movedOccurrences(events []ical.Event, lines []int, text sourceLines) (map[string][]time.Time, []error) {
	moved := map[string][]time.Time{}
	var errs []error
	for i, e := range events {
		p := e.Props.Get(ical.PropRecurrenceID)
		if p == nil {
			continue
		}
		t, _, err := when(p)
		if err != nil {
			errs = append(errs, text.eventError(lineOf(lines, i), summaryOf(e), propErr(ical.PropRecurrenceID, err)))
			continue
		}
		moved[uidOf(e)] = append(moved[uidOf(e)], t)
	}
	return moved, errs
}
