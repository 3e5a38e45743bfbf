package cdr

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

var errTooDeep = fmt.Errorf("nesting deeper than %d", MaxDepth)

// decodeJSON reads a JSON object's members.
func decodeJSON(body []byte) ([]member, error) {
	var p fastjson.Parser
	v, err := p.ParseBytes(body)
	if err != nil {
		return nil, fmt.Errorf("cdr: json: %w", err)
	}
	if t := v.Type(); t != fastjson.TypeObject {
		return nil, fmt.Errorf("cdr: json: body is a %s, want an object", t)
	}
	n, err := fromJSON(v, 1, MaxFields)
	if err != nil {
		return nil, fmt.Errorf("cdr: json: %w", err)
	}
	return n.members, nil
}

// parseEmbeddedJSON parses JSON text found inside a field (IVR,
// CUSTOM_DATA).
func parseEmbeddedJSON(s string) (node, error) {
	var p fastjson.Parser
	v, err := p.Parse(s)
	if err != nil {
		return node{}, err
	}
	return fromJSON(v, 1, maxMembers)
}

// fromJSON copies a fastjson value into a node (copying, since fastjson's
// strings alias the body), keeping at most maxItems items per array and
// limit members of the object at hand (maxMembers for nested ones).
func fromJSON(v *fastjson.Value, depth, limit int) (node, error) {
	switch v.Type() {
	case fastjson.TypeObject:
		if depth > MaxDepth {
			return node{}, errTooDeep
		}
		o, _ := v.Object()
		n := node{kind: kindObject, members: make([]member, 0, min(o.Len(), limit))}
		var err error
		o.Visit(func(k []byte, vv *fastjson.Value) {
			if err != nil || len(n.members) >= limit {
				return
			}
			var c node
			if c, err = fromJSON(vv, depth+1, maxMembers); err == nil {
				n.members = append(n.members, member{key: string(k), val: c})
			}
		})
		return n, err
	case fastjson.TypeArray:
		if depth > MaxDepth {
			return node{}, errTooDeep
		}
		a, _ := v.Array()
		n := node{kind: kindArray, items: make([]node, 0, min(len(a), maxItems))}
		for _, vv := range a {
			if len(n.items) >= maxItems {
				break
			}
			c, err := fromJSON(vv, depth+1, maxMembers)
			if err != nil {
				return node{}, err
			}
			n.items = append(n.items, c)
		}
		return n, nil
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return node{kind: kindString, text: string(b)}, nil
	case fastjson.TypeNumber:
		return node{kind: kindNumber, text: string(v.MarshalTo(nil))}, nil
	case fastjson.TypeTrue:
		return node{kind: kindBool, text: "true"}, nil
	case fastjson.TypeFalse:
		return node{kind: kindBool, text: "false"}, nil
	}
	return node{kind: kindNull}, nil
}

// appendNodeJSON renders n as compact JSON, for fields kept as text. It
// stops adding once dst holds more than MaxString bytes: the caller cuts
// the text there anyway.
func appendNodeJSON(dst []byte, n node) []byte {
	if len(dst) > MaxString {
		return dst
	}
	switch n.kind {
	case kindNull:
		return append(dst, "null"...)
	case kindString:
		return appendJSONString(dst, n.text)
	case kindNumber:
		if isJSONNumber(n.text) {
			return append(dst, n.text...)
		}
		return appendJSONString(dst, n.text)
	case kindBool:
		return append(dst, n.text...)
	case kindArray:
		dst = append(dst, '[')
		for i, it := range n.items {
			if len(dst) > MaxString {
				return dst
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendNodeJSON(dst, it)
		}
		return append(dst, ']')
	case kindObject:
		dst = append(dst, '{')
		for i, m := range n.members {
			if len(dst) > MaxString {
				return dst
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, m.key)
			dst = append(dst, ':')
			dst = appendNodeJSON(dst, m.val)
		}
		return append(dst, '}')
	}
	return dst
}

// isJSONNumber reports whether s is a number in JSON's grammar.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, so the output is always valid JSON.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || c == 0x7f:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// decodeXMLRPC reads the members of the struct that is a methodCall's first
// param. Go's encoding/xml expands only the five predefined entities and
// character references, and rejects any other entity (so an entity bomb in
// a DOCTYPE is an error, not an expansion); nesting is bounded by
// xmlReader.
func decodeXMLRPC(body []byte) ([]member, error) {
	x := &xmlReader{d: xml.NewDecoder(bytes.NewReader(body))}
	x.d.CharsetReader = charsetReader
	ms, err := x.methodCall()
	if err != nil {
		return nil, fmt.Errorf("cdr: xml-rpc: %w", err)
	}
	return ms, nil
}

var errNoStruct = errors.New("no struct param: want <methodCall><params><param><value><struct>")

// xmlReader reads XML-RPC with a bound on nesting.
type xmlReader struct {
	d     *xml.Decoder
	depth int
}

// next returns the next start, end or text token, skipping comments,
// processing instructions and directives. io.EOF ends the document.
func (x *xmlReader) next() (xml.Token, error) {
	for {
		t, err := x.d.Token()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			x.depth++
			if x.depth > MaxDepth {
				return nil, errTooDeep
			}
			return t, nil
		case xml.EndElement:
			x.depth--
			return t, nil
		case xml.CharData:
			return t, nil
		}
	}
}

// unexpectedEOF turns a clean EOF inside an element into an error.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (x *xmlReader) methodCall() ([]member, error) {
	var root xml.StartElement
	for {
		t, err := x.next()
		if err == io.EOF {
			return nil, errors.New("no root element")
		}
		if err != nil {
			return nil, err
		}
		if se, ok := t.(xml.StartElement); ok {
			root = se
			break
		}
		if cd, ok := t.(xml.CharData); ok && len(bytes.TrimSpace(cd)) > 0 {
			return nil, errors.New("text before the root element")
		}
	}
	if !strings.EqualFold(root.Name.Local, "methodCall") {
		return nil, fmt.Errorf("root element is <%s>, want <methodCall> (with one struct param)", cutName(root.Name.Local))
	}
	var ms []member
	found, err := x.firstChild("params", func() (err error) {
		ms, err = x.params() // methodName, or anything else, is skipped
		return err
	})
	if err == nil && !found {
		err = errNoStruct
	}
	return ms, err
}

// params reads <params>: the first <param> must hold a struct; the others
// are skipped.
func (x *xmlReader) params() ([]member, error) {
	var ms []member
	found, err := x.firstChild("param", func() error {
		n, err := x.param()
		if err != nil {
			return err
		}
		if n.kind != kindObject {
			return errNoStruct
		}
		ms = n.members
		return nil
	})
	if err == nil && !found {
		err = errNoStruct
	}
	return ms, err
}

// param reads <param><value>...</value></param>.
func (x *xmlReader) param() (n node, err error) {
	_, err = x.firstChild("value", func() (err error) {
		n, err = x.value(MaxFields)
		return err
	})
	return n, err
}

// firstChild reads the current element's children up to its end: the
// first named name (in any case) is read by read, every other one is
// skipped. found says whether there was one.
func (x *xmlReader) firstChild(name string, read func() error) (found bool, err error) {
	for {
		t, err := x.next()
		if err != nil {
			return found, unexpectedEOF(err)
		}
		switch t := t.(type) {
		case xml.EndElement:
			return found, nil
		case xml.StartElement:
			if found || !strings.EqualFold(t.Name.Local, name) {
				if err := x.skip(); err != nil {
					return found, err
				}
				continue
			}
			found = true
			if err := read(); err != nil {
				return found, err
			}
		}
	}
}

// value reads the inside of a <value>: one typed element, or untyped text
// (a string, whitespace kept). limit bounds a struct's members.
func (x *xmlReader) value(limit int) (node, error) {
	var (
		text  []byte
		n     node
		typed bool
	)
	for {
		t, err := x.next()
		if err != nil {
			return node{}, unexpectedEOF(err)
		}
		switch t := t.(type) {
		case xml.CharData:
			if !typed {
				text = append(text, t...)
			}
		case xml.EndElement:
			if !typed {
				return node{kind: kindString, text: string(text)}, nil
			}
			return n, nil
		case xml.StartElement:
			if typed {
				return node{}, errors.New("<value> holds more than one value")
			}
			typed = true
			if n, err = x.typed(t.Name.Local, limit); err != nil {
				return node{}, err
			}
		}
	}
}

// typed reads an XML-RPC typed value, whose start tag has been read.
func (x *xmlReader) typed(name string, limit int) (node, error) {
	switch strings.ToLower(name) {
	case "struct":
		return x.structure(limit)
	case "array":
		return x.array()
	case "nil":
		return node{kind: kindNull}, x.skip()
	}
	s, err := x.text(name)
	if err != nil {
		return node{}, err
	}
	switch strings.ToLower(name) {
	case "int", "i4", "i8", "i2", "i1", "long", "double", "float":
		if t := strings.TrimSpace(s); isJSONNumber(t) {
			return node{kind: kindNumber, text: t}, nil
		}
	case "boolean":
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "1", "true":
			return node{kind: kindBool, text: "true"}, nil
		case "0", "false":
			return node{kind: kindBool, text: "false"}, nil
		}
	case "datetime.iso8601":
		return node{kind: kindString, text: strings.TrimSpace(s)}, nil
	case "base64":
		clean := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, s)
		if b, err := base64.StdEncoding.DecodeString(clean); err == nil {
			return node{kind: kindString, text: string(b)}, nil
		}
	}
	// string, an unknown type, or a number or boolean that is not one: text.
	return node{kind: kindString, text: s}, nil
}

// text reads character data up to the end of the current element, which
// must hold no elements.
func (x *xmlReader) text(name string) (string, error) {
	var b []byte
	for {
		t, err := x.next()
		if err != nil {
			return "", unexpectedEOF(err)
		}
		switch t := t.(type) {
		case xml.CharData:
			b = append(b, t...)
		case xml.EndElement:
			return string(b), nil
		case xml.StartElement:
			return "", fmt.Errorf("unexpected <%s> inside <%s>", cutName(t.Name.Local), cutName(name))
		}
	}
}

// structure reads <struct>'s members, keeping the first limit.
func (x *xmlReader) structure(limit int) (node, error) {
	n := node{kind: kindObject}
	for {
		t, err := x.next()
		if err != nil {
			return node{}, unexpectedEOF(err)
		}
		switch t := t.(type) {
		case xml.EndElement:
			return n, nil
		case xml.StartElement:
			if !strings.EqualFold(t.Name.Local, "member") {
				if err := x.skip(); err != nil {
					return node{}, err
				}
				continue
			}
			m, ok, err := x.member()
			if err != nil {
				return node{}, err
			}
			if ok && len(n.members) < limit {
				n.members = append(n.members, m)
			}
		}
	}
}

// member reads <member><name>..</name><value>..</value></member>. ok is
// false for a member without a name or a value, which is skipped.
func (x *xmlReader) member() (m member, ok bool, err error) {
	var gotName, gotValue bool
	for {
		t, err := x.next()
		if err != nil {
			return member{}, false, unexpectedEOF(err)
		}
		switch t := t.(type) {
		case xml.EndElement:
			return m, gotName && gotValue && m.key != "", nil
		case xml.StartElement:
			switch {
			case strings.EqualFold(t.Name.Local, "name") && !gotName:
				s, err := x.text(t.Name.Local)
				if err != nil {
					return member{}, false, err
				}
				m.key, gotName = strings.TrimSpace(s), true
			case strings.EqualFold(t.Name.Local, "value") && !gotValue:
				if m.val, err = x.value(maxMembers); err != nil {
					return member{}, false, err
				}
				gotValue = true
			default:
				if err := x.skip(); err != nil {
					return member{}, false, err
				}
			}
		}
	}
}

// array reads <array><data><value>..</value>...</data></array>, keeping
// the first maxItems values. <value>s directly inside <array> are accepted
// too.
func (x *xmlReader) array() (node, error) {
	n := node{kind: kindArray}
	for {
		t, err := x.next()
		if err != nil {
			return node{}, unexpectedEOF(err)
		}
		switch t := t.(type) {
		case xml.EndElement:
			return n, nil
		case xml.StartElement:
			switch {
			case strings.EqualFold(t.Name.Local, "data"):
				if err := x.values(&n); err != nil {
					return node{}, err
				}
			case strings.EqualFold(t.Name.Local, "value"):
				if err := x.arrayValue(&n); err != nil {
					return node{}, err
				}
			default:
				if err := x.skip(); err != nil {
					return node{}, err
				}
			}
		}
	}
}

// values reads <data>'s values into n.
func (x *xmlReader) values(n *node) error {
	for {
		t, err := x.next()
		if err != nil {
			return unexpectedEOF(err)
		}
		switch t := t.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if !strings.EqualFold(t.Name.Local, "value") {
				if err := x.skip(); err != nil {
					return err
				}
				continue
			}
			if err := x.arrayValue(n); err != nil {
				return err
			}
		}
	}
}

func (x *xmlReader) arrayValue(n *node) error {
	v, err := x.value(maxMembers)
	if err != nil {
		return err
	}
	if len(n.items) < maxItems {
		n.items = append(n.items, v)
	}
	return nil
}

// skip reads to the end of the current element, still bounding depth.
func (x *xmlReader) skip() error {
	for depth := 1; depth > 0; {
		t, err := x.next()
		if err != nil {
			return unexpectedEOF(err)
		}
		switch t.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// cutName bounds an element name quoted in an error.
func cutName(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// charsetReader lets an XML declaration name Latin-1 or ASCII (UTF-8 needs
// no reader); Go's encoding/xml rejects every other encoding without one.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf8":
		return input, nil
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1",
		"us-ascii", "ascii":
		return &latin1Reader{r: input}, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", cutName(label))
}

// latin1Reader decodes ISO-8859-1 to UTF-8: each byte is the code point.
type latin1Reader struct {
	r   io.Reader
	buf []byte
	out []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	for len(l.out) == 0 {
		if cap(l.buf) == 0 {
			l.buf = make([]byte, 2048)
		}
		n, err := l.r.Read(l.buf[:cap(l.buf)])
		l.out = l.out[:0]
		for _, c := range l.buf[:n] {
			l.out = utf8.AppendRune(l.out, rune(c))
		}
		if len(l.out) == 0 && err != nil {
			return 0, err
		}
		if n == 0 && err == nil {
			return 0, nil
		}
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}

// decodeForm reads application/x-www-form-urlencoded pairs. IVR and
// CUSTOM_DATA may be JSON strings, or PHP-style bracketed keys
// (IVR[0][layer_id]=..., CUSTOM_DATA[key]=...), gathered into one member
// where the first of them appears. Other bracketed keys are kept as they
// are.
func decodeForm(body []byte) ([]member, error) {
	var (
		ms        []member
		ivrAt     = -1
		customAt  = -1
		steps     map[int][]member
		customObj []member
	)
	for pair := range strings.SplitSeq(string(trimSpace(body)), "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("cdr: form: key %s: %w", quoteShort(k), err)
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("cdr: form: value of %s: %w", quoteShort(key), err)
		}
		if key == "" {
			continue
		}
		name, rest, bracketed := strings.Cut(key, "[")
		if bracketed {
			segs, ok := brackets("[" + rest)
			switch {
			case ok && strings.EqualFold(name, "ivr") && len(segs) == 2:
				i, err := strconv.Atoi(segs[0])
				if err != nil || i < 0 || i >= MaxSteps || segs[1] == "" {
					continue
				}
				if ivrAt < 0 {
					if len(ms) >= MaxFields {
						continue
					}
					ivrAt = len(ms)
					ms = append(ms, member{key: name})
					steps = make(map[int][]member)
				}
				if len(steps[i]) < 16 { // a step has five fields
					steps[i] = append(steps[i], member{key: segs[1], val: node{kind: kindString, text: val}})
				}
				continue
			case ok && strings.EqualFold(name, "custom_data") && len(segs) == 1:
				if customAt < 0 {
					if len(ms) >= MaxFields {
						continue
					}
					customAt = len(ms)
					ms = append(ms, member{key: name})
				}
				if segs[0] != "" && len(customObj) < maxMembers {
					customObj = append(customObj, member{key: segs[0], val: node{kind: kindString, text: val}})
				}
				continue
			}
		}
		if len(ms) < MaxFields {
			ms = append(ms, member{key: key, val: node{kind: kindString, text: val}})
		}
	}
	if ivrAt >= 0 {
		idx := make([]int, 0, len(steps))
		for i := range steps {
			idx = append(idx, i)
		}
		slices.Sort(idx)
		arr := node{kind: kindArray, items: make([]node, 0, len(idx))}
		for _, i := range idx {
			arr.items = append(arr.items, node{kind: kindObject, members: steps[i]})
		}
		ms[ivrAt].val = arr
	}
	if customAt >= 0 {
		ms[customAt].val = node{kind: kindObject, members: customObj}
	}
	return ms, nil
}

// brackets splits "[a][b]" into a and b; ok is false for anything else.
func brackets(s string) (segs []string, ok bool) {
	for s != "" {
		if s[0] != '[' || len(segs) >= 4 {
			return nil, false
		}
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return nil, false
		}
		segs = append(segs, s[1:end])
		s = s[end+1:]
	}
	return segs, len(segs) > 0
}

// quoteShort quotes s for an error message, bounded.
func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}
