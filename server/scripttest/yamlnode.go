package scripttest

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decoder reads one test file's YAML nodes and collects every problem as
// "file:line: message", so an author fixes a whole file in one pass.
type decoder struct {
	path string
	errs []error
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errorAt(n.Line, format, args...)
}

// errorAt records a problem once: a file default every case inherits
// would otherwise report the same line for each case.
func (d *decoder) errorAt(line int, format string, args ...any) {
	err := fmt.Errorf("%s:%d: %s", d.path, line, fmt.Sprintf(format, args...))
	for _, e := range d.errs {
		if e.Error() == err.Error() {
			return
		}
	}
	d.errs = append(d.errs, err)
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// fields walks a mapping whose keys are all known: each value goes to its
// key's function. Unknown and repeated keys are errors with their line, so
// a misspelled expectation cannot pass unchecked.
func (d *decoder) fields(n *yaml.Node, what string, known map[string]func(v *yaml.Node)) {
	d.pairs(n, what, func(k, v *yaml.Node) {
		f, ok := known[k.Value]
		if !ok {
			d.errorf(k, "unknown key %q in %s (keys: %s)", k.Value, what, keyList(known))
			return
		}
		f(v)
	})
}

func keyList(known map[string]func(*yaml.Node)) string {
	keys := make([]string, 0, len(known))
	for k := range known {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// pairs walks a mapping of free keys (cache keys, headers, env names).
func (d *decoder) pairs(n *yaml.Node, what string, f func(k, v *yaml.Node)) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping", what)
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if seen[k.Value] {
			d.errorf(k, "%q is set twice in %s", k.Value, what)
			continue
		}
		seen[k.Value] = true
		f(k, v)
	}
}

// list walks a sequence.
func (d *decoder) list(n *yaml.Node, what string, f func(item *yaml.Node)) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a list", what)
		return
	}
	for _, item := range n.Content {
		f(resolve(item))
	}
}

// text reads a scalar as written: `dtmf: 0123` keeps its leading zero,
// which is what a caller typed.
func (d *decoder) text(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		d.errorf(n, "%s must be a value", what)
		return ""
	}
	return n.Value
}

func (d *decoder) strings(n *yaml.Node, what string) []string {
	out := []string{}
	d.list(n, what, func(item *yaml.Node) { out = append(out, d.text(item, what+" item")) })
	return out
}

// integer reads a whole number from lo to hi.
func (d *decoder) integer(n *yaml.Node, what string, lo, hi int) int {
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil || v < lo || v > hi {
		d.errorf(n, "%s must be a whole number from %d to %d, got %q", what, lo, hi, n.Value)
	}
	return v
}

func (d *decoder) boolean(n *yaml.Node, what string) bool {
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.errorf(n, "%s must be true or false, got %q", what, n.Value)
	}
	return b
}

// plain converts a node to the plain data scripts exchange (luavm.ToGo):
// nil, bool, float64, string, []any and map[string]any. Numbers are
// float64 because that is what a JSON answer decodes to and what state.incr
// adds to.
func (d *decoder) plain(n *yaml.Node) any {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		d.pairs(n, "a mapping", func(k, v *yaml.Node) { m[k.Value] = d.plain(v) })
		return m
	case yaml.SequenceNode:
		l := []any{}
		for _, item := range n.Content {
			l = append(l, d.plain(item))
		}
		return l
	}
	return d.scalar(n)
}

func (d *decoder) scalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		_ = n.Decode(&b)
		return b
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			d.errorf(n, "%q is not a plain number", n.Value)
		}
		return f
	}
	return n.Value // strings, and timestamps as written
}
