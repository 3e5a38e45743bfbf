package ivr_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ivrouter/ivrouter/bridge/ivr"
)

func FuzzDecode(f *testing.F) {
	docs, err := filepath.Glob(filepath.Join(docsDir, "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	if len(docs) < 7 {
		f.Fatalf("found %d docs examples in %s, want the 7 of the README", len(docs), docsDir)
	}
	for _, p := range docs {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		body(base + `,"LAYER_ID":5,"PREVIOUS_LAYER_ID":5`),
		`{"METHOD":"IVR_LAYER_INPUT","DATA":"{\"DID\":\"0722776772\",\"LAYER_ID\":\"5\",\"DTMF\":\"\"}"}`,
		`{"method":"IVR_LAYER_INPUT","data":{"CALLER_ ID":501234567,"layer_ id":" 12 ","PREVIOUS_LAYER_ID":null}}`,
		body(`"LAYER_ID":"2147483647","CUSTOM_DATA":{"a":{"b":[1,{"c":null}]},"n":1e400,"x":NaN}`),
		body(`"LAYER_ID":5.5`),
		body(`"LAYER_ID":-0,"PREVIOUS_LAYER_ID":-1`),
		body(`"LAYER_ID":"\u0035","DTMF":"\ud800"`),
		`{"METHOD":"IVR_LAYER_INPUT","DATA":"[1]"}`,
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		var r ivr.Request
		err := ivr.Decode(b, &r)
		if !bytes.Equal(b, orig) {
			t.Fatalf("Decode changed its input from %q to %q", orig, b)
		}
		if err != nil {
			if !errors.Is(err, ivr.ErrBadRequest) {
				t.Fatalf("error %q does not wrap ErrBadRequest", err)
			}
			if !strings.HasPrefix(err.Error(), "bad request: ") {
				t.Fatalf("error %q", err)
			}
			return
		}
		if r.LayerID < 0 || r.LayerID > ivr.MaxLayer {
			t.Fatalf("LayerID %d out of range", r.LayerID)
		}
		if r.DTMF == "" {
			t.Fatal("DTMF is empty")
		}
		if r.HasPrevious && (r.PreviousLayerID < 0 || r.PreviousLayerID > ivr.MaxLayer) {
			t.Fatalf("PreviousLayerID %d out of range", r.PreviousLayerID)
		}
		if !r.HasPrevious && r.PreviousLayerID != 0 {
			t.Fatalf("PreviousLayerID %d without HasPrevious", r.PreviousLayerID)
		}
		if !r.HasCustomData && len(r.CustomData) != 0 {
			t.Fatalf("CustomData %v without HasCustomData", r.CustomData)
		}
		for _, fd := range r.CustomData {
			switch fd.Value.(type) {
			case nil, string, bool, float64: // float64 may be NaN or Inf: fastjson reads them
			default:
				t.Fatalf("CUSTOM_DATA %q is a %T", fd.Key, fd.Value)
			}
		}
		// Decoding again into a used request gives the same result.
		dirty := ivr.Request{DID: "x", CallerID: "x", UniqueID: "x", DTMF: "x", LayerID: 99,
			PreviousLayerID: 98, HasPrevious: true, HasCustomData: true,
			CustomData: []ivr.Field{{Key: "stale", Value: "stale"}}}
		if err := ivr.Decode(b, &dirty); err != nil {
			t.Fatalf("second Decode: %v", err)
		}
		if !sameRequest(r, dirty) {
			t.Fatalf("decoding into a used request:\ngot  %+v\nwant %+v", dirty, r)
		}
		// Whatever was decoded, a script's answer built from it parses.
		a := ivr.Action{Kind: ivr.Dial, CallerID: r.DID, CallerName: r.CallerID, Layer: r.LayerID,
			Targets: []ivr.Target{{Type: "PHONE", Target: r.DTMF}}, CustomData: r.CustomData, HasCustomData: true}
		if out := a.AppendJSON(nil); !json.Valid(out) {
			t.Fatalf("answer is not JSON: %s", out)
		}
	})
}
