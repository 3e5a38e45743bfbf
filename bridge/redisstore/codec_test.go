package redisstore

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func TestCodecRoundTripsPlainData(t *testing.T) {
	for _, v := range []any{
		nil, true, false, 0.0, math.Copysign(0, -1), 42.0, -3.5, 1e300, 5e-324, math.MaxFloat64,
		"", "Dana", "\xff\xfe not UTF-8 \x00", // Lua strings are bytes: kept as they are
		[]any{}, map[string]any{},
		[]any{1.0, "two", nil, []any{false}, map[string]any{"x": "y"}},
		map[string]any{"name": "Dana", "layers": []any{5.0, 12.0}, "\xff": map[string]any{"": nil}},
	} {
		b, err := encodeValue(nil, v)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		got, err := decodeValue(b)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		if !reflect.DeepEqual(got, v) || (v == 0.0 && math.Signbit(got.(float64)) != math.Signbit(v.(float64))) {
			t.Errorf("%#v came back as %#v", v, got)
		}
		// Every truncation is an error, never a panic or another value.
		for i := range len(b) {
			if got, err := decodeValue(b[:i]); err == nil && b[0] != tagNumText {
				t.Errorf("%#v cut to %d bytes decoded as %#v", v, i, got)
			}
		}
	}
	if b, _ := encodeValue(nil, 3); string(b) != "n3" {
		t.Errorf("a top-level number is text the state scripts read: %q", b)
	}
	if _, err := encodeValue(nil, func() {}); err == nil {
		t.Error("a function encoded")
	}
	for _, bad := range []string{"", "x", "s\x05ab", "l\xff\xff\xff\xff\x0f", "m\x01\x05a", "nabc"} {
		if v, err := decodeValue([]byte(bad)); err == nil {
			t.Errorf("%q decoded as %#v", bad, v)
		}
	}
}

func TestRecordKeepsExpiryAndSize(t *testing.T) {
	exp := time.UnixMilli(1767225600123)
	b, err := encodeRecord(map[string]any{"a": "b"}, exp, 321)
	if err != nil {
		t.Fatal(err)
	}
	if string(b[1:recordHeader]) != "0001767225600123" {
		t.Errorf("expiry digits %q: the scripts read them as text", b[1:recordHeader])
	}
	e, size, enc, err := recordHead(b)
	if err != nil || !e.Equal(exp) || size != 321 {
		t.Fatalf("%v %d %v", e, size, err)
	}
	if v, err := decodeValue(enc); err != nil || !reflect.DeepEqual(v, map[string]any{"a": "b"}) {
		t.Errorf("%#v %v", v, err)
	}
}

func TestAnnouncementsAndTags(t *testing.T) {
	for _, tc := range []struct {
		key string
		w   flightWord
	}{{"crm:phone:0501234567", flightWord{}}, {"k\x00-+", flightWord{err: "CRM answered 500"}}, {"", flightWord{err: "-"}}} {
		k, w, ok := parseWord(encodeWord(tc.key, tc.w))
		if !ok || k != tc.key || w != tc.w {
			t.Errorf("%q %+v: %q %+v %v", tc.key, tc.w, k, w, ok)
		}
	}
	for _, bad := range []string{"", "\x05ab", "\x01a", "\x01a?"} {
		if _, _, ok := parseWord(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
	if tag("a{b}") == tag("a\\(b\\)") || tag("plain") != "plain" {
		t.Error("tags collide or change plain keys")
	}
	if p, k := tag("x{"), tag("x{y}"); k[:len(p)] != p {
		t.Errorf("a key's prefix must tag to its tag's prefix: %q %q", p, k)
	}
}
