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
	"syscall"
	"time"

	"github.com/emersion/go-ical"
	"github.com/ivrouter/ivrouter/luavm"
)

// Limits on what a calendar file may ask of a load.
const (
	maxICSBytes = 4 << 20
	// maxFileErrors bounds the errors reported for one file.
	maxFileErrors = 20
)

// calendarFiles lists the calendar files of dir/calendars: the names of
// its *.ics files, skipping dot files and other names. A directory
// without calendars/ has none.
func calendarFiles(dir string) (cdir string, names []string, err error) {
	cdir = filepath.Join(dir, "calendars")
	entries, err := os.ReadDir(cdir)
	if errors.Is(err, fs.ErrNotExist) {
		return cdir, nil, nil
	}
	if err != nil {
		return cdir, nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".ics") {
			continue
		}
		names = append(names, name)
	}
	return cdir, names, nil
}

// readCalendars parses dir/calendars/*.ics, each a calendar named by its
// file, expanded over the load window around year. known lists the
// calendar names the directory has, the broken ones too.
func readCalendars(dir string, year int) (cals map[string]*calendar, known []string, err error) {
	cdir, files, err := calendarFiles(dir)
	if err != nil {
		return nil, nil, err
	}
	cals = map[string]*calendar{}
	var errs []error
	for _, name := range files {
		path := filepath.Join(cdir, name)
		base := strings.TrimSuffix(name, ".ics")
		if !luavm.ValidName(base) {
			errs = append(errs, fmt.Errorf("%s: a calendar's name must match [a-z0-9_-]+: scripts name it in time.calendar and closed =", path))
			continue
		}
		known = append(known, base)
		c, err := loadICS(path, year)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cals[base] = c
	}
	return cals, known, errors.Join(errs...)
}

// loadICS reads one calendar file, or finds it in the cache of parsed
// calendars; every error names the file and, where it can, the line.
func loadICS(path string, year int) (*calendar, error) {
	src, err := readFile(path)
	if err != nil {
		return nil, err
	}
	key := cacheKey{sum: sum(src), year: year}
	if c := calCache.get(key); c != nil {
		return c, nil
	}
	c, err := parseICS(src, year)
	if err != nil {
		return nil, prefixErrors(path, err)
	}
	calCache.put(key, c, len(src))
	return c, nil
}

// readFile reads a calendar file once, checking before it reads that it
// is a regular file of at most maxICSBytes: a FIFO named x.ics must not
// hang the load, nor a sparse 1 GB file fill the memory. The file is
// opened without blocking (a FIFO would wait for a writer) and checked
// through the descriptor it is read from, so it cannot be swapped between
// the check and the read; the read is limited in case it grows.
func readFile(path string) ([]byte, error) {
	if info, err := os.Stat(path); err != nil {
		return nil, err
	} else if err := fileOK(path, info); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := fileOK(path, info); err != nil {
		return nil, err
	}
	src, err := io.ReadAll(io.LimitReader(f, maxICSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(src) > maxICSBytes {
		return nil, fmt.Errorf("%s: over %d bytes (4 MiB)", path, maxICSBytes)
	}
	return src, nil
}

func fileOK(path string, info fs.FileInfo) error {
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file (%s)", path, info.Mode().Type())
	}
	if info.Size() > maxICSBytes {
		return fmt.Errorf("%s: %d bytes, over %d (4 MiB)", path, info.Size(), maxICSBytes)
	}
	return nil
}

// parseICS parses a calendar file and expands it over the load window
// around year. Its errors are lineErrors, or carry no line.
func parseICS(src []byte, year int) (*calendar, error) {
	deadline := time.Now().Add(expandTime)
	ic, line, err := decode(src)
	if err != nil {
		return nil, &lineError{line: line, err: err}
	}
	text := sourceLines(strings.Split(string(src), "\n"))
	c, err := buildCalendar(ic, text, year, deadline)
	if err != nil {
		return nil, err
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

// buildCalendar turns a decoded file into a calendar, collecting the
// events' errors (up to maxFileErrors), then expands its rules over the
// load window.
func buildCalendar(ic *ical.Calendar, text sourceLines, year int, deadline time.Time) (*calendar, error) {
	lines := text.events()
	bud := &budget{steps: maxSteps, occ: maxOccurrences, deadline: deadline}
	b := &fileBuilder{cal: &calendar{}, zones: newZoneResolver(ic), budget: bud}
	if tz := ic.Props.Get("X-WR-TIMEZONE"); tz != nil {
		loc, err := b.zones.zone(tz.Value)
		if err != nil {
			return nil, fmt.Errorf("X-WR-TIMEZONE: %w", err)
		}
		b.cal.zone = loc
	}
	events := ic.Events()
	var errs errorList
	moved := b.movedOccurrences(events, lines, text, &errs)
	for i, e := range events {
		if i%256 == 0 && time.Now().After(deadline) {
			errs.add(&lineError{line: lineOf(lines, i), err: fmt.Errorf("reading the file took over %v", expandTime)})
			break
		}
		var skip []int64
		if e.Props.Get(ical.PropRecurrenceID) == nil {
			skip = moved[uidOf(e)]
		}
		if err := b.addICS(e, lineOf(lines, i), skip); err != nil {
			errs.add(text.eventError(lineOf(lines, i), summaryOf(e), err))
			if bud.occ < 0 {
				break
			}
		}
	}
	if err := errs.join(); err != nil {
		return nil, err
	}
	if err := b.cal.expandLoad(year-windowBefore, year+windowAfter, bud); err != nil {
		var ee *expandError
		if errors.As(err, &ee) {
			return nil, text.eventError(ee.line, ee.summary, propErr("RRULE", ee.err))
		}
		return nil, err
	}
	return b.cal, nil
}

// errorList collects a file's errors, up to maxFileErrors of them.
type errorList struct {
	list []error
	more int
}

func (l *errorList) add(err error) {
	if len(l.list) < maxFileErrors {
		l.list = append(l.list, err)
	} else {
		l.more++
	}
}

func (l *errorList) join() error {
	if l.more > 0 {
		l.list = append(l.list, fmt.Errorf("and %d more errors", l.more))
	}
	return errors.Join(l.list...)
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
func (b *fileBuilder) movedOccurrences(events []ical.Event, lines []int, text sourceLines, errs *errorList) map[string][]int64 {
	moved := map[string][]int64{}
	for i, e := range events {
		p := e.Props.Get(ical.PropRecurrenceID)
		if p == nil {
			continue
		}
		t, _, err := b.when(p)
		if err != nil {
			errs.add(text.eventError(lineOf(lines, i), summaryOf(e), propErr(ical.PropRecurrenceID, err)))
			continue
		}
		moved[uidOf(e)] = append(moved[uidOf(e)], t.Unix())
	}
	return moved
}
