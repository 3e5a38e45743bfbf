package ivr_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ivrouter/ivrouter/bridge/ivr"
)

// docsDir holds the documentation's JSON examples.
const docsDir = "../../testdata/voicenter"

func readDoc(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(docsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameRequest compares two requests, treating a nil and an empty CustomData
// alike (Decode reuses the slice it is given), and NaN as equal to itself.
func sameRequest(a, b ivr.Request) bool {
	if len(a.CustomData) != len(b.CustomData) {
		return false
	}
	for i := range a.CustomData {
		fa, fb := a.CustomData[i], b.CustomData[i]
		if fa.Key != fb.Key || !reflect.DeepEqual(fa.Value, fb.Value) && !bothNaN(fa.Value, fb.Value) {
			return false
		}
	}
	a.CustomData, b.CustomData = nil, nil
	return reflect.DeepEqual(a, b)
}

func bothNaN(a, b any) bool {
	fa, ok1 := a.(float64)
	fb, ok2 := b.(float64)
	return ok1 && ok2 && math.IsNaN(fa) && math.IsNaN(fb)
}

func decode(t *testing.T, body string) ivr.Request {
	t.Helper()
	var r ivr.Request
	if err := ivr.Decode([]byte(body), &r); err != nil {
		t.Fatalf("Decode(%s): %v", body, err)
	}
	return r
}

func TestDecodeDocsExamples(t *testing.T) {
	for _, tc := range []struct {
		file string
		want ivr.Request
	}{
		{"request.json", ivr.Request{
			DID:             "0722776772",
			CallerID:        "0501234567",
			UniqueID:        "1bcd7954224861f85a2d70612f2",
			DTMF:            "1234",
			LayerID:         5,
			PreviousLayerID: 5,
			HasPrevious:     true,
		}},
		{"case-request.json", ivr.Request{
			DID:             "0722776772",
			CallerID:        "0501234567",
			UniqueID:        "1bcd7954224861f85a2d70612f2",
			DTMF:            "12345678",
			LayerID:         5,
			PreviousLayerID: 5,
			HasPrevious:     true,
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var r ivr.Request
			if err := ivr.Decode(readDoc(t, tc.file), &r); err != nil {
				t.Fatal(err)
			}
			if !sameRequest(r, tc.want) {
				t.Errorf("got  %+v\nwant %+v", r, tc.want)
			}
		})
	}
}

// req builds the expected request of the table below: the docs' example
// with the changes f makes.
func req(f func(r *ivr.Request)) ivr.Request {
	r := ivr.Request{
		DID:             "0722776772",
		CallerID:        "0501234567",
		UniqueID:        "u1",
		DTMF:            "1234",
		LayerID:         5,
		PreviousLayerID: 5,
		HasPrevious:     true,
	}
	if f != nil {
		f(&r)
	}
	return r
}

// body builds an IVR_LAYER_INPUT request whose DATA holds the given members.
func body(data string) string {
	return `{"METHOD":"IVR_LAYER_INPUT","DATA":{` + data + `}}`
}

const base = `"DID":"0722776772","CALLER_ID":"0501234567","IVR_UNIQUE_ID":"u1","DTMF":"1234"`

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want ivr.Request
	}{
		{"ids as strings", body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":"5"`), req(nil)},
		{"ids as numbers", body(base + `,"LAYER_ID":5,"PREVIOUS_LAYER_ID":5`), req(nil)},
		{"layer string, previous number", body(base + `,"LAYER_ID":"7","PREVIOUS_LAYER_ID":3`),
			req(func(r *ivr.Request) { r.LayerID, r.PreviousLayerID = 7, 3 })},
		{"layer number, previous string", body(base + `,"LAYER_ID":7,"PREVIOUS_LAYER_ID":"3"`),
			req(func(r *ivr.Request) { r.LayerID, r.PreviousLayerID = 7, 3 })},
		{"layer zero", body(base + `,"LAYER_ID":"0","PREVIOUS_LAYER_ID":0`),
			req(func(r *ivr.Request) { r.LayerID, r.PreviousLayerID = 0, 0 })},
		{"layer with spaces in the string", body(base + `,"LAYER_ID":" 5 ","PREVIOUS_LAYER_ID":"\t5"`), req(nil)},
		{"layer with leading zeros", body(base + `,"LAYER_ID":"005","PREVIOUS_LAYER_ID":"5"`), req(nil)},
		{"layer as a whole float", body(base + `,"LAYER_ID":5.0,"PREVIOUS_LAYER_ID":5e0`), req(nil)},
		{"largest layer as string", body(base + `,"LAYER_ID":"2147483647","PREVIOUS_LAYER_ID":"5"`),
			req(func(r *ivr.Request) { r.LayerID = ivr.MaxLayer })},
		{"largest layer as number", body(base + `,"LAYER_ID":2147483647,"PREVIOUS_LAYER_ID":2147483647`),
			req(func(r *ivr.Request) { r.LayerID, r.PreviousLayerID = ivr.MaxLayer, ivr.MaxLayer })},
		{"caller id as a number", body(`"DID":"0722776772","CALLER_ID":501234567,"IVR_UNIQUE_ID":"u1","DTMF":"1234","LAYER_ID":"5","PREVIOUS_LAYER_ID":"5"`),
			req(func(r *ivr.Request) { r.CallerID = "501234567" })},
		{"did and dtmf as numbers", body(`"DID":722776772,"CALLER_ID":"0501234567","IVR_UNIQUE_ID":"u1","DTMF":1234,"LAYER_ID":"5","PREVIOUS_LAYER_ID":"5"`),
			req(func(r *ivr.Request) { r.DID = "722776772" })},
		{"null strings read as empty", body(`"DID":null,"CALLER_ID":null,"IVR_UNIQUE_ID":null,"DTMF":"1234","LAYER_ID":"5","PREVIOUS_LAYER_ID":"5"`),
			req(func(r *ivr.Request) { r.DID, r.CallerID, r.UniqueID = "", "", "" })},
		{"escaped strings", body(`"DID":"07227\u00376772","CALLER_ID":"+972\"5\\","IVR_UNIQUE_ID":"u1","DTMF":"1234","LAYER_ID":"5","PREVIOUS_LAYER_ID":"5"`),
			req(func(r *ivr.Request) { r.CallerID = `+972"5\` })},
		{"DATA as a string holding an object",
			`{"METHOD":"IVR_LAYER_INPUT","DATA":"{\"DID\":\"0722776772\",\"CALLER_ID\":\"0501234567\",\"IVR_UNIQUE_ID\":\"u1\",\"DTMF\":\"1234\",\"LAYER_ID\":\"5\",\"PREVIOUS_LAYER_ID\":5}"}`,
			req(nil)},
		{"DATA string with whitespace around the object",
			`{"METHOD":"IVR_LAYER_INPUT","DATA":" {\"LAYER_ID\":9} "}`,
			ivr.Request{DTMF: "0", LayerID: 9}},
		{"keys with stray spaces, as the docs spell them",
			body(`"DID":"0722776772","CALLER_ ID":"0501234567","IVR_UNIQUE_ ID":"u1","DTMF ":"1234","LAYER_ ID":"5"," PREVIOUS_LAYER_ID":"5"`),
			req(nil)},
		{"keys in lower case",
			`{"method":"IVR_LAYER_INPUT","data":{"did":"0722776772","caller_id":"0501234567","ivr_unique_id":"u1","dtmf":"1234","layer_id":"5","previous_layer_id":"5"}}`,
			req(nil)},
		{"keys in mixed case with tabs",
			`{"Method":"IVR_LAYER_INPUT","Data":{"Did":"0722776772","Caller_\tId":"0501234567","Ivr_Unique_Id":"u1","Dtmf":"1234","Layer_Id":"5","Previous_Layer_Id":"5"}}`,
			req(nil)},
		{"unknown members are ignored",
			`{"METHOD":"IVR_LAYER_INPUT","EXTRA":[1,2],"DATA":{` + base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":"5","CALLER_ID_2":"x","LAYER":"9"}}`,
			req(nil)},
		{"DTMF missing", body(`"DID":"0722776772","CALLER_ID":"0501234567","IVR_UNIQUE_ID":"u1","LAYER_ID":"5","PREVIOUS_LAYER_ID":"5"`),
			req(func(r *ivr.Request) { r.DTMF = "0" })},
		{"DTMF empty", body(`"DID":"0722776772","CALLER_ID":"0501234567","IVR_UNIQUE_ID":"u1","DTMF":"","LAYER_ID":"5","PREVIOUS_LAYER_ID":"5"`),
			req(func(r *ivr.Request) { r.DTMF = "0" })},
		{"DTMF null", body(`"DID":"0722776772","CALLER_ID":"0501234567","IVR_UNIQUE_ID":"u1","DTMF":null,"LAYER_ID":"5","PREVIOUS_LAYER_ID":"5"`),
			req(func(r *ivr.Request) { r.DTMF = "0" })},
		{"DTMF with star and hash", body(`"DID":"0722776772","CALLER_ID":"0501234567","IVR_UNIQUE_ID":"u1","DTMF":"*12#","LAYER_ID":"5","PREVIOUS_LAYER_ID":"5"`),
			req(func(r *ivr.Request) { r.DTMF = "*12#" })},
		{"DTMF zero is kept", body(`"DID":"0722776772","CALLER_ID":"0501234567","IVR_UNIQUE_ID":"u1","DTMF":"0","LAYER_ID":"5","PREVIOUS_LAYER_ID":"5"`),
			req(func(r *ivr.Request) { r.DTMF = "0" })},
		{"PREVIOUS_LAYER_ID missing", body(base + `,"LAYER_ID":"5"`),
			req(func(r *ivr.Request) { r.PreviousLayerID, r.HasPrevious = 0, false })},
		{"PREVIOUS_LAYER_ID empty string", body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":""`),
			req(func(r *ivr.Request) { r.PreviousLayerID, r.HasPrevious = 0, false })},
		{"PREVIOUS_LAYER_ID null", body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":null`),
			req(func(r *ivr.Request) { r.PreviousLayerID, r.HasPrevious = 0, false })},
		{"PREVIOUS_LAYER_ID not a number reads as absent", body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":"abc"`),
			req(func(r *ivr.Request) { r.PreviousLayerID, r.HasPrevious = 0, false })},
		{"PREVIOUS_LAYER_ID negative reads as absent", body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":-1`),
			req(func(r *ivr.Request) { r.PreviousLayerID, r.HasPrevious = 0, false })},
		{"PREVIOUS_LAYER_ID fraction reads as absent", body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":5.5`),
			req(func(r *ivr.Request) { r.PreviousLayerID, r.HasPrevious = 0, false })},
		{"PREVIOUS_LAYER_ID huge reads as absent", body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":"99999999999"`),
			req(func(r *ivr.Request) { r.PreviousLayerID, r.HasPrevious = 0, false })},
		{"PREVIOUS_LAYER_ID object reads as absent", body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":{}`),
			req(func(r *ivr.Request) { r.PreviousLayerID, r.HasPrevious = 0, false })},
		{"CUSTOM_DATA flat, in arrival order, values as strings, nulls left out",
			body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":"5","CUSTOM_DATA":{"z":"last?","CRM_cleint_ID":"12345","n":12.5,"i":7,"e":1e3,"yes":true,"no":false,"nothing":null}`),
			req(func(r *ivr.Request) {
				r.HasCustomData = true
				r.CustomData = []ivr.Field{
					{Key: "z", Value: "last?"},
					{Key: "CRM_cleint_ID", Value: "12345"},
					{Key: "n", Value: "12.5"},
					{Key: "i", Value: "7"},
					{Key: "e", Value: "1e3"},
					{Key: "yes", Value: "true"},
					{Key: "no", Value: "false"},
				}
			})},
		{"CUSTOM_DATA with nested values keeps their JSON text",
			body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":"5","custom_ data":{"flat":"1","obj":{"b":1, "c" : [true,null]},"arr":[1,"x"]}`),
			req(func(r *ivr.Request) {
				r.HasCustomData = true
				r.CustomData = []ivr.Field{
					{Key: "flat", Value: "1"},
					{Key: "obj", Value: `{"b":1,"c":[true,null]}`},
					{Key: "arr", Value: `[1,"x"]`},
				}
			})},
		{"CUSTOM_DATA empty object", body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":"5","CUSTOM_DATA":{}`),
			req(func(r *ivr.Request) { r.HasCustomData = true })},
		{"CUSTOM_DATA null is absent", body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":"5","CUSTOM_DATA":null`), req(nil)},
		{"CUSTOM_DATA as a string holding an object",
			body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":"5","CUSTOM_DATA":"{\"a\":1,\"b\":\"x\",\"c\":null}"`),
			req(func(r *ivr.Request) {
				r.HasCustomData = true
				r.CustomData = []ivr.Field{{Key: "a", Value: "1"}, {Key: "b", Value: "x"}}
			})},
		{"CUSTOM_DATA as a string in DATA as a string",
			`{"METHOD":"IVR_LAYER_INPUT","DATA":"{\"LAYER_ID\":5,\"CUSTOM_DATA\":\"{\\\"crm_id\\\":\\\"42\\\"}\"}"}`,
			ivr.Request{DTMF: "0", LayerID: 5, HasCustomData: true, CustomData: []ivr.Field{{Key: "crm_id", Value: "42"}}}},
		{"CUSTOM_DATA empty string is absent", body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":"5","CUSTOM_DATA":""`), req(nil)},
		{"CUSTOM_DATA string of a list is absent", body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":"5","CUSTOM_DATA":"[1]"`), req(nil)},
		{"CUSTOM_DATA string that is not JSON is absent", body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":"5","CUSTOM_DATA":"crm_id=42"`), req(nil)},
		{"CUSTOM_DATA number is absent", body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":"5","CUSTOM_DATA":42`), req(nil)},
		{"only LAYER_ID", body(`"LAYER_ID":12`), ivr.Request{DTMF: "0", LayerID: 12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := decode(t, tc.body)
			if !sameRequest(r, tc.want) {
				t.Errorf("got  %+v\nwant %+v", r, tc.want)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	long := strings.Repeat("9", 100)
	for _, tc := range []struct {
		name string
		body string
		msg  string // expected in the error, after "bad request: "
	}{
		{"empty body", ``, "body is not JSON"},
		{"not JSON", `METHOD=IVR_LAYER_INPUT`, "body is not JSON"},
		{"truncated JSON", `{"METHOD":"IVR_LAYER_INPUT","DATA":{`, "body is not JSON"},
		{"trailing garbage", body(`"LAYER_ID":5`) + `}`, "body is not JSON"},
		{"two documents", body(`"LAYER_ID":5`) + body(`"LAYER_ID":5`), "body is not JSON"},
		{"JSON array", `[{"METHOD":"IVR_LAYER_INPUT","DATA":{"LAYER_ID":5}}]`, "body is a JSON array, want an object"},
		{"JSON string", `"IVR_LAYER_INPUT"`, "body is a JSON string, want an object"},
		{"JSON null", `null`, "body is a JSON null, want an object"},
		{"JSON number", `5`, "body is a JSON number, want an object"},
		{"METHOD missing", `{"DATA":{"LAYER_ID":5}}`, `METHOD is missing, want "IVR_LAYER_INPUT"`},
		{"METHOD wrong", `{"METHOD":"IVR_LAYER","DATA":{"LAYER_ID":5}}`, `METHOD is "IVR_LAYER", want "IVR_LAYER_INPUT"`},
		{"METHOD in lower case", `{"METHOD":"ivr_layer_input","DATA":{"LAYER_ID":5}}`, `METHOD is "ivr_layer_input", want "IVR_LAYER_INPUT"`},
		{"METHOD a number", `{"METHOD":1,"DATA":{"LAYER_ID":5}}`, `METHOD is 1, want "IVR_LAYER_INPUT"`},
		{"METHOD null", `{"METHOD":null,"DATA":{"LAYER_ID":5}}`, `METHOD is null, want "IVR_LAYER_INPUT"`},
		{"METHOD huge is clipped", `{"METHOD":"` + long + `","DATA":{"LAYER_ID":5}}`, `METHOD is "` + long[:39] + `..., want`},
		{"DATA missing", `{"METHOD":"IVR_LAYER_INPUT"}`, "DATA is missing"},
		{"DATA null", `{"METHOD":"IVR_LAYER_INPUT","DATA":null}`, "DATA is missing"},
		{"DATA number", `{"METHOD":"IVR_LAYER_INPUT","DATA":5}`, "DATA is a JSON number, want an object"},
		{"DATA array", `{"METHOD":"IVR_LAYER_INPUT","DATA":[{"LAYER_ID":5}]}`, "DATA is a JSON array, want an object"},
		{"DATA true", `{"METHOD":"IVR_LAYER_INPUT","DATA":true}`, "DATA is a JSON true, want an object"},
		{"DATA string not JSON", `{"METHOD":"IVR_LAYER_INPUT","DATA":"LAYER_ID=5"}`, "DATA is a string that does not hold a JSON object"},
		{"DATA string holding a number", `{"METHOD":"IVR_LAYER_INPUT","DATA":"5"}`, "DATA is a string that does not hold a JSON object"},
		{"DATA string holding an array", `{"METHOD":"IVR_LAYER_INPUT","DATA":"[{\"LAYER_ID\":5}]"}`, "DATA is a string that does not hold a JSON object"},
		{"DATA empty string", `{"METHOD":"IVR_LAYER_INPUT","DATA":""}`, "DATA is a string that does not hold a JSON object"},
		{"LAYER_ID missing", body(base + `,"PREVIOUS_LAYER_ID":"5"`), "DATA.LAYER_ID is missing"},
		{"LAYER_ID missing in DATA string", `{"METHOD":"IVR_LAYER_INPUT","DATA":"{}"}`, "DATA.LAYER_ID is missing"},
		{"LAYER_ID non-numeric", body(base + `,"LAYER_ID":"abc"`), `DATA.LAYER_ID is "abc", want a layer number`},
		{"LAYER_ID empty", body(base + `,"LAYER_ID":""`), `DATA.LAYER_ID is "", want a layer number`},
		{"LAYER_ID null", body(base + `,"LAYER_ID":null`), `DATA.LAYER_ID is null, want a layer number`},
		{"LAYER_ID bool", body(base + `,"LAYER_ID":true`), `DATA.LAYER_ID is true, want a layer number`},
		{"LAYER_ID object", body(base + `,"LAYER_ID":{"id":5}`), `DATA.LAYER_ID is {"id":5}, want a layer number`},
		{"LAYER_ID negative number", body(base + `,"LAYER_ID":-5`), `DATA.LAYER_ID is -5, want a layer number`},
		{"LAYER_ID negative string", body(base + `,"LAYER_ID":"-5"`), `DATA.LAYER_ID is "-5", want a layer number`},
		{"LAYER_ID plus sign", body(base + `,"LAYER_ID":"+5"`), `DATA.LAYER_ID is "+5", want a layer number`},
		{"LAYER_ID hex", body(base + `,"LAYER_ID":"0x5"`), `DATA.LAYER_ID is "0x5", want a layer number`},
		{"LAYER_ID float", body(base + `,"LAYER_ID":5.5`), `DATA.LAYER_ID is 5.5, want a layer number`},
		{"LAYER_ID float string", body(base + `,"LAYER_ID":"5.5"`), `DATA.LAYER_ID is "5.5", want a layer number`},
		{"LAYER_ID inner spaces", body(base + `,"LAYER_ID":"1 2"`), `DATA.LAYER_ID is "1 2", want a layer number`},
		{"LAYER_ID just over the maximum", body(base + `,"LAYER_ID":2147483648`), `DATA.LAYER_ID is 2147483648, want a layer number`},
		{"LAYER_ID string just over the maximum", body(base + `,"LAYER_ID":"2147483648"`), `DATA.LAYER_ID is "2147483648", want a layer number`},
		{"LAYER_ID huge number", body(base + `,"LAYER_ID":1e300`), `DATA.LAYER_ID is 1e300, want a layer number`},
		{"LAYER_ID huge string", body(base + `,"LAYER_ID":"99999999999999999999"`), `DATA.LAYER_ID is "99999999999999999999", want a layer number`},
		{"LAYER_ID huge value is clipped", body(base + `,"LAYER_ID":"` + long + `"`), `DATA.LAYER_ID is "` + long[:39] + `..., want a layer number`},
		{"LAYER_ID NaN", body(base + `,"LAYER_ID":NaN`), `DATA.LAYER_ID is NaN, want a layer number`},
		{"DID an object", body(`"DID":{},"LAYER_ID":5`), "DATA.DID is {}, want a string"},
		{"CALLER_ID an array", body(`"CALLER_ID":["0501234567"],"LAYER_ID":5`), "DATA.CALLER_ID is [\"0501234567\"], want a string"},
		{"IVR_UNIQUE_ID a bool", body(`"IVR_UNIQUE_ID":false,"LAYER_ID":5`), "DATA.IVR_UNIQUE_ID is false, want a string"},
		{"DTMF a bool", body(`"DTMF":true,"LAYER_ID":5`), "DATA.DTMF is true, want a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r ivr.Request
			err := ivr.Decode([]byte(tc.body), &r)
			if err == nil {
				t.Fatalf("Decode(%s) = nil error, %+v", tc.body, r)
			}
			if !errors.Is(err, ivr.ErrBadRequest) {
				t.Errorf("error %q does not wrap ErrBadRequest", err)
			}
			if want := "bad request: " + tc.msg; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q\nwant it to start with %q", err, want)
			}
			if len(err.Error()) > 200 {
				t.Errorf("error is %d bytes long: %q", len(err.Error()), err)
			}
		})
	}
}

func TestDecodeResetsAReusedRequest(t *testing.T) {
	var r ivr.Request
	first := body(base + `,"LAYER_ID":"5","PREVIOUS_LAYER_ID":"4","CUSTOM_DATA":{"a":"1","b":"2"}`)
	if err := ivr.Decode([]byte(first), &r); err != nil {
		t.Fatal(err)
	}
	if !r.HasCustomData || len(r.CustomData) != 2 || !r.HasPrevious {
		t.Fatalf("first request: %+v", r)
	}
	if err := ivr.Decode([]byte(body(`"LAYER_ID":9`)), &r); err != nil {
		t.Fatal(err)
	}
	if want := (ivr.Request{DTMF: "0", LayerID: 9}); !sameRequest(r, want) {
		t.Errorf("second request kept fields of the first: %+v", r)
	}
	if err := ivr.Decode([]byte(body(`"LAYER_ID":9,"CUSTOM_DATA":{"c":3}`)), &r); err != nil {
		t.Fatal(err)
	}
	if want := []ivr.Field{{Key: "c", Value: "3"}}; !reflect.DeepEqual(r.CustomData, want) {
		t.Errorf("third request CUSTOM_DATA = %+v, want %+v", r.CustomData, want)
	}
}

func TestDecodeOwnsItsStrings(t *testing.T) {
	b := []byte(body(`"DID":"0722776772","CALLER_ID":"05\u0030","IVR_UNIQUE_ID":"u1","DTMF":"1234","LAYER_ID":"5","CUSTOM_DATA":{"k\"":"v\\"}`))
	orig := string(b)
	var r ivr.Request
	if err := ivr.Decode(b, &r); err != nil {
		t.Fatal(err)
	}
	if string(b) != orig {
		t.Errorf("Decode changed its input:\n%s\nwas\n%s", b, orig)
	}
	for i := range b {
		b[i] = 'x'
	}
	// Decode more bodies so the pooled parser's buffers are reused.
	for i := 0; i < 3; i++ {
		var other ivr.Request
		if err := ivr.Decode([]byte(body(`"DID":"9999999999","CALLER_ID":"999","LAYER_ID":"1","CUSTOM_DATA":{"zz":"zz"}`)), &other); err != nil {
			t.Fatal(err)
		}
	}
	want := ivr.Request{DID: "0722776772", CallerID: "050", UniqueID: "u1", DTMF: "1234", LayerID: 5,
		HasCustomData: true, CustomData: []ivr.Field{{Key: `k"`, Value: `v\`}}}
	if !sameRequest(r, want) {
		t.Errorf("got  %+v\nwant %+v", r, want)
	}
}

func TestParseLayer(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true},
		{"5", 5, true},
		{"0005", 5, true},
		{"2147483647", ivr.MaxLayer, true},
		{"2147483648", 0, false},
		{"9999999999", 0, false},
		{"00000000001", 0, false}, // more than 10 characters
		{"", 0, false},
		{" 5", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1.0", 0, false},
		{"1e3", 0, false},
		{"٣", 0, false}, // Arabic-Indic digit three
	} {
		n, ok := ivr.ParseLayer(tc.in)
		if n != tc.want || ok != tc.ok {
			t.Errorf("ParseLayer(%q) = %d, %v; want %d, %v", tc.in, n, ok, tc.want, tc.ok)
		}
	}
}

func TestDecodeRejectsNumbersJSONDoesNotHave(t *testing.T) {
	for _, n := range []string{"NaN", "-Inf", "1-2"} {
		var r ivr.Request
		err := ivr.Decode([]byte(`{"METHOD":"IVR_LAYER_INPUT","DATA":{"CALLER_ID":`+n+`,"LAYER_ID":5}}`), &r)
		if !errors.Is(err, ivr.ErrBadRequest) {
			t.Errorf("CALLER_ID %s: got %v (%q), want a bad request", n, err, r.CallerID)
		}
	}
}

// A request's CUSTOM_DATA is bounded: fields past MaxRequestFields, and keys
// or values over MaxRequestFieldSize bytes, are left out, not the call.
func TestDecodeBoundsCustomData(t *testing.T) {
	var fields []string
	for i := range ivr.MaxRequestFields + 5 {
		fields = append(fields, fmt.Sprintf(`"k%d":"%d"`, i, i))
	}
	long := strings.Repeat("x", ivr.MaxRequestFieldSize+1)
	fits := strings.Repeat("y", ivr.MaxRequestFieldSize)
	for _, tc := range []struct {
		name   string
		custom string
		want   []ivr.Field
	}{
		{"too many fields", "{" + strings.Join(fields, ",") + "}", nil},
		{"long value", `{"a":"` + long + `","b":"` + fits + `","c":{"d":"` + fits + `"}}`, []ivr.Field{{Key: "b", Value: fits}}},
		{"long key", `{"` + long + `":"1","` + fits + `":"2"}`, []ivr.Field{{Key: fits, Value: "2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := decode(t, body(`"LAYER_ID":5,"CUSTOM_DATA":`+tc.custom))
			if !r.HasCustomData {
				t.Fatalf("CUSTOM_DATA dropped whole: %+v", r)
			}
			if tc.want == nil {
				if len(r.CustomData) != ivr.MaxRequestFields || r.CustomData[ivr.MaxRequestFields-1].Key != fmt.Sprintf("k%d", ivr.MaxRequestFields-1) {
					t.Errorf("kept %d fields, want the first %d", len(r.CustomData), ivr.MaxRequestFields)
				}
				return
			}
			if !reflect.DeepEqual(r.CustomData, tc.want) {
				t.Errorf("got %d fields %.80v, want %.80v", len(r.CustomData), r.CustomData, tc.want)
			}
		})
	}
}
