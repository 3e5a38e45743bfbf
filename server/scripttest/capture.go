package scripttest

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	scriptlog "github.com/ivrouter/ivrouter/bridge/log"
)

// capture is a case's log: the server's Logger handler, at every level,
// and its CallLog writer. It keeps the scripts' own lines (log.* and
// print: the records that carry the script's file:line or the call), the
// call lines, and the rejections a call line does not cover.
type capture struct {
	mu      sync.Mutex
	scripts []string
	calls   []callLine
}

// callLine is what a step's outcome is read from.
type callLine struct {
	outcome string
	err     string
	script  string
}

// handler is the slog.Handler side of a capture; attrs come from
// Logger.With, which the log module does not use but an embedder's
// module may.
type handler struct {
	c     *capture
	attrs []slog.Attr
}

func (h handler) Enabled(context.Context, slog.Level) bool { return true }

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return handler{c: h.c, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], attrs...)}
}

// WithGroup is ignored: a test reads messages and values, not groups.
func (h handler) WithGroup(string) slog.Handler { return h }

func (h handler) Handle(_ context.Context, r slog.Record) error {
	attrs := append([]slog.Attr(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	if r.Message == "request rejected" {
		h.c.addCall(callLine{outcome: attrString(attrs, "outcome"), err: attrString(attrs, "error")})
		return nil
	}
	if attrString(attrs, scriptlog.WhereKey) == "" && attrString(attrs, scriptlog.CallKey) == "" {
		return nil // the server's own lines: not the script's
	}
	h.c.mu.Lock()
	h.c.scripts = append(h.c.scripts, formatRecord(r, attrs))
	h.c.mu.Unlock()
	return nil
}

func attrString(attrs []slog.Attr, key string) string {
	for _, a := range attrs {
		if a.Key == key {
			return a.Value.Resolve().String()
		}
	}
	return ""
}

// formatRecord writes a script's line as "LEVEL message k=v ... (where)":
// what log expectations match, and what a failure shows. The call's ID and
// script are left out: every line of a case has the same.
func formatRecord(r slog.Record, attrs []slog.Attr) string {
	var b strings.Builder
	b.WriteString(r.Level.String())
	b.WriteByte(' ')
	b.WriteString(r.Message)
	for _, a := range attrs {
		switch a.Key {
		case scriptlog.WhereKey, scriptlog.CallKey, scriptlog.ScriptKey:
			continue
		}
		b.WriteString(" " + a.Key + "=" + quoteIfNeeded(a.Value.Resolve().String()))
	}
	if w := attrString(attrs, scriptlog.WhereKey); w != "" {
		b.WriteString(" (" + w + ")")
	}
	return b.String()
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " =\"\t\n") {
		return strconv.Quote(s)
	}
	return s
}

// Write implements io.Writer for Config.CallLog, set to JSON lines.
func (c *capture) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		var f struct{ Outcome, Error, Script string }
		if json.Unmarshal([]byte(line), &f) == nil {
			c.addCall(callLine{outcome: f.Outcome, err: f.Error, script: f.Script})
		}
	}
	return len(p), nil
}

func (c *capture) addCall(l callLine) {
	c.mu.Lock()
	c.calls = append(c.calls, l)
	c.mu.Unlock()
}

// take returns the script lines and call lines since the last take.
func (c *capture) take() ([]string, []callLine) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, l := c.scripts, c.calls
	c.scripts, c.calls = nil, nil
	return s, l
}
