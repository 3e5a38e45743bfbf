package ivr

import (
	"strconv"
	"unicode/utf8"
)

// Kind is the ACTION of an answer.
type Kind uint8

// The answers Voicenter accepts. Fail is STATUS 1: Voicenter then sends the
// call to the layer's failover (MiniExternalDefaultMethodData).
const (
	GoToLayer Kind = iota + 1
	SayDigits
	Dial
	Fail
)

// String names the action in logs and, lower-cased, in metrics: its
// ACTION on the wire, or STATUS_1 for Fail, which has none.
func (k Kind) String() string {
	switch k {
	case GoToLayer:
		return "GO_TO_LAYER"
	case SayDigits:
		return "SAY_DIGITS"
	case Dial:
		return "DIAL"
	case Fail:
		return "STATUS_1"
	}
	return "UNKNOWN"
}

// Languages SAY_DIGITS can speak, as the documentation lists them.
var Languages = []string{"HE", "EN", "AR", "RU"}

// Action is one answer to Voicenter. Build it with the constructors or the
// Lua builders; AppendJSON writes it exactly as the documentation's examples
// show, keys in their order.
type Action struct {
	Kind Kind
	// Layer is LAYER (GO_TO_LAYER), NEXT_LAYER (SAY_DIGITS) or NEXT_VO_ID (DIAL).
	Layer int
	// FailLayer is SAY_DIGITS' NEXT_LAYER_IF_FAILED, sent when HasFailLayer.
	FailLayer    int
	HasFailLayer bool
	Language     string
	Items        []Item
	CallerID     string // DIAL
	CallerName   string // sent when not empty
	MaxCall      int    // DIAL: MAX_CALL_DURATION, seconds
	MaxDial      int    // DIAL: MAX_DIAL_DURATION, seconds
	Recording    bool
	Targets      []Target
	// CustomData is sent when HasCustomData; DIAL always sends it, since the
	// documentation marks it mandatory there. SAY_DIGITS sends it last, after
	// DATA, where Voicenter's SDK adds it to every answer.
	CustomData    []Field
	HasCustomData bool
	// Reason says why a script answered Fail; it goes to the log, not the wire.
	Reason string
}

// Item is one entry of SAY_DIGITS' DATA.
type Item struct {
	Type    string // RecordType: Recording, Digits, Number, Date, DateTime
	Content string
}

// Target is one DIAL destination.
type Target struct {
	Type   string // PHONE or EXTENSION
	Target string
}

// GoTo answers GO_TO_LAYER with no caller name or custom data.
func GoTo(layer int) Action { return Action{Kind: GoToLayer, Layer: layer} }

// Failure answers STATUS 1, handing the call to the layer's failover.
func Failure(reason string) Action { return Action{Kind: Fail, Reason: reason} }

// Fallback is the answer when a script cannot give one: GO_TO_LAYER to the
// fallback layer when one is known, else STATUS 1.
func Fallback(layer int, ok bool, reason string) Action {
	if ok {
		return GoTo(layer)
	}
	return Failure(reason)
}

// Summary names the action and where it sends the call, for logs.
func (a *Action) Summary() string {
	switch a.Kind {
	case GoToLayer:
		return "GO_TO_LAYER " + strconv.Itoa(a.Layer)
	case SayDigits:
		return "SAY_DIGITS then " + strconv.Itoa(a.Layer)
	case Dial:
		s := "DIAL"
		for _, t := range a.Targets {
			s += " " + t.Type + ":" + t.Target
		}
		return s
	case Fail:
		return "STATUS 1"
	}
	return "?"
}

// AppendJSON appends the wire form of a to dst.
func (a *Action) AppendJSON(dst []byte) []byte {
	switch a.Kind {
	case GoToLayer:
		dst = append(dst, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":`...)
		dst = strconv.AppendInt(dst, int64(a.Layer), 10)
		dst = a.appendCaller(dst)
		dst = a.appendCustom(dst, a.HasCustomData)
	case SayDigits:
		dst = append(dst, `{"STATUS":0,"ACTION":"SAY_DIGITS","NEXT_LAYER":`...)
		dst = strconv.AppendInt(dst, int64(a.Layer), 10)
		if a.HasFailLayer {
			dst = append(dst, `,"NEXT_LAYER_IF_FAILED":`...)
			dst = strconv.AppendInt(dst, int64(a.FailLayer), 10)
		}
		dst = append(dst, `,"LANGUAGE":`...)
		dst = AppendString(dst, a.Language)
		dst = append(dst, `,"DATA":[`...)
		for i, it := range a.Items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"RecordType":`...)
			dst = AppendString(dst, it.Type)
			dst = append(dst, `,"Content":`...)
			dst = AppendString(dst, it.Content)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
		dst = a.appendCustom(dst, a.HasCustomData)
	case Dial:
		dst = append(dst, `{"STATUS":0,"ACTION":"DIAL","CALLER_ID":`...)
		dst = AppendString(dst, a.CallerID)
		dst = a.appendCaller(dst)
		dst = append(dst, `,"MAX_CALL_DURATION":`...)
		dst = strconv.AppendInt(dst, int64(a.MaxCall), 10)
		dst = append(dst, `,"MAX_DIAL_DURATION":`...)
		dst = strconv.AppendInt(dst, int64(a.MaxDial), 10)
		dst = append(dst, `,"NEXT_VO_ID":`...)
		dst = strconv.AppendInt(dst, int64(a.Layer), 10)
		dst = append(dst, `,"RECORDING":`...)
		if a.Recording {
			dst = append(dst, `"yes"`...)
		} else {
			dst = append(dst, `"no"`...)
		}
		dst = append(dst, `,"TARGETS":[`...)
		for i, t := range a.Targets {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"TYPE":`...)
			dst = AppendString(dst, t.Type)
			dst = append(dst, `,"TARGET":`...)
			dst = AppendString(dst, t.Target)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
		dst = a.appendCustom(dst, true)
	default:
		dst = append(dst, `{"STATUS":1`...)
	}
	return append(dst, '}')
}

func (a *Action) appendCaller(dst []byte) []byte {
	if a.CallerName == "" {
		return dst
	}
	dst = append(dst, `,"CALLER_NAME":`...)
	return AppendString(dst, a.CallerName)
}

func (a *Action) appendCustom(dst []byte, send bool) []byte {
	if !send {
		return dst
	}
	dst = append(dst, `,"CUSTOM_DATA":{`...)
	for i, f := range a.CustomData {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, f.Key)
		dst = append(dst, ':')
		dst = AppendString(dst, f.Value)
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD so
// the answer always parses.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
