package ivr_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ivrouter/ivrouter/bridge/ivr"
)

// TestParseAnswerReadsTheDocsExamples: each response example of the API
// documentation reads as the action it describes.
func TestParseAnswerReadsTheDocsExamples(t *testing.T) {
	for file, want := range map[string]ivr.Action{
		"goto-custom-response.json": {Kind: ivr.GoToLayer, Layer: 22, CallerName: "Shlomi", HasCustomData: true, CustomData: []ivr.Field{
			{Key: "CRM_cleint_ID", Value: "12345"}, {Key: "Last_ticket_ID", Value: "222"}, {Key: "Last_representative", Value: "John Doe"}}},
		"case-response.json": {Kind: ivr.GoToLayer, Layer: 12},
		"goto-response.json": {Kind: ivr.GoToLayer, Layer: 12},
		"say-response.json": {Kind: ivr.SayDigits, Layer: 2, FailLayer: 1, HasFailLayer: true, Language: "EN", Items: []ivr.Item{
			{Type: "Recording", Content: "9899115_20849570029.mp3"}, {Type: "Digits", Content: "0501234567"},
			{Type: "Number", Content: "112"}, {Type: "Date", Content: "2019-12-14"},
			{Type: "DateTime", Content: "2019-12-14T10:12:59"}, {Type: "Recording", Content: "98972915_209570029.mp3"}}},
	} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "voicenter", file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ivr.ParseAnswer(b)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", file, *got, want)
		}
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "voicenter", "dial-response.json"))
	if err != nil {
		t.Fatal(err)
	}
	dial, err := ivr.ParseAnswer(b)
	if err != nil || dial.Kind != ivr.Dial || len(dial.Targets) == 0 || dial.Targets[0].Type == "" || !dial.HasCustomData {
		t.Errorf("dial-response.json: %+v, %v", dial, err)
	}
}

func TestParseAnswerRefusals(t *testing.T) {
	if a, err := ivr.ParseAnswer([]byte(`{"STATUS":1}`)); err != nil || a.Kind != ivr.Fail {
		t.Errorf("STATUS 1: %+v, %v", a, err)
	}
	for body, want := range map[string]string{
		`[]`:                                        "not an answer's JSON",
		`{"ACTION":"GO_TO_LAYER","LAYER":1}`:        "no STATUS",
		`{"STATUS":0,"ACTION":"HANG_UP"}`:           `ACTION "HANG_UP"`,
		`{"STATUS":0,"ACTION":"SAY_DIGITS"}`:        "no NEXT_LAYER",
		`{"STATUS":0,"ACTION":"DIAL","TARGETS":[]}`: "no NEXT_VO_ID",
		`{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":1,"CUSTOM_DATA":[1]}`: "not an object",
	} {
		if _, err := ivr.ParseAnswer([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}
