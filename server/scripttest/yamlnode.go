package scripttest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxValues bounds the values one test file expands to: every mapping
// entry and list item, counted again each time an alias repeats it. YAML's
// aliases can nest (a list of ten aliases to a list of ten aliases ...),
// and a few hundred bytes would otherwise expand to billions of values.
const MaxValues = 100_000

// MaxProblems bounds the problems reported for one test file; the rest are
// counted in one last line.
const MaxProblems = 100

// decoder reads one test file's YAML nodes and collects every problem as
// "file:line: message", so an author fixes a whole file in one pass.
type decoder struct {
	path   string
	errs   []error
	seen   map[string]bool // problems reported, to report each once
	more   int             // problems past MaxProblems
	values int             // values walked, aliases counted at each use
	over   bool            // past MaxValues: the walk has stopped
	// inside holds the values aliases are expanding, and aliases the
	// aliases, outermost first: an alias inside its own value would expand
	// forever, and the outermost is where an expansion too large is.
	inside  map[*yaml.Node]bool
	aliases []*yaml.Node
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errorAt(n.Line, format, args...)
}

// errorAt records a problem once: a file default every case inherits
// would otherwise report the same line for each case.
func (d *decoder) errorAt(line int, format string, args ...any) {
	msg := fmt.Sprintf("%s:%d: %s", d.path, line, fmt.Sprintf(format, args...))
	if d.seen[msg] || d.over && d.errs != nil { // past MaxValues, that is the problem
		return
	}
	if d.seen == nil {
		d.seen = map[string]bool{}
	}
	d.seen[msg] = true
	if len(d.errs) == MaxProblems {
		d.more++
		return
	}
	d.errs = append(d.errs, errors.New(msg))
}

// err is every problem found, nil for none.
func (d *decoder) err() error {
	if d.more > 0 {
		return errors.Join(append(d.errs, fmt.Errorf("%s: and %d more problems", d.path, d.more))...)
	}
	return errors.Join(d.errs...)
}

// visit counts one value walked; false once the file has expanded past
// MaxValues, when the walk stops with that one problem.
func (d *decoder) visit(n *yaml.Node) bool {
	if d.over {
		return false
	}
	if d.values++; d.values > MaxValues {
		d.over = true
		d.errs, d.more, d.seen = nil, 0, nil
		if len(d.aliases) > 0 {
			n = d.aliases[0]
		}
		d.errorf(n, "the test file expands to more than %d values here (an alias counts its whole value each time it is used): nest aliases less", MaxValues)
		return false
	}
	return true
}

// enter starts expanding a, when it is an alias: false when its value is
// already being expanded (an alias inside its own value, which would
// expand forever). leave ends it.
func (d *decoder) enter(a *yaml.Node) bool {
	if a.Kind != yaml.AliasNode {
		return true
	}
	if d.inside == nil {
		d.inside = map[*yaml.Node]bool{}
	}
	if d.inside[a.Alias] {
		d.errorf(a, "alias *%s is inside its own value", a.Value)
		return false
	}
	d.inside[a.Alias] = true
	d.aliases = append(d.aliases, a)
	return true
}

func (d *decoder) leave(a *yaml.Node) {
	if a.Kind == yaml.AliasNode {
		delete(d.inside, a.Alias)
		d.aliases = d.aliases[:len(d.aliases)-1]
	}
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
	d.pairs(n, what, func(k, v *yaml.Node) { d.field(k, v, what, known) })
}

// field hands v to its key's function, if the key is known.
func (d *decoder) field(k, v *yaml.Node, what string, known map[string]func(v *yaml.Node)) {
	f, ok := known[k.Value]
	if !ok {
		d.errorf(k, "unknown key %q in %s (keys: %s)", k.Value, what, keyList(known))
		return
	}
	f(v)
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
	if !d.enter(n) {
		return
	}
	defer d.leave(n)
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping", what)
		return
	}
	for _, e := range d.entries(n, what) {
		if d.over {
			return
		}
		if d.enter(e.v) {
			f(e.k, resolve(e.v))
			d.leave(e.v)
		}
	}
}

// entry is one key of a mapping and its value (an alias left as such).
type entry struct{ k, v *yaml.Node }

// entries are the keys of mapping n, merge keys expanded: `<<: *a` (or a
// list, `<<: [*a, *b]`) adds the keys of the mappings named that n does not
// set itself, an earlier mapping's over a later one's. Merged keys come
// first, so that n's own are read last and win where keys interact (route
// and layer replace each other). A key n sets twice is an error.
func (d *decoder) entries(n *yaml.Node, what string) []entry {
	var own, merged []entry
	set := map[string]bool{}
	var sources []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !d.visit(k) {
			return nil
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == mergeTag {
			sources = append(sources, d.mergeSources(v)...)
			continue
		}
		if set[k.Value] {
			d.errorf(k, "%q is set twice in %s", k.Value, what)
			continue
		}
		set[k.Value] = true
		own = append(own, entry{k, v})
	}
	for _, src := range sources {
		if !d.enter(src) {
			continue
		}
		for _, e := range d.entries(resolve(src), what) {
			if !set[e.k.Value] {
				set[e.k.Value] = true
				merged = append(merged, e)
			}
		}
		d.leave(src)
	}
	return append(merged, own...)
}

const mergeTag = "!!merge"

// mergeSources are the mappings a merge key names: one, or a list of them.
func (d *decoder) mergeSources(v *yaml.Node) []*yaml.Node {
	isMap := func(n *yaml.Node) bool { return resolve(n).Kind == yaml.MappingNode }
	if isMap(v) {
		return []*yaml.Node{v}
	}
	if r := resolve(v); r.Kind == yaml.SequenceNode {
		ok := true
		for _, item := range r.Content {
			ok = ok && isMap(item)
		}
		if ok {
			return r.Content
		}
	}
	d.errorf(v, "<< merges a mapping or a list of mappings, like <<: *defaults or <<: [*a, *b]")
	return nil
}

// list walks a sequence.
func (d *decoder) list(n *yaml.Node, what string, f func(item *yaml.Node)) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a list", what)
		return
	}
	for _, item := range n.Content {
		if !d.visit(item) {
			return
		}
		if d.enter(item) {
			f(resolve(item))
			d.leave(item)
		}
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
	if !d.enter(n) {
		return nil
	}
	defer d.leave(n)
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		d.pairs(n, "a mapping", func(k, v *yaml.Node) { m[k.Value] = d.plain(v) })
		return m
	case yaml.SequenceNode:
		l := []any{}
		for _, item := range n.Content {
			if !d.visit(item) {
				return l
			}
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
