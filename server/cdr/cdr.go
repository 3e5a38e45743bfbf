// Package cdr parses Voicenter's CDR Notification: the call detail record
// Voicenter POSTs to a customer's URL after every call, so that a script can
// log it, join it to the call it routed, or act on how the call ended.
//
// The format is Voicenter's "CDR Notification System API"
// (https://www.voicenter.com/API/CDR-Notification-System-API) and the sample
// request in Voicenter's own SDK (VoicenterTeam/VoicenterWebSDK,
// CdrRequest.json and libs/CdrRequest.js). Neither is a schema, and the
// sender is not strict about types, so the parser is liberal: numbers may
// arrive as strings and strings as numbers, key casing varies, IVR and
// CUSTOM_DATA may be structures or JSON text holding them, and fields nobody
// documented are kept rather than dropped.
//
// Voicenter sends the record in one of three encodings, chosen per account:
//
//   - POST-JSON: one JSON object whose members are the record's fields. IVR
//     is usually a JSON string holding an array of steps (the SDK sample),
//     but an actual array is accepted.
//   - XML-RPC: a <methodCall> whose first <param> is a <struct>; each
//     <member> is a field. Values may be typed (string, int, i4, i8, double,
//     boolean, dateTime.iso8601, base64, nil, struct, array) or untyped text.
//     IVR may be an <array> of <struct>s or a JSON string; CUSTOM_DATA a
//     <struct> or a JSON string.
//   - application/x-www-form-urlencoded: key=value pairs, with IVR and
//     CUSTOM_DATA as JSON strings, or PHP-style (IVR[0][layer_id]=...,
//     CUSTOM_DATA[key]=...), which is what PHP's http_build_query makes of
//     nested arrays.
//
// Whatever the encoding, the receiver answers HTTP 200 with
// {"Err":0,"Errdesc":"OK"} (or its XML-RPC methodResponse equivalent):
// [AppendAnswer] writes it and [ContentType] gives its type.
//
// Everything is bounded, because the body comes from the network: see
// [MaxFields], [MaxSteps], [MaxCustomData], [MaxString] and [MaxDepth]. The
// caller bounds the body's size. Parse never panics.
package cdr

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds on what a record may hold. Past a count bound the rest is dropped
// (the record stays usable); a string past MaxString is cut on a UTF-8
// boundary; nesting past MaxDepth is an error, since no real CDR comes near it.
const (
	// MaxFields is how many top-level fields are read; later ones are ignored,
	// so a field that matters (ivruniqueid) must come among the first.
	MaxFields = 256
	// MaxSteps is how many IVR steps are kept, in the order sent.
	MaxSteps = 512
	// MaxCustomData is how many CUSTOM_DATA fields are kept: the first ones
	// sent, then sorted by key.
	MaxCustomData = 64
	// MaxString is the most bytes kept of any string: a field's value, a key,
	// a step's name, a custom data value.
	MaxString = 4 << 10
	// MaxDepth is the deepest nesting accepted: JSON objects and arrays, or
	// XML elements.
	MaxDepth = 64
)

// maxItems and maxMembers bound every array and object read, not only the
// record's own, so that an undocumented field cannot hold a huge structure.
const (
	maxItems   = MaxSteps
	maxMembers = MaxFields
)

// ErrMissingCallID is returned for a record without ivruniqueid: it cannot be
// joined to the call it describes, so a handler should not pretend it can.
var ErrMissingCallID = errors.New("cdr: missing ivruniqueid")

// Record is one call's CDR with Voicenter's fields typed, so that Go code and
// scripts do not each have to guess whether "38" or 38 arrived.
type Record struct {
	CallID              string    // ivruniqueid: joins the CDR to the IVR requests of the same call
	Caller              string    // caller
	Target              string    // target: a phone number (with country prefix) or an extension
	DID                 string    // did: the number called
	Type                string    // type, e.g. "Incoming Call"
	Status              string    // status, e.g. "ANSWER"
	Time                time.Time // time (unix seconds), in UTC; zero if absent
	Duration            int       // duration, seconds
	DialTime            int       // dialtime, seconds
	QueueID             int       // queueid
	QueueName           string    // queuename
	RecordURL           string    // record: the recording's URL
	Price               float64   // price
	RepresentativeName  string    // representative_name
	RepresentativeCode  string    // representative_code
	TargetExtension     string    // targetextension
	CallerExtension     string    // callerextension
	TargetExtensionName string    // targetextension_name
	CallerExtensionName string    // callerextension_name
	TargetCountry       string    // target_country
	CallerCountry       string    // caller_country
	IVR                 []Step    // IVR: the layers the call went through, in order
	CustomData          []Field   // CUSTOM_DATA, sorted by key, values as strings
	Extra               []Field   // every other top-level field, sorted by key, values as strings
}

// Step is one IVR layer the call passed through, so that a script can tell
// which menu a caller reached and what they pressed there.
type Step struct {
	LayerID     int    // layer_id
	LayerName   string // layer_name
	LayerNumber int    // layer_number
	DTMF        string // Dtmf (any casing): a string, since digits like "01" or "*" are not numbers
	Order       int    // dtmf_order
}

// Field is a key and its value as text, kept as pairs in a slice (not a map)
// so that their order is stable and comparisons in tests are simple.
type Field struct {
	Key, Value string
}

// Encoding is how a CDR arrived; the answer must use the same one.
type Encoding int

// The three encodings Voicenter offers for CDR notifications.
const (
	// JSON is POST-JSON: one JSON object.
	JSON Encoding = iota
	// XMLRPC is an XML-RPC methodCall with one struct param.
	XMLRPC
	// Form is application/x-www-form-urlencoded.
	Form
)

// String names the encoding for logs and metrics labels.
func (e Encoding) String() string {
	switch e {
	case JSON:
		return "json"
	case XMLRPC:
		return "xml-rpc"
	case Form:
		return "form"
	}
	return "Encoding(" + strconv.Itoa(int(e)) + ")"
}

// Parse decodes a CDR notification body. The encoding comes from contentType
// (application/json, text/xml or application/xml, or
// application/x-www-form-urlencoded, with any parameters); when it is missing
// or generic (text/plain, application/octet-stream, anything else), the
// body's first non-space byte decides: '{' JSON, '<' XML-RPC, else form.
//
// The Encoding is returned even with an error, so that the caller can answer
// in the encoding the sender expects. Errors begin "cdr: " and name the
// encoding ("cdr: json: ...", "cdr: xml-rpc: ...", "cdr: form: ..."). A
// record without ivruniqueid is an error ([ErrMissingCallID]). The returned
// Record does not alias body.
func Parse(contentType string, body []byte) (*Record, Encoding, error) {
	body = trimBOM(body)
	enc := detect(contentType, body)
	if len(trimSpace(body)) == 0 {
		return nil, enc, errors.New("cdr: " + enc.String() + ": empty body")
	}
	var (
		members []member
		err     error
	)
	switch enc {
	case JSON:
		members, err = decodeJSON(body)
	case XMLRPC:
		members, err = decodeXMLRPC(body)
	default:
		members, err = decodeForm(body)
	}
	if err != nil {
		return nil, enc, err
	}
	r, err := build(members)
	if err != nil {
		return nil, enc, err
	}
	return r, enc, nil
}

// detect picks the encoding: the declared Content-Type if it is one of the
// three, else a sniff of the body.
func detect(contentType string, body []byte) Encoding {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch {
	case mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json"):
		return JSON
	case mt == "text/xml" || mt == "application/xml" || strings.HasSuffix(mt, "+xml"):
		return XMLRPC
	case mt == "application/x-www-form-urlencoded":
		return Form
	}
	b := trimSpace(body)
	if len(b) > 0 {
		switch b[0] {
		case '{':
			return JSON
		case '<':
			return XMLRPC
		}
	}
	return Form
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// The decoders turn each encoding into the same small tree, so that one
// builder maps fields to the Record whatever the encoding.
type kind uint8

const (
	kindNull kind = iota
	kindString
	kindNumber // text is a valid JSON number
	kindBool   // text is "true" or "false"
	kindArray
	kindObject
)

type node struct {
	kind    kind
	text    string
	items   []node
	members []member
}

type member struct {
	key string
	val node
}

// field identifies a known top-level key.
type field uint8

const (
	fNone field = iota
	fCallID
	fCaller
	fTarget
	fDID
	fType
	fStatus
	fTime
	fDuration
	fDialTime
	fQueueID
	fQueueName
	fRecord
	fPrice
	fRepName
	fRepCode
	fTargetExt
	fCallerExt
	fTargetExtName
	fCallerExtName
	fTargetCountry
	fCallerCountry
	fIVR
	fCustomData
	numFields
)

// knownFields maps Voicenter's keys, lowercased, to fields. Keys match
// case-insensitively: "IVR", "ivr" and "Ivr" are the same field.
var knownFields = map[string]field{
	"ivruniqueid":          fCallID,
	"caller":               fCaller,
	"target":               fTarget,
	"did":                  fDID,
	"type":                 fType,
	"status":               fStatus,
	"time":                 fTime,
	"duration":             fDuration,
	"dialtime":             fDialTime,
	"queueid":              fQueueID,
	"queuename":            fQueueName,
	"record":               fRecord,
	"price":                fPrice,
	"representative_name":  fRepName,
	"representative_code":  fRepCode,
	"targetextension":      fTargetExt,
	"callerextension":      fCallerExt,
	"targetextension_name": fTargetExtName,
	"callerextension_name": fCallerExtName,
	"target_country":       fTargetCountry,
	"caller_country":       fCallerCountry,
	"ivr":                  fIVR,
	"custom_data":          fCustomData,
}

// build maps the top-level members to a Record. The first occurrence of a
// key wins; later duplicates are ignored.
func build(members []member) (*Record, error) {
	r := &Record{}
	var (
		seen   [numFields]bool
		ivr    *member
		custom *member
		data   *member // DATA, which may hold CUSTOM_DATA (see below)
	)
	if len(members) > MaxFields {
		members = members[:MaxFields]
	}
	for i := range members {
		m := &members[i]
		if m.key == "" {
			continue
		}
		lower := strings.ToLower(m.key)
		f := knownFields[lower]
		if f == fNone {
			if lower == "data" && data == nil {
				data = m
			}
			r.Extra = append(r.Extra, Field{Key: cut(m.key), Value: textOf(m.val)})
			continue
		}
		if seen[f] {
			continue
		}
		seen[f] = true
		switch f {
		case fCallID:
			r.CallID = cut(strings.TrimSpace(textOf(m.val)))
		case fCaller:
			r.Caller = textOf(m.val)
		case fTarget:
			r.Target = textOf(m.val)
		case fDID:
			r.DID = textOf(m.val)
		case fType:
			r.Type = textOf(m.val)
		case fStatus:
			r.Status = textOf(m.val)
		case fTime:
			r.Time = timeOf(m.val)
		case fDuration:
			r.Duration = intOf(m.val)
		case fDialTime:
			r.DialTime = intOf(m.val)
		case fQueueID:
			r.QueueID = intOf(m.val)
		case fQueueName:
			r.QueueName = textOf(m.val)
		case fRecord:
			r.RecordURL = textOf(m.val)
		case fPrice:
			r.Price = floatOf(m.val)
		case fRepName:
			r.RepresentativeName = textOf(m.val)
		case fRepCode:
			r.RepresentativeCode = textOf(m.val)
		case fTargetExt:
			r.TargetExtension = textOf(m.val)
		case fCallerExt:
			r.CallerExtension = textOf(m.val)
		case fTargetExtName:
			r.TargetExtensionName = textOf(m.val)
		case fCallerExtName:
			r.CallerExtensionName = textOf(m.val)
		case fTargetCountry:
			r.TargetCountry = textOf(m.val)
		case fCallerCountry:
			r.CallerCountry = textOf(m.val)
		case fIVR:
			ivr = m
		case fCustomData:
			custom = m
		}
	}
	if ivr != nil {
		steps, ok := stepsOf(ivr.val)
		if ok {
			r.IVR = steps
		} else {
			// Not a shape we know: keep the text rather than lose it.
			r.Extra = append(r.Extra, Field{Key: cut(ivr.key), Value: textOf(ivr.val)})
		}
	}
	if custom != nil {
		fields, ok := customOf(custom.val)
		if ok {
			r.CustomData = fields
		} else {
			r.Extra = append(r.Extra, Field{Key: cut(custom.key), Value: textOf(custom.val)})
		}
	} else if data != nil {
		// Voicenter's SDK tests body.CUSTOM_DATA but reads
		// body.DATA.CUSTOM_DATA; accept the latter when the former is absent.
		// DATA itself stays in Extra.
		if obj, ok := objectOf(data.val); ok {
			for _, m := range obj.members {
				if strings.EqualFold(m.key, "custom_data") {
					if fields, ok := customOf(m.val); ok {
						r.CustomData = fields
					}
					break
				}
			}
		}
	}
	r.Extra = sortFields(r.Extra)
	if r.CallID == "" {
		return nil, ErrMissingCallID
	}
	return r, nil
}

// sortFields sorts by key, keeps the first of equal keys (the sort is
// stable) and drops the rest.
func sortFields(fs []Field) []Field {
	if len(fs) == 0 {
		return nil
	}
	slices.SortStableFunc(fs, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })
	out := fs[:1]
	for _, f := range fs[1:] {
		if f.Key != out[len(out)-1].Key {
			out = append(out, f)
		}
	}
	return out
}

// stepsOf reads IVR: an array of step objects, a JSON string holding one, or
// an object keyed by indexes ("0", "1", ...: what PHP's json_encode makes of
// an array with gaps). ok is false for any other shape.
func stepsOf(n node) (steps []Step, ok bool) {
	if n.kind == kindString {
		s := strings.TrimSpace(n.text)
		if s == "" {
			return nil, true
		}
		var err error
		if n, err = parseEmbeddedJSON(s); err != nil {
			return nil, false
		}
	}
	var items []node
	switch n.kind {
	case kindNull:
		return nil, true
	case kindArray:
		items = n.items
	case kindObject:
		var ok bool
		if items, ok = indexedItems(n.members); !ok {
			return nil, false
		}
	default:
		return nil, false
	}
	for _, it := range items {
		if len(steps) >= MaxSteps {
			break
		}
		if it.kind != kindObject {
			continue
		}
		steps = append(steps, stepOf(it.members))
	}
	return steps, true
}

// indexedItems orders an object's values by their keys, which must all be
// non-negative integers.
func indexedItems(ms []member) ([]node, bool) {
	type indexed struct {
		i int
		n node
	}
	xs := make([]indexed, 0, len(ms))
	for _, m := range ms {
		i, err := strconv.Atoi(strings.TrimSpace(m.key))
		if err != nil || i < 0 {
			return nil, false
		}
		xs = append(xs, indexed{i, m.val})
	}
	slices.SortStableFunc(xs, func(a, b indexed) int { return a.i - b.i })
	items := make([]node, len(xs))
	for i, x := range xs {
		items[i] = x.n
	}
	return items, true
}

func stepOf(ms []member) Step {
	var s Step
	var seen [5]bool
	for _, m := range ms {
		k := -1
		switch strings.ToLower(m.key) {
		case "layer_id":
			k = 0
		case "layer_name":
			k = 1
		case "layer_number":
			k = 2
		case "dtmf":
			k = 3
		case "dtmf_order":
			k = 4
		}
		if k < 0 || seen[k] {
			continue
		}
		seen[k] = true
		switch k {
		case 0:
			s.LayerID = intOf(m.val)
		case 1:
			s.LayerName = textOf(m.val)
		case 2:
			s.LayerNumber = intOf(m.val)
		case 3:
			s.DTMF = textOf(m.val)
		case 4:
			s.Order = intOf(m.val)
		}
	}
	return s
}

// customOf reads CUSTOM_DATA: an object, or a JSON string holding one. An
// empty array counts as empty, since PHP encodes an empty map as [].
func customOf(n node) ([]Field, bool) {
	obj, ok := objectOf(n)
	if !ok {
		if n.kind == kindArray && len(n.items) == 0 {
			return nil, true
		}
		if n.kind == kindString && strings.TrimSpace(n.text) == "" || n.kind == kindNull {
			return nil, true
		}
		return nil, false
	}
	var fs []Field
	for _, m := range obj.members {
		if len(fs) >= MaxCustomData {
			break
		}
		if m.key == "" {
			continue
		}
		fs = append(fs, Field{Key: cut(m.key), Value: textOf(m.val)})
	}
	return sortFields(fs), true
}

// objectOf returns n if it is an object, or the object a JSON string in n
// holds.
func objectOf(n node) (node, bool) {
	if n.kind == kindString {
		s := strings.TrimSpace(n.text)
		if !strings.HasPrefix(s, "{") {
			return node{}, false
		}
		var err error
		if n, err = parseEmbeddedJSON(s); err != nil {
			return node{}, false
		}
	}
	return n, n.kind == kindObject
}

// textOf is a value as text: strings as they are, numbers as sent (so an
// ivruniqueid sent as a 28-digit number keeps its digits), booleans as
// "true"/"false", null as "", arrays and objects as compact JSON. The result
// is cut to MaxString.
func textOf(n node) string {
	switch n.kind {
	case kindNull:
		return ""
	case kindArray, kindObject:
		b := appendNodeJSON(make([]byte, 0, 64), n)
		return cut(string(b))
	}
	return cut(n.text)
}

// numText is the trimmed text of a scalar that may hold a number.
func numText(n node) string {
	switch n.kind {
	case kindString, kindNumber:
		return strings.TrimSpace(n.text)
	case kindBool:
		if n.text == "true" {
			return "1"
		}
		return "0"
	}
	return ""
}

// maxExactFloat is 2^53: floats beyond it are not whole numbers one can
// trust, and int conversion of huge floats is implementation-defined.
const maxExactFloat = 1 << 53

// intOf is a value as an int: a number or numeric string, a float truncated
// toward zero; 0 when it is not a number.
func intOf(n node) int {
	s := numText(n)
	if s == "" {
		return 0
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		if i > math.MaxInt || i < math.MinInt {
			return 0
		}
		return int(i)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > -maxExactFloat && f < maxExactFloat {
		return int(f)
	}
	return 0
}

// floatOf is a value as a finite float64; 0 when it is not one.
func floatOf(n node) float64 {
	s := numText(n)
	if s == "" {
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// maxUnix is 9999-12-31T23:59:59Z; later times are not real call times.
const maxUnix = 253402300799

// timeOf is a value as a time: unix seconds (a number or numeric string,
// fractions dropped), or else a "2006-01-02 15:04:05" (taken as UTC) or
// RFC 3339 text. Zero when absent, not positive or not a time.
func timeOf(n node) time.Time {
	s := numText(n)
	if s == "" {
		return time.Time{}
	}
	var sec int64
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		sec = i
	} else if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f <= maxUnix {
		sec = int64(f)
	} else if t, err := time.Parse(time.DateTime, s); err == nil {
		sec = t.Unix()
	} else if t, err := time.Parse(time.RFC3339, s); err == nil {
		sec = t.Unix()
	}
	if sec <= 0 || sec > maxUnix {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// cut bounds s to MaxString bytes without splitting a UTF-8 sequence, and
// copies what it keeps so that a short prefix does not pin a long string.
func cut(s string) string {
	if len(s) <= MaxString {
		return s
	}
	i := MaxString
	// s[i] is the first byte dropped: if it continues a sequence, drop the
	// sequence's start too (at most UTFMax-1 bytes back).
	for j := 0; j < utf8.UTFMax-1 && i > 0 && !utf8.RuneStart(s[i]); j++ {
		i--
	}
	return strings.Clone(s[:i])
}
