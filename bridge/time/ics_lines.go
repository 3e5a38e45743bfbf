package time

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Errors in calendar files name the line. go-ical reports none, so the
// lines are found again in the source.

// lineAt is the 1-based line of the last byte before offset p, where the
// decoder stopped: the end of the line it choked on.
func lineAt(src []byte, p int) int {
	if p <= 0 {
		return 1
	}
	return 1 + bytes.Count(src[:p-1], []byte("\n"))
}

// sourceLines finds lines of the file again, for errors in what the
// decoder returned without them.
type sourceLines []string

// events lists the line of each BEGIN:VEVENT, in the order the decoder
// returns events.
func (s sourceLines) events() []int {
	var lines []int
	for i, l := range s {
		if strings.EqualFold(strings.TrimSpace(l), "BEGIN:VEVENT") {
			lines = append(lines, i+1)
		}
	}
	return lines
}

// prop finds the line of property name in the event starting at line
// event, or returns event.
func (s sourceLines) prop(event int, name string) int {
	for i := event; i >= 1 && i < len(s); i++ {
		l := strings.ToUpper(s[i])
		if strings.HasPrefix(l, "END:VEVENT") {
			break
		}
		if rest, ok := strings.CutPrefix(l, name); ok && (strings.HasPrefix(rest, ":") || strings.HasPrefix(rest, ";")) {
			return i + 1
		}
	}
	return event
}

// lineError is an error at a line of the file.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("%d: %v", e.line, e.err) }

// propError is an error in one property of an event, so that its line
// can be found.
type propError struct {
	prop string
	err  error
}

func propErr(prop string, err error) error { return &propError{prop: prop, err: err} }

func (e *propError) Error() string { return e.prop + ": " + e.err.Error() }

func (e *propError) Unwrap() error { return e.err }

// eventError places err, of the event at line, on its property's line.
func (s sourceLines) eventError(line int, summary string, err error) error {
	var pe *propError
	if errors.As(err, &pe) {
		line = s.prop(line, pe.prop)
	}
	return &lineError{line: line, err: fmt.Errorf("event %q: %w", summary, err)}
}

// prefixErrors names the file in each of a joined list of errors.
func prefixErrors(path string, err error) error {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]error, len(list))
	for i, e := range list {
		var le *lineError
		if errors.As(e, &le) {
			out[i] = fmt.Errorf("%s:%d: %w", path, le.line, le.err)
		} else {
			out[i] = fmt.Errorf("%s: %w", path, e)
		}
	}
	return errors.Join(out...)
}
