package scripttest

import (
	"encoding/json"
	"errors"
	"maps"
	"math"
	"strings"
	"time"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/server"
	"github.com/ivrouter/ivrouter/server/cdr"
	"go.yaml.in/yaml/v3"
)

// A step whose route is server.CDRScript (route: events/cdr) is a CDR: the
// fields of its cdr: mapping, as Voicenter sends them, go through the CDR
// parser to the events script, which the Harness runs on the runner's
// goroutine. Its outcome, error, log lines and requests are checked as a
// call's are; it has no answer.

// CDR fields the test files may set, under Voicenter's lowercase names:
// those the events script's table has (cdr.Record.Table).
var (
	cdrText = []string{"ivruniqueid", "caller", "target", "did", "type", "status", "queuename", "record",
		"representative_name", "representative_code", "targetextension", "callerextension",
		"targetextension_name", "callerextension_name", "target_country", "caller_country"}
	cdrWhole = []string{"duration", "dialtime", "queueid"}
)

// CDR defaults that do not come from the request fields.
const (
	// DefaultCDRType and DefaultCDRStatus are a CDR's type and status
	// when its case does not give them: an incoming call, answered.
	DefaultCDRType   = "Incoming Call"
	DefaultCDRStatus = "ANSWER"
)

// cdrFields are a CDR's fields as a file, case or step sets them, each a
// JSON value as it is sent; a lower level's replace the upper's one by
// one (ivr and custom_data whole).
type cdrFields map[string]cdrField

type cdrField struct {
	value any
	line  int
}

// isEvent reports whether the target is an events script (route:
// events/NAME), which receives what Voicenter reports, not a call.
func (t target) isEvent() bool {
	return !t.isLayer && strings.HasPrefix(t.route, luavm.EventsDir+"/")
}

// cdr reads a cdr mapping into f, over what f already holds.
func (d *decoder) cdr(n *yaml.Node, f cdrFields) {
	keys := map[string]func(*yaml.Node){}
	for _, name := range cdrText {
		keys[name] = func(v *yaml.Node) {
			s := d.text(v, "cdr "+name)
			if name == "ivruniqueid" && strings.TrimSpace(s) == "" && v.Kind == yaml.ScalarNode && v.ShortTag() != "!!null" {
				d.errorf(v, "cdr ivruniqueid must not be empty: Voicenter's CDR always has one")
			}
			f[name] = cdrField{value: s, line: v.Line}
		}
	}
	for _, name := range cdrWhole {
		keys[name] = func(v *yaml.Node) {
			f[name] = cdrField{value: d.integer(v, "cdr "+name, 0, math.MaxInt32), line: v.Line}
		}
	}
	keys["price"] = func(v *yaml.Node) {
		p, ok := d.scalar(v).(float64)
		if v.Kind != yaml.ScalarNode || !ok {
			d.errorf(v, "cdr price must be a number, got %q", v.Value)
		}
		f["price"] = cdrField{value: p, line: v.Line}
	}
	keys["time"] = func(v *yaml.Node) { f["time"] = cdrField{value: d.cdrTime(v), line: v.Line} }
	keys["ivr"] = func(v *yaml.Node) { f["ivr"] = cdrField{value: d.cdrSteps(v), line: v.Line} }
	keys["custom_data"] = func(v *yaml.Node) { f["custom_data"] = cdrField{value: d.customData(v), line: v.Line} }
	d.fields(n, "cdr", keys)
}

// cdrTime reads the call's time: unix seconds, as Voicenter sends it, or
// an RFC 3339 instant, sent as unix seconds.
func (d *decoder) cdrTime(n *yaml.Node) int64 {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		return int64(d.integer(n, "cdr time", 0, math.MaxInt32))
	}
	t, err := time.Parse(time.RFC3339, d.text(n, "cdr time"))
	if err != nil && n.Kind == yaml.ScalarNode {
		d.errorf(n, "cdr time must be unix seconds or an RFC 3339 instant like 2026-12-01T10:05:00+02:00, got %q", n.Value)
	}
	return t.Unix()
}

// cdrSteps reads the layers the call went through.
func (d *decoder) cdrSteps(n *yaml.Node) []any {
	steps := []any{}
	d.list(n, "cdr ivr", func(item *yaml.Node) {
		st := map[string]any{}
		whole := func(name string, hi int) func(*yaml.Node) {
			return func(v *yaml.Node) { st[name] = d.integer(v, "ivr "+name, 0, hi) }
		}
		text := func(name string) func(*yaml.Node) {
			return func(v *yaml.Node) { st[name] = d.text(v, "ivr "+name) }
		}
		d.fields(item, "an ivr step", map[string]func(*yaml.Node){
			"layer_id":     whole("layer_id", ivr.MaxLayer),
			"layer_name":   text("layer_name"),
			"layer_number": whole("layer_number", math.MaxInt32),
			"dtmf":         text("dtmf"),
			"dtmf_order":   whole("dtmf_order", math.MaxInt32),
		})
		steps = append(steps, st)
	})
	return steps
}

// cdrRecord is the CDR a step sends, as Voicenter would post it (JSON)
// and as the server reads it: the step's fields over the defaults, which
// the step's request fields and clock give (ivruniqueid, caller, did,
// time), and DefaultCDRType and DefaultCDRStatus.
func (d *decoder) cdrRecord(n *yaml.Node, def defaults) (*cdr.Record, []byte) {
	if def.target.route != server.CDRScript {
		d.errorAt(def.target.line, "route %s: the events script a test can run is %s (on the CDR its cdr: gives)", def.target.route, server.CDRScript)
		return nil, nil
	}
	fields := map[string]any{
		"ivruniqueid": def.req[fieldUniqueID].text,
		"caller":      def.req[fieldCallerID].text,
		"did":         def.req[fieldDID].text,
		"time":        def.at.Unix(),
		"type":        DefaultCDRType,
		"status":      DefaultCDRStatus,
	}
	for k, f := range def.cdr {
		fields[k] = f.value
	}
	body, _ := json.Marshal(fields) // plain data: cannot fail
	rec, _, err := cdr.Parse("application/json", body)
	if err != nil {
		if _, set := def.cdr["ivruniqueid"]; !set || !errors.Is(err, cdr.ErrMissingCallID) { // else said where it is set
			d.errorf(n, "the CDR does not parse: %v", err)
		}
		return nil, nil
	}
	return rec, body
}

func (f cdrFields) clone() cdrFields { return maps.Clone(f) }

// String is where a request goes, as messages name it.
func (t target) String() string {
	if t.isLayer {
		return "layer " + itoa(t.layer)
	}
	return "route " + t.route
}
