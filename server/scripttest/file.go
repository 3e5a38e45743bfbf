package scripttest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/server"
	"github.com/ivrouter/ivrouter/server/cdr"
	"go.yaml.in/yaml/v3"
)

// DefaultAt is the frozen instant of cases that name none: a Monday, 10:00
// in Israel (08:00 UTC, where the time module is unless the test or
// --timezone names a zone), inside office hours, so a script's time rules
// take their everyday branch unless a case says otherwise. Never the real
// clock: a test must not pass in the morning and fail at night.
var DefaultAt = time.Date(2026, time.January, 5, 10, 0, 0, 0, time.FixedZone("IST", 2*60*60))

// MaxFileBytes bounds a test file's size.
const MaxFileBytes = 4 << 20

// testFile is one parsed test file.
type testFile struct {
	path  string // as found under the scripts directory, for file:line
	rel   string // relative to it, for --run
	cases []*testCase
	stubs []*stub // the file's own, which every case falls back on
	env   map[string]string
}

// testCase is one case: a single request, or several steps of one call.
type testCase struct {
	name  string
	line  int
	env   map[string]string // the file's, with the case's over them
	stubs [2][]*stub        // the case's, then the file's (shared): first match wins
	zone  *time.Location    // the time module's; nil: the base config's, else UTC
	cache map[string]any
	state map[string]any
	call  string // IVR_UNIQUE_ID: the state seed's key
	steps []*step
}

// step is one request of a case with its settings merged down from the
// file and the case: a call's request, or a CDR for the events script.
type step struct {
	line   int
	target target
	at     time.Time
	req    request
	expect expect
	cdr    *cdr.Record // a CDR step's (target.isEvent), as the server reads it
	cdrRaw []byte      // and as Voicenter would post it
}

// target is where a request goes: POST /route, or POST / for a layer.
type target struct {
	route   string
	layer   int
	isLayer bool
	set     bool
	line    int
}

// defaults are what a file or a case passes down to its steps.
type defaults struct {
	target target
	at     time.Time
	zone   *time.Location
	req    request
	cdr    cdrFields
	// reqAt and cdrAt are the lines where this level (the case or step
	// being read) sets request: and cdr:, 0 where it does not.
	reqAt, cdrAt int
}

// readFile parses one test file; the error lists every problem by line.
func readFile(path, rel string) (*testFile, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s:1: empty test file: want a mapping with cases", path)
		}
		return nil, yamlError(path, err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s:%d: one YAML document per test file", path, more.Line)
	}
	d := &decoder{path: path}
	f := d.file(doc.Content[0], path, rel)
	return f, d.err()
}

// readLimited reads a test file: a regular file (a FIFO would block, a
// link to a device never end) of at most MaxFileBytes.
func readLimited(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s:1: the test file is larger than %d MiB", path, MaxFileBytes>>20)
	}
	return data, nil
}

// file reads the top level: the file's defaults, then its cases.
func (d *decoder) file(n *yaml.Node, path, rel string) *testFile {
	env := map[string]string{}
	f := &testFile{path: path, rel: rel, env: env}
	def := defaults{at: DefaultAt, req: defaultRequest(), cdr: cdrFields{}}
	var stubs []*stub
	var cases *yaml.Node
	keys := d.defaultKeys(&def)
	keys["env"] = func(v *yaml.Node) {
		d.pairs(v, "env", func(k, v *yaml.Node) { env[k.Value] = d.text(v, "env "+k.Value) })
	}
	keys["http"] = func(v *yaml.Node) { stubs = d.stubs(v); f.stubs = stubs }
	keys["cases"] = func(v *yaml.Node) { cases = v }
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "a test file is a mapping with cases: and its defaults")
		return f
	}
	d.fields(n, "the test file", keys)
	if cases == nil {
		d.errorf(n, "no cases: a test file lists them under cases:")
		return f
	}
	d.list(cases, "cases", func(c *yaml.Node) { f.cases = append(f.cases, d.testCase(c, def, env, stubs)) })
	if len(f.cases) == 0 {
		d.errorf(cases, "cases is empty")
	}
	return f
}

// defaultKeys are the keys a file, a case and a step share: each level's
// values override the one above.
func (d *decoder) defaultKeys(def *defaults) map[string]func(*yaml.Node) {
	def.req, def.cdr = def.req.clone(), def.cdr.clone()
	def.reqAt, def.cdrAt = 0, 0
	return map[string]func(*yaml.Node){
		"route": func(v *yaml.Node) {
			def.target = target{route: d.text(v, "route"), set: true, line: v.Line}
		},
		"layer": func(v *yaml.Node) {
			def.target = target{layer: d.integer(v, "layer", 0, ivr.MaxLayer), isLayer: true, set: true, line: v.Line}
		},
		"at":       func(v *yaml.Node) { def.at = d.instant(v) },
		"timezone": func(v *yaml.Node) { def.zone = d.timezone(v) },
		"request":  func(v *yaml.Node) { d.request(v, def.req); def.reqAt = v.Line },
		"cdr":      func(v *yaml.Node) { d.cdr(v, def.cdr); def.cdrAt = v.Line },
	}
}

// timezone reads an IANA zone name. "Local" is refused: the machine's zone
// is what the key is there to keep out.
func (d *decoder) timezone(n *yaml.Node) *time.Location {
	name := d.text(n, "timezone")
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if name == "" || name == "Local" || err != nil {
		d.errorf(n, "timezone must be an IANA zone like Asia/Jerusalem or UTC, got %q", name)
		return nil
	}
	return loc
}

func (d *decoder) instant(n *yaml.Node) time.Time {
	s := d.text(n, "at")
	if s == "" {
		return DefaultAt
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		d.errorf(n, "at must be an RFC 3339 instant like 2026-12-01T10:00:00+02:00, got %q", n.Value)
		return DefaultAt
	}
	return t
}

func (d *decoder) testCase(n *yaml.Node, def defaults, env map[string]string, fileStubs []*stub) *testCase {
	c := &testCase{line: n.Line, env: env}
	c.stubs[1] = fileStubs
	var steps, exp *yaml.Node
	keys := d.defaultKeys(&def)
	keys["name"] = func(v *yaml.Node) { c.name = d.text(v, "name") }
	keys["env"] = func(v *yaml.Node) {
		c.env = maps.Clone(env) // the file's, then the case's over them
		d.pairs(v, "env", func(k, v *yaml.Node) { c.env[k.Value] = d.text(v, "env "+k.Value) })
	}
	keys["http"] = func(v *yaml.Node) { c.stubs[0] = d.stubs(v) }
	keys["cache"] = func(v *yaml.Node) { c.cache = d.seed(v, "cache") }
	keys["state"] = func(v *yaml.Node) { c.state = d.seed(v, "state") }
	keys["steps"] = func(v *yaml.Node) { steps = v }
	keys["expect"] = func(v *yaml.Node) { exp = v }
	d.fields(n, "a case", keys)
	if c.name == "" {
		d.errorf(n, "a case needs a name")
	}
	c.zone = def.zone
	c.call = def.req[fieldUniqueID].text
	switch {
	case steps != nil && exp != nil:
		d.errorf(exp, "a case with steps has its expectations in each step")
	case steps != nil:
		d.list(steps, "steps", func(s *yaml.Node) { c.steps = append(c.steps, d.step(s, def)) })
		if len(c.steps) == 0 {
			d.errorf(steps, "steps is empty")
		}
	default:
		c.steps = []*step{d.finish(n, def, exp)}
		if rec := c.steps[0].cdr; rec != nil {
			c.call = rec.CallID // the state a CDR's script sees is its call's
		}
	}
	return c
}

func (d *decoder) step(n *yaml.Node, def defaults) *step {
	var exp *yaml.Node
	keys := d.defaultKeys(&def)
	keys["request"] = func(v *yaml.Node) {
		if id := d.request(v, def.req); id != nil {
			d.errorf(id, "a step cannot change ivr_unique_id: the steps of a case are one call")
		}
		def.reqAt = v.Line
	}
	// One server answers a case's steps, as one server answers a call in
	// production: its zone cannot change between them.
	keys["timezone"] = func(v *yaml.Node) {
		d.errorf(v, "timezone is the server's, one for the whole call: set it on the case or the file")
	}
	keys["expect"] = func(v *yaml.Node) { exp = v }
	d.fields(n, "a step", keys)
	s := d.finish(n, def, exp)
	if s.cdr != nil && s.cdr.CallID != def.req[fieldUniqueID].text {
		line := n.Line
		if f, ok := def.cdr["ivruniqueid"]; ok {
			line = f.line
		}
		d.errorAt(line, "a step's CDR is its case's call: its ivruniqueid %q is not the case's ivr_unique_id %q", s.cdr.CallID, def.req[fieldUniqueID].text)
	}
	return s
}

// finish checks what a step ends up with and reads its expectations.
func (d *decoder) finish(n *yaml.Node, def defaults, exp *yaml.Node) *step {
	s := &step{line: n.Line, target: def.target, at: def.at, req: def.req}
	if !def.target.set {
		d.errorf(n, "no route or layer: say where the request goes (route: NAME for POST /NAME, layer: N for POST / with LAYER_ID N)")
	}
	if f, ok := def.req[fieldLayerID]; ok && def.target.isLayer {
		d.errorAt(f.line, "layer_id is set by layer: %d (line %d): set one of them", def.target.layer, def.target.line)
	}
	s.expect = d.expect(exp, def.target.isEvent())
	switch {
	case def.target.isEvent():
		if def.reqAt != 0 {
			d.errorAt(def.reqAt, "a CDR is no IVR request: give its fields under cdr:, not request:")
		}
		s.cdr, s.cdrRaw = d.cdrRecord(n, def)
	case def.cdrAt != 0 && def.target.set:
		d.errorAt(def.cdrAt, "cdr: is for route: %s (a CDR), and this request goes to %s", server.CDRScript, def.target)
	}
	return s
}

func (d *decoder) seed(n *yaml.Node, what string) map[string]any {
	m := map[string]any{}
	d.pairs(n, what, func(k, v *yaml.Node) { m[k.Value] = d.plain(v) })
	return m
}

// yamlError names the parser's error by file:line, as every other
// problem is: the parser says "yaml: line N: message".
func yamlError(path string, err error) error {
	var line int
	msg := err.Error()
	if n, _ := fmt.Sscanf(msg, "yaml: line %d:", &line); n == 1 {
		_, msg, _ = strings.Cut(msg, ": ")
		_, msg, _ = strings.Cut(msg, ": ")
		return fmt.Errorf("%s:%d: %s", path, line, msg)
	}
	return fmt.Errorf("%s: %s", path, strings.TrimPrefix(msg, "yaml: "))
}
