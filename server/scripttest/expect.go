package scripttest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// outcomes are the call line's outcomes, and the rejections'.
var outcomes = []string{"ok", "script_error", "timeout", "busy", "fallback", "bad_request", "not_found", "unauthorized", "forbidden", "shutdown"}

// expect is what a step must observe. Only what is given is compared,
// except the outcome: without one a step must end "ok" (unless it expects
// an error), so a crash answered by the fallback never passes unnoticed.
type expect struct {
	answer      map[string]any
	exact       bool // answer is the whole answer: no other keys, at any depth
	outcome     string
	err         string
	hasErr      bool
	log         []string
	requests    []string
	hasRequests bool
}

// expect reads a step's expectations; a CDR's (cdr) have no answer.
func (d *decoder) expect(n *yaml.Node, cdr bool) expect {
	var e expect
	if n == nil {
		e.outcome = "ok"
		return e
	}
	var exact *yaml.Node
	keys := map[string]func(*yaml.Node){
		"exact": func(v *yaml.Node) { e.exact, exact = d.boolean(v, "exact"), v },
		"answer": func(v *yaml.Node) {
			if m, ok := d.plain(v).(map[string]any); ok {
				e.answer = m
			} else {
				d.errorf(v, "answer must be a mapping, like {ACTION: GO_TO_LAYER, LAYER: 12}")
			}
		},
		"outcome": func(v *yaml.Node) {
			if e.outcome = d.text(v, "outcome"); !slices.Contains(outcomes, e.outcome) {
				d.errorf(v, "outcome %q is not one of %s", e.outcome, strings.Join(outcomes, ", "))
			}
		},
		"error":    func(v *yaml.Node) { e.err, e.hasErr = d.text(v, "error"), true },
		"log":      func(v *yaml.Node) { e.log = d.strings(v, "log") },
		"requests": func(v *yaml.Node) { e.requests, e.hasRequests = d.strings(v, "requests"), true },
	}
	d.pairs(n, "expect", func(k, v *yaml.Node) {
		if cdr && (k.Value == "answer" || k.Value == "exact") {
			d.errorf(k, "a CDR has no answer (the events script's return value is ignored): expect its outcome, error, log or requests")
			return
		}
		d.field(k, v, "expect", keys)
	})
	if e.exact && e.answer == nil {
		d.errorf(exact, "exact compares the whole answer: give it with answer:")
	}
	if e.outcome == "" && !e.hasErr {
		e.outcome = "ok"
	}
	return e
}

// observed is what one request of a case did.
type observed struct {
	status    int
	body      string
	answer    any // body decoded, nil if it is not JSON
	outcome   string
	err       string
	logs      []string
	requests  []string
	unstubbed []string
	noAnswer  bool // a CDR's: the events script answers nothing
}

// check lists every way o falls short of e.
func (e *expect) check(o *observed) []string {
	var problems []string
	for _, r := range o.unstubbed {
		problems = append(problems, r+": no stub matches")
	}
	switch {
	case e.answer == nil:
	case e.exact && !matches(e.answer, o.answer, true):
		problems = append(problems, "answer differs (-expected +actual):\n"+
			indent(lineDiff(prettyJSON(withoutNulls(e.answer)), prettyJSON(o.answer))+spoken(e.answer, o.answer, true), "  "))
	case !e.exact && !matches(e.answer, o.answer, false):
		problems = append(problems, "answer differs (-expected +actual):\n"+
			indent(lineDiff(prettyJSON(e.answer), prettyJSON(project(e.answer, o.answer)))+spoken(e.answer, o.answer, false), "  "))
	}
	if e.outcome != "" && e.outcome != o.outcome {
		problems = append(problems, fmt.Sprintf("outcome is %s, want %s", orNone(o.outcome), e.outcome))
	}
	switch {
	case e.hasErr && o.err == "":
		problems = append(problems, fmt.Sprintf("no error, want one containing %q", e.err))
	case e.hasErr && !strings.Contains(o.err, e.err):
		problems = append(problems, fmt.Sprintf("error %q does not contain %q", o.err, e.err))
	}
	if missing, ok := inOrder(e.log, o.logs); !ok {
		problems = append(problems, fmt.Sprintf("log: no line contains %q (in the expected order)", missing))
	}
	if e.hasRequests && !slices.Equal(e.requests, o.requests) {
		problems = append(problems, "requests differ (-expected +actual):\n"+
			indent(lineDiff(strings.Join(e.requests, "\n"), strings.Join(o.requests, "\n")), "  "))
	}
	return problems
}

// matches compares a JSON answer with an expectation: objects by the keys
// the expectation gives (null: the key is absent), everything else whole.
// exact objects have no other keys.
func matches(want, got any, exact bool) bool {
	w, ok := want.(map[string]any)
	if !ok {
		return reflect.DeepEqual(want, got)
	}
	g, ok := got.(map[string]any)
	if !ok {
		return false
	}
	for k, wv := range w {
		gv, present := g[k]
		if !present && wv == nil {
			continue
		}
		if !present || !matches(wv, gv, exact) {
			return false
		}
	}
	if exact {
		for k := range g {
			if w[k] == nil { // not expected, or expected absent
				return false
			}
		}
	}
	return true
}

// withoutNulls is an exact expectation as the answer would be: a null key
// is one that is absent.
func withoutNulls(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for k, v := range m {
		if v != nil {
			out[k] = withoutNulls(v)
		}
	}
	return out
}

// project keeps of got what want compares, so the diff shows only the
// differences that fail the case, not every key of the answer.
func project(want, got any) any {
	w, ok := want.(map[string]any)
	g, ok2 := got.(map[string]any)
	if !ok || !ok2 {
		return got
	}
	out := map[string]any{}
	for k, wv := range w {
		gv, present := g[k]
		switch {
		case present:
			out[k] = project(wv, gv)
		case wv == nil:
			out[k] = nil
		}
	}
	return out
}

// inOrder finds each want in lines, each after the one before: further
// along the same line, or on a later one. It returns the first that
// cannot be found.
func inOrder(want, lines []string) (string, bool) {
	i, off := 0, 0
	for _, w := range want {
		for ; i < len(lines); i, off = i+1, 0 {
			if at := strings.Index(lines[i][off:], w); at >= 0 {
				off += at + len(w)
				break
			}
		}
		if i == len(lines) {
			return w, false
		}
	}
	return "", true
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
