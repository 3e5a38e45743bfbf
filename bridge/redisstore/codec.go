package redisstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Values are plain data (luavm.ToGo): nil, bool, float64, string, []any and
// map[string]any. They are kept in Redis in a compact binary form rather
// than JSON, because Lua strings are bytes: JSON would turn a string that is
// not UTF-8 into another string. Each value starts with a tag:
//
//	n<decimal>                      a number at the top level, as text, so
//	                                the state scripts can add to it
//	z | f | t                       nil, false, true
//	d<8 bytes>                      a number inside a table (IEEE 754, big-endian)
//	s<uvarint len><bytes>           a string
//	l<uvarint n><value>...          a list
//	m<uvarint n>(<uvarint len><key><value>)...  a table of named keys
const (
	tagNumText = 'n'
	tagNil     = 'z'
	tagFalse   = 'f'
	tagTrue    = 't'
	tagNum     = 'd'
	tagString  = 's'
	tagList    = 'l'
	tagMap     = 'm'
)

// maxDepth bounds nesting when decoding, as luavm bounds it when copying.
const maxDepth = 100

// encodeValue appends v's encoding to b.
func encodeValue(b []byte, v any) ([]byte, error) {
	switch f := v.(type) {
	case float64:
		return appendNumText(b, f), nil
	case int:
		return appendNumText(b, float64(f)), nil
	case int64:
		return appendNumText(b, float64(f)), nil
	}
	return appendValue(b, v, 0)
}

func appendNumText(b []byte, f float64) []byte {
	b = append(b, tagNumText)
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errors.New("nested too deep")
	}
	var err error
	switch v := v.(type) {
	case nil:
		return append(b, tagNil), nil
	case bool:
		if v {
			return append(b, tagTrue), nil
		}
		return append(b, tagFalse), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(b, tagNum), math.Float64bits(v)), nil
	case int:
		return appendValue(b, float64(v), depth)
	case int64:
		return appendValue(b, float64(v), depth)
	case string:
		b = binary.AppendUvarint(append(b, tagString), uint64(len(v)))
		return append(b, v...), nil
	case []any:
		b = binary.AppendUvarint(append(b, tagList), uint64(len(v)))
		for _, e := range v {
			if b, err = appendValue(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case map[string]any:
		b = binary.AppendUvarint(append(b, tagMap), uint64(len(v)))
		for k, e := range v {
			b = binary.AppendUvarint(b, uint64(len(k)))
			b = append(b, k...)
			if b, err = appendValue(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("a %T is not plain data", v)
}

var errCorrupt = errors.New("stored value is corrupt")

// decodeValue reads one whole value.
func decodeValue(b []byte) (any, error) {
	if len(b) > 0 && b[0] == tagNumText {
		return parseNum(string(b[1:]))
	}
	v, rest, err := readValue(b, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errCorrupt
	}
	return v, nil
}

// parseNum reads a number the store wrote as text: Go's shortest form, or
// the state scripts' %.17g (which C libraries may write as "inf" or "-nan").
func parseNum(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		switch s {
		case "nan", "-nan":
			return math.NaN(), nil
		}
		return 0, errCorrupt
	}
	return f, nil
}

func readValue(b []byte, depth int) (any, []byte, error) {
	if len(b) == 0 || depth > maxDepth {
		return nil, nil, errCorrupt
	}
	tag, b := b[0], b[1:]
	switch tag {
	case tagNil:
		return nil, b, nil
	case tagFalse:
		return false, b, nil
	case tagTrue:
		return true, b, nil
	case tagNum:
		if len(b) < 8 {
			return nil, nil, errCorrupt
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), b[8:], nil
	case tagString:
		s, rest, err := readBytes(b)
		return string(s), rest, err
	case tagList:
		n, b, err := readLen(b)
		if err != nil {
			return nil, nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], b, err = readValue(b, depth+1); err != nil {
				return nil, nil, err
			}
		}
		return out, b, nil
	case tagMap:
		n, b, err := readLen(b)
		if err != nil {
			return nil, nil, err
		}
		out := make(map[string]any, n)
		for range n {
			var k []byte
			if k, b, err = readBytes(b); err != nil {
				return nil, nil, err
			}
			if out[string(k)], b, err = readValue(b, depth+1); err != nil {
				return nil, nil, err
			}
		}
		return out, b, nil
	}
	return nil, nil, errCorrupt
}

// readLen reads a count of items, each at least one byte: a count past
// what is left is corrupt, not an allocation.
func readLen(b []byte) (int, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return 0, nil, errCorrupt
	}
	return int(n), b[k:], nil
}

func readBytes(b []byte) ([]byte, []byte, error) {
	n, b, err := readLen(b)
	if err != nil {
		return nil, nil, err
	}
	return b[:n], b[n:], nil
}

// A cache entry is a record: a version byte, its expiry in Unix
// milliseconds as 16 decimal digits (so the server-side scripts can tell a
// fresh entry from a stale one), its size estimate (cache.Entry.Size) as a
// uvarint, then the value.
const (
	recordVersion = '1'
	expiryDigits  = 16
	recordHeader  = 1 + expiryDigits
)

func encodeRecord(v any, expires time.Time, size int) ([]byte, error) {
	b := make([]byte, 0, recordHeader+binary.MaxVarintLen64+64)
	b = append(b, recordVersion)
	b = fmt.Appendf(b, "%0*d", expiryDigits, max(expires.UnixMilli(), 0))
	b = binary.AppendUvarint(b, uint64(max(size, 0)))
	return encodeValue(b, v)
}

// recordHead reads a record's expiry and size, and returns its value's
// encoding.
func recordHead(b []byte) (expires time.Time, size int, value []byte, err error) {
	if len(b) < recordHeader+1 || b[0] != recordVersion {
		return time.Time{}, 0, nil, errCorrupt
	}
	ms, err := strconv.ParseInt(string(b[1:recordHeader]), 10, 64)
	if err != nil {
		return time.Time{}, 0, nil, errCorrupt
	}
	n, k := binary.Uvarint(b[recordHeader:])
	if k <= 0 || n > math.MaxInt32 {
		return time.Time{}, 0, nil, errCorrupt
	}
	return time.UnixMilli(ms), int(n), b[recordHeader+k:], nil
}
