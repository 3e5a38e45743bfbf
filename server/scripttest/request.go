package scripttest

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	"go.yaml.in/yaml/v3"
)

// Request defaults: the API documentation's example call, so a case need
// only say what it is about.
const (
	// DefaultDID is the number the caller dialled.
	DefaultDID = "0722776772"
	// DefaultCallerID is the caller's number.
	DefaultCallerID = "0501234567"
	// DefaultUniqueID is the call's IVR_UNIQUE_ID, the key of its state.
	DefaultUniqueID = "ivrouter-test-call"
)

// Request fields, named as the call table names them.
const (
	fieldDID        = "did"
	fieldCallerID   = "caller_id"
	fieldUniqueID   = "ivr_unique_id"
	fieldDTMF       = "dtmf"
	fieldLayerID    = "layer_id"
	fieldPrevious   = "previous_layer_id"
	fieldCustomData = "custom_data"
)

var requestFields = []string{fieldDID, fieldCallerID, fieldUniqueID, fieldDTMF, fieldLayerID, fieldPrevious, fieldCustomData}

// request is a call's fields as a file, case or step sets them; a lower
// level's fields replace the upper's one by one.
type request map[string]reqField

type reqField struct {
	text   string
	custom map[string]any // custom_data only
	line   int
}

func defaultRequest() request {
	return request{
		fieldDID:      {text: DefaultDID},
		fieldCallerID: {text: DefaultCallerID},
		fieldUniqueID: {text: DefaultUniqueID},
	}
}

func (r request) clone() request { return maps.Clone(r) }

// request reads a request mapping into r, over what r already holds. If
// the mapping sets ivr_unique_id it returns where: its key, or the mapping
// when the key comes from a merge (<<).
func (d *decoder) request(n *yaml.Node, r request) (uniqueID *yaml.Node) {
	keys := map[string]func(*yaml.Node){}
	for _, name := range requestFields {
		keys[name] = func(v *yaml.Node) {
			if name == fieldCustomData {
				r[name] = reqField{custom: d.customData(v), line: v.Line}
				return
			}
			r[name] = reqField{text: d.text(v, name), line: v.Line}
		}
	}
	d.pairs(n, "request", func(k, v *yaml.Node) {
		if k.Value == fieldUniqueID {
			uniqueID = n
			if slices.Contains(resolve(n).Content, k) {
				uniqueID = k
			}
		}
		d.field(k, v, "request", keys)
	})
	return uniqueID
}

// customData reads CUSTOM_DATA, flat as Voicenter carries it.
func (d *decoder) customData(n *yaml.Node) map[string]any {
	m := map[string]any{}
	d.pairs(n, "custom_data", func(k, v *yaml.Node) {
		if v.Kind != yaml.ScalarNode {
			d.errorf(v, "custom_data is flat: %s must be a string, number or boolean", k.Value)
			return
		}
		m[k.Value] = d.scalar(v)
	})
	return m
}

// wireData is DATA as Voicenter sends it: every ID a string.
type wireData struct {
	DID        string          `json:"DID"`
	CallerID   string          `json:"CALLER_ID"`
	UniqueID   string          `json:"IVR_UNIQUE_ID"`
	DTMF       string          `json:"DTMF,omitempty"`
	LayerID    string          `json:"LAYER_ID"`
	Previous   string          `json:"PREVIOUS_LAYER_ID,omitempty"`
	CustomData json.RawMessage `json:"CUSTOM_DATA,omitempty"`
}

// request is what a step sends: a call's request, or a CDR.
func (s *step) request() Request {
	if s.cdr != nil {
		return Request{CDR: s.cdr, At: s.at}
	}
	return Request{Path: s.path(), Body: s.body(), At: s.at}
}

// sent is the step's request as a failure (or -v) shows it.
func (s *step) sent() string {
	if s.cdr != nil {
		return "cdr: " + s.target.route + " " + string(s.cdrRaw)
	}
	return "request: POST " + s.path() + " " + string(s.body())
}

// path and body are the HTTP request a step makes.
func (s *step) path() string {
	if s.target.isLayer {
		return "/"
	}
	return "/" + s.target.route
}

func (s *step) body() []byte {
	r := s.req
	data := wireData{
		DID: r[fieldDID].text, CallerID: r[fieldCallerID].text, UniqueID: r[fieldUniqueID].text,
		DTMF: r[fieldDTMF].text, LayerID: r[fieldLayerID].text, Previous: r[fieldPrevious].text,
	}
	if s.target.isLayer {
		data.LayerID = itoa(s.target.layer)
	} else if data.LayerID == "" {
		data.LayerID = "0"
	}
	if f, ok := r[fieldCustomData]; ok {
		data.CustomData, _ = json.Marshal(f.custom) // flat scalars: cannot fail
	}
	return wireBody(data)
}

// wireBody is an IVR_LAYER_INPUT request holding data.
func wireBody(data wireData) []byte {
	b, _ := json.Marshal(struct {
		Method string   `json:"METHOD"`
		Data   wireData `json:"DATA"`
	}{ivr.Method, data})
	return b
}

func itoa(n int) string { return strconv.Itoa(n) }
