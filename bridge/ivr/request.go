package ivr

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"

	"github.com/valyala/fastjson"
)

// Method is the only METHOD Voicenter sends to an external layer.
const Method = "IVR_LAYER_INPUT"

// DefaultDTMF is what Voicenter reports when the caller pressed nothing; a
// request without DTMF means the same thing.
const DefaultDTMF = "0"

// Request is one IVR_LAYER_INPUT request. It owns its strings, so it may
// outlive the buffer it was decoded from.
type Request struct {
	DID             string
	CallerID        string
	UniqueID        string // IVR_UNIQUE_ID: the same for every layer of one call
	DTMF            string
	LayerID         int
	PreviousLayerID int
	HasPrevious     bool    // PREVIOUS_LAYER_ID was present and numeric
	CustomData      []Field // CUSTOM_DATA, in arrival order, bounded (MaxRequestFields)
	HasCustomData   bool    // CUSTOM_DATA was an object or a string holding one
}

// A Field is one entry of a flat CUSTOM_DATA object. Values are strings both
// ways: Voicenter's SDK keeps CUSTOM_DATA values as strings (CallCustomParam),
// so a number sent as 12 could come back as "12" anyway.
type Field struct {
	Key   string
	Value string
}

// ErrBadRequest is wrapped by every error Decode returns, so callers can tell
// bad input from their own faults with errors.Is.
var ErrBadRequest = errors.New("bad request")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadRequest}, args...)...)
}

var parsers fastjson.ParserPool

// Decode parses an IVR_LAYER_INPUT body. It accepts what Voicenter is known
// to send as well as what its documentation describes: IDs as JSON strings or
// numbers, DATA as an object or as a string holding one, and field names with
// stray spaces or in any case.
func Decode(body []byte, r *Request) error {
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		return badRequest("body is not JSON: %v", err)
	}
	top, err := v.Object()
	if err != nil {
		return badRequest("body is a JSON %s, want an object", v.Type())
	}
	var method, data *fastjson.Value
	top.Visit(func(k []byte, v *fastjson.Value) {
		switch {
		case keyIs(k, "METHOD"):
			method = v
		case keyIs(k, "DATA"):
			data = v
		}
	})
	if method == nil {
		return badRequest("METHOD is missing, want %q", Method)
	}
	if m, _ := method.StringBytes(); string(m) != Method {
		return badRequest("METHOD is %s, want %q", clip(method.String()), Method)
	}
	if data == nil || data.Type() == fastjson.TypeNull {
		return badRequest("DATA is missing")
	}
	obj, err := dataObject(data)
	if err != nil {
		return err
	}
	return decodeData(obj, r)
}

// dataObject accepts DATA as an object or, as the documentation's field table
// types it, a string holding a JSON object.
func dataObject(data *fastjson.Value) (*fastjson.Object, error) {
	switch data.Type() {
	case fastjson.TypeObject:
		return data.GetObject(), nil
	case fastjson.TypeString:
		s, _ := data.StringBytes()
		var p fastjson.Parser
		inner, err := p.ParseBytes(s)
		if err != nil || inner.Type() != fastjson.TypeObject {
			return nil, badRequest("DATA is a string that does not hold a JSON object")
		}
		return inner.GetObject(), nil
	}
	return nil, badRequest("DATA is a JSON %s, want an object", data.Type())
}

func decodeData(obj *fastjson.Object, r *Request) error {
	// A pooled Request mostly decodes the same DID and DTMF again: reusing
	// its strings when the bytes match saves an allocation per field.
	prev := *r
	*r = Request{DTMF: DefaultDTMF, CustomData: r.CustomData[:0]}
	var layer, previous *fastjson.Value
	var err error
	obj.Visit(func(k []byte, v *fastjson.Value) {
		if err != nil {
			return
		}
		switch {
		case keyIs(k, "DID"):
			r.DID, err = text(v, "DID", prev.DID)
		case keyIs(k, "CALLER_ID"):
			r.CallerID, err = text(v, "CALLER_ID", prev.CallerID)
		case keyIs(k, "IVR_UNIQUE_ID"):
			r.UniqueID, err = text(v, "IVR_UNIQUE_ID", prev.UniqueID)
		case keyIs(k, "DTMF"):
			var d string
			if d, err = text(v, "DTMF", prev.DTMF); d != "" {
				r.DTMF = d
			}
		case keyIs(k, "LAYER_ID"):
			layer = v
		case keyIs(k, "PREVIOUS_LAYER_ID"):
			previous = v
		case keyIs(k, "CUSTOM_DATA"):
			r.CustomData, r.HasCustomData = appendFields(r.CustomData, v)
		}
	})
	if err != nil {
		return err
	}
	if layer == nil {
		return badRequest("DATA.LAYER_ID is missing")
	}
	id, ok := layerNumber(layer)
	if !ok {
		return badRequest("DATA.LAYER_ID is %s, want a layer number", clip(layer.String()))
	}
	r.LayerID = id
	// PREVIOUS_LAYER_ID is informational: a value that is not a layer number
	// must not cost the caller the call, so it reads as absent.
	if previous != nil {
		r.PreviousLayerID, r.HasPrevious = layerNumber(previous)
	}
	return nil
}

// text reads a field documented as a string; numbers arrive too, and keep
// their JSON spelling. It returns prev, not a copy, when that is the text.
func text(v *fastjson.Value, name, prev string) (string, error) {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		if string(b) == prev {
			return prev, nil
		}
		return string(b), nil
	case fastjson.TypeNumber:
		// fastjson also reads NaN, Inf and 1-2 as numbers; JSON does not.
		if n := v.MarshalTo(nil); jsonNumber.Match(n) {
			return string(n), nil
		}
	case fastjson.TypeNull:
		return "", nil
	}
	return "", badRequest("DATA.%s is %s, want a string", name, clip(v.String()))
}

var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// layerNumber reads a layer ID sent as a JSON string ("5", the documented
// examples) or number (5, the documented type).
func layerNumber(v *fastjson.Value) (int, bool) {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return ParseLayer(string(trimSpace(b)))
	case fastjson.TypeNumber:
		f, err := v.Float64()
		if err != nil || f < 0 || f > MaxLayer || f != math.Trunc(f) {
			return 0, false
		}
		return int(f), true
	}
	return 0, false
}

// MaxLayer bounds layer numbers so they always fit Voicenter's integer fields.
const MaxLayer = math.MaxInt32

// ParseLayer reads a decimal layer number.
func ParseLayer(s string) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > MaxLayer {
		return 0, false
	}
	return n, true
}

// Bounds on the CUSTOM_DATA a request brings, which every later layer of a
// call carries: Voicenter's SDK keeps values of 128 characters at most, so
// these leave room while keeping one request from filling a script's call
// table. Fields past them are left out, not the call: like
// PREVIOUS_LAYER_ID, CUSTOM_DATA only informs the script.
const (
	MaxRequestFields    = 64   // fields past the 64th are left out
	MaxRequestFieldSize = 1024 // bytes of a key or value; a longer field is left out
)

// appendFields reads CUSTOM_DATA, an object or, as the documentation types
// it, a string holding one, into strings as a script reads them: strings as
// sent, numbers, booleans and nested values as their JSON text. A null is
// left out: a Lua table cannot hold it. Anything else reads as absent.
func appendFields(dst []Field, v *fastjson.Value) ([]Field, bool) {
	if v.Type() == fastjson.TypeString {
		s, _ := v.StringBytes()
		p := parsers.Get()
		defer parsers.Put(p) // after the Visit below: obj lives in p
		var err error
		if v, err = p.ParseBytes(s); err != nil {
			return dst, false
		}
	}
	obj, err := v.Object()
	if err != nil {
		return dst, false
	}
	obj.Visit(func(k []byte, v *fastjson.Value) {
		if len(dst) >= MaxRequestFields || len(k) > MaxRequestFieldSize || v.Type() == fastjson.TypeNull {
			return
		}
		if text := fieldText(v); len(text) <= MaxRequestFieldSize {
			dst = append(dst, Field{Key: string(k), Value: string(text)})
		}
	})
	return dst, true
}

// fieldText is a CUSTOM_DATA value's text: a string's own bytes, anything
// else as JSON (numbers as they were written).
func fieldText(v *fastjson.Value) []byte {
	if v.Type() == fastjson.TypeString {
		b, _ := v.StringBytes()
		return b
	}
	return v.MarshalTo(nil)
}

// keyIs matches a field name the way Voicenter's documentation spells them:
// ignoring spaces ("CALLER_ NAME") and letter case.
func keyIs(k []byte, want string) bool {
	j := 0
	for _, c := range k {
		if c == ' ' || c == '\t' {
			continue
		}
		if j >= len(want) || upper(c) != want[j] {
			return false
		}
		j++
	}
	return j == len(want)
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// clip keeps error messages short when a client sends a huge value.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
