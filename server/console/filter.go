package console

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Filter picks calls on the calls page and its event stream. Zero fields
// match any call.
type Filter struct {
	DID     string // a substring of the DID
	Caller  string // a substring of the caller's number (as shown: masked per --mask-caller)
	Layer   int    // a layer the call passed
	HasLyr  bool
	Outcome string // an outcome any of its requests had
	Since   time.Time
	Until   time.Time
	ID      string // exactly this IVR_UNIQUE_ID
}

// ParseFilter reads a Filter from a query: did, caller, layer, outcome,
// since and until (a duration back from now, "15m", or a time,
// "2026-12-01T07:30" or RFC 3339, in UTC unless it names its zone), id.
func ParseFilter(q url.Values, now time.Time) (Filter, []string) {
	var f Filter
	var problems []string
	f.DID = strings.TrimSpace(q.Get("did"))
	f.Caller = strings.TrimSpace(q.Get("caller"))
	f.Outcome = strings.TrimSpace(q.Get("outcome"))
	f.ID = strings.TrimSpace(q.Get("id"))
	if s := strings.TrimSpace(q.Get("layer")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			problems = append(problems, "layer: want a number, got "+strconv.Quote(s))
		} else {
			f.Layer, f.HasLyr = n, true
		}
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		s := strings.TrimSpace(q.Get(t.name))
		if s == "" {
			continue
		}
		v, err := parseWhen(s, now)
		if err != nil {
			problems = append(problems, t.name+": want a duration such as 15m or a time such as 2026-12-01T07:30, got "+strconv.Quote(s))
			continue
		}
		*t.dst = v
	}
	return f, problems
}

func parseWhen(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	_, err := time.Parse(time.RFC3339, s)
	return time.Time{}, err
}

// Query is f as a query string, for links and the event stream.
func (f Filter) Query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("did", f.DID)
	set("caller", f.Caller)
	set("outcome", f.Outcome)
	set("id", f.ID)
	if f.HasLyr {
		q.Set("layer", strconv.Itoa(f.Layer))
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.UTC().Format(time.RFC3339))
	}
	return q
}

// Match reports whether c passes f: its DID and caller (of any layer)
// contain f's, it passed f's layer and had f's outcome at some request, and
// it was active between Since and Until.
func (f Filter) Match(c *Call) bool {
	if len(c.Layers) == 0 {
		return false
	}
	if f.ID != "" && c.ID != f.ID {
		return false
	}
	if !f.Since.IsZero() && c.Last().Time.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && c.First().Time.After(f.Until) {
		return false
	}
	did, caller, layer, outcome := f.DID == "", f.Caller == "", !f.HasLyr, f.Outcome == ""
	for i := range c.Layers {
		l := &c.Layers[i]
		did = did || strings.Contains(l.DID, f.DID)
		caller = caller || strings.Contains(l.Caller, f.Caller)
		layer = layer || l.LayerID == f.Layer
		outcome = outcome || l.Outcome == f.Outcome
	}
	return did && caller && layer && outcome
}
