package ivr_test

import (
	"strings"
	"testing"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	lua "github.com/yuin/gopher-lua"
)

// BenchmarkDecode decodes the documentation's case request into a reused
// Request, as the server does with its pooled calls.
func BenchmarkDecode(b *testing.B) {
	body := readDoc(b, "case-request.json")
	var r ivr.Request
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := ivr.Decode(body, &r); err != nil {
			b.Fatal(err)
		}
	}
	if r.LayerID != 5 || r.DTMF != "12345678" {
		b.Fatalf("decoded %+v", r)
	}
}

// BenchmarkDecodeNewCall alternates two requests with their own CALLER_ID
// and IVR_UNIQUE_ID, as a pooled Request sees them; BenchmarkDecode repeats
// one request, so every string matches the last.
func BenchmarkDecodeNewCall(b *testing.B) {
	first := readDoc(b, "case-request.json")
	second := []byte(strings.NewReplacer("0501234567", "0527654321", "1bcd7954224861f85a2d70612f2", "2cde8065335972096b81723f3").Replace(string(first)))
	bodies := [][]byte{first, second}
	var r ivr.Request
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := ivr.Decode(bodies[i%2], &r); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkAppendJSON encodes the documentation's answers into a reused
// buffer, as the server does.
func BenchmarkAppendJSON(b *testing.B) {
	for _, bc := range []struct {
		name   string
		action ivr.Action
		doc    string
	}{
		{"GO_TO_LAYER", ivr.GoTo(12), "goto-response.json"},
		{"SAY_DIGITS", ivr.Action{Kind: ivr.SayDigits, Layer: 2, FailLayer: 1, HasFailLayer: true, Language: "EN", Items: docsSay},
			"say-response.json"},
		{"DIAL", ivr.Action{Kind: ivr.Dial, CallerID: "0722776772", CallerName: "Voicenter", MaxCall: 1800, MaxDial: 60,
			Layer: 15, Recording: true, Targets: []ivr.Target{{Type: "PHONE", Target: "0501234567"}},
			CustomData: docsCustom, HasCustomData: true},
			"dial-response.json"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			want := compactDoc(b, bc.doc)
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				buf = bc.action.AppendJSON(buf[:0])
			}
			b.SetBytes(int64(len(buf)))
			if string(buf) != want {
				b.Fatalf("got %s, want %s", buf, want)
			}
		})
	}
}

// BenchmarkTable builds the call table a handler receives. Case is the
// documentation's case request over and over; new_call alternates two calls
// with their own CALLER_ID and IVR_UNIQUE_ID, as a VM sees them;
// custom_data adds the docs' CUSTOM_DATA.
func BenchmarkTable(b *testing.B) {
	var r ivr.Request
	if err := ivr.Decode(readDoc(b, "case-request.json"), &r); err != nil {
		b.Fatal(err)
	}
	other := r
	other.CallerID, other.UniqueID = "0527654321", "2cde8065335972096b81723f3"
	custom := r
	custom.CustomData, custom.HasCustomData = docsCustom, true
	for _, bc := range []struct {
		name string
		reqs []*ivr.Request
	}{{"case", []*ivr.Request{&r}}, {"new_call", []*ivr.Request{&r, &other}}, {"custom_data", []*ivr.Request{&custom}}} {
		b.Run(bc.name, func(b *testing.B) {
			L := lua.NewState()
			defer L.Close()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				L.Push(bc.reqs[i%len(bc.reqs)].Table(L))
				L.Pop(1)
				i++
			}
		})
	}
}
