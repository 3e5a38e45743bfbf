package cdr

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// sampleRecord is Voicenter's SDK sample (CdrRequest.json), as every
// testdata/sample.* file encodes it.
func sampleRecord() *Record {
	steps := []Step{{LayerID: 8650, LayerName: "Store List", LayerNumber: 1, DTMF: "0", Order: 1}}
	for i := 2; i <= 10; i++ {
		steps = append(steps, Step{LayerID: 8869, LayerName: "Store List DTMF", LayerNumber: 2001, DTMF: "0", Order: i})
	}
	steps = append(steps, Step{LayerID: 8851, LayerName: "1 אבן גבירול", LayerNumber: 2, DTMF: "0", Order: 11})
	return &Record{
		CallID:             "2020020419500000000000000000",
		Caller:             "0546666666",
		Target:             "972702246666",
		DID:                "0702246666",
		Type:               "Incoming Call",
		Status:             "ANSWER",
		Time:               time.Unix(1580846139, 0).UTC(),
		Duration:           38,
		DialTime:           33,
		RecordURL:          "http://example-recordings.s3.amazonaws.com/2020020419500000000000000000-aws-0546666666-0702246666.mp3",
		RepresentativeName: "External IVR",
		TargetCountry:      "Israel",
		CallerCountry:      "Israel",
		IVR:                steps,
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t *testing.T, contentType string, body []byte) (*Record, Encoding) {
	t.Helper()
	r, enc, err := Parse(contentType, body)
	if err != nil {
		t.Fatalf("Parse(%q, %.200q): %v", contentType, body, err)
	}
	return r, enc
}

func TestParseSampleAllEncodings(t *testing.T) {
	want := sampleRecord()
	for _, tc := range []struct {
		file string
		enc  Encoding
		cts  []string
	}{
		{"sample.json", JSON, []string{"application/json", "application/json; charset=utf-8", "", "text/plain", "application/octet-stream"}},
		{"sample.xml", XMLRPC, []string{"text/xml", "application/xml; charset=UTF-8", "", "text/plain"}},
		{"sample.form", Form, []string{"application/x-www-form-urlencoded", "Application/X-WWW-Form-Urlencoded; charset=UTF-8", "", "application/octet-stream"}},
	} {
		body := readTestdata(t, tc.file)
		for _, ct := range tc.cts {
			t.Run(tc.file+"/"+ct, func(t *testing.T) {
				got, enc := mustParse(t, ct, body)
				if enc != tc.enc {
					t.Errorf("encoding %v, want %v", enc, tc.enc)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("got  %+v\nwant %+v", got, want)
				}
			})
		}
	}
}

func TestParseDoesNotAliasBody(t *testing.T) {
	for _, file := range []string{"sample.json", "sample.xml", "sample.form"} {
		body := readTestdata(t, file)
		r, _ := mustParse(t, "", body)
		for i := range body {
			body[i] = 'X'
		}
		if !reflect.DeepEqual(r, sampleRecord()) {
			t.Errorf("%s: record changed with the body: %+v", file, r)
		}
	}
}

func TestBOM(t *testing.T) {
	for _, file := range []string{"sample.json", "sample.xml", "sample.form"} {
		body := append([]byte("\xEF\xBB\xBF"), readTestdata(t, file)...)
		if r, _ := mustParse(t, "", body); r.CallID != sampleRecord().CallID {
			t.Errorf("%s: CallID %q", file, r.CallID)
		}
	}
}

func TestNumbersAsStrings(t *testing.T) {
	body := `{"ivruniqueid": 2020020419500000000000000000, "caller": 546666666,
		"time": "1580846139", "duration": "38", "dialtime": " 33 ", "queueid": "7",
		"price": "1.25", "did": 702246666, "status": true,
		"IVR": [{"layer_id": "8650", "layer_name": 42, "layer_number": "1.0", "Dtmf": "05", "dtmf_order": 1.0}]}`
	r, _ := mustParse(t, "application/json", []byte(body))
	want := &Record{
		CallID:   "2020020419500000000000000000", // the digits as sent, not a float
		Caller:   "546666666",
		DID:      "702246666",
		Status:   "true",
		Time:     time.Unix(1580846139, 0).UTC(),
		Duration: 38,
		DialTime: 33,
		QueueID:  7,
		Price:    1.25,
		IVR:      []Step{{LayerID: 8650, LayerName: "42", LayerNumber: 1, DTMF: "05", Order: 1}},
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got  %+v\nwant %+v", r, want)
	}

	// Not numbers: zero, not an error.
	r, _ = mustParse(t, "", []byte(`{"ivruniqueid":"x","duration":"soon","price":"NaN","queueid":1e300,"time":"yesterday"}`))
	if r.Duration != 0 || r.Price != 0 || r.QueueID != 0 || !r.Time.IsZero() {
		t.Errorf("non-numbers: %+v", r)
	}
}

func TestTime(t *testing.T) {
	want := time.Unix(1580846139, 0).UTC()
	for in, w := range map[string]time.Time{
		`1580846139`:                  want,
		`"1580846139"`:                want,
		`1580846139.9`:                want,
		`"2020-02-04 19:55:39"`:       want,
		`"2020-02-04T21:55:39+02:00"`: want,
		`0`:                           {},
		`-5`:                          {},
		`""`:                          {},
		`null`:                        {},
		`99999999999999`:              {},
	} {
		r, _ := mustParse(t, "", []byte(`{"ivruniqueid":"x","time":`+in+`}`))
		if !r.Time.Equal(w) || r.Time.Location() != time.UTC {
			t.Errorf("time %s: got %v, want %v", in, r.Time, w)
		}
	}
	if r, _ := mustParse(t, "", []byte(`{"ivruniqueid":"x"}`)); !r.Time.IsZero() {
		t.Errorf("absent time: %v", r.Time)
	}
}

func TestIVRArrayVsString(t *testing.T) {
	steps := `[{"layer_id":8650,"layer_name":"Store List","layer_number":1,"Dtmf":0,"dtmf_order":1},` +
		`{"layer_id":8869,"layer_name":"Store List DTMF","layer_number":2001,"DTMF":"#","dtmf_order":2},` +
		`{"LAYER_ID":1,"dtmf":"*5","Dtmf_Order":3}]`
	want := []Step{
		{LayerID: 8650, LayerName: "Store List", LayerNumber: 1, DTMF: "0", Order: 1},
		{LayerID: 8869, LayerName: "Store List DTMF", LayerNumber: 2001, DTMF: "#", Order: 2},
		{LayerID: 1, DTMF: "*5", Order: 3},
	}
	quoted, _ := json.Marshal(steps)
	xmlArray := `<methodCall><methodName>cdr</methodName><params><param><value><struct>
		<member><name>ivruniqueid</name><value>x</value></member>
		<member><name>IVR</name><value><array><data>
			<value><struct>
				<member><name>layer_id</name><value><int>8650</int></value></member>
				<member><name>layer_name</name><value>Store List</value></member>
				<member><name>layer_number</name><value><i4>1</i4></value></member>
				<member><name>Dtmf</name><value><int>0</int></value></member>
				<member><name>dtmf_order</name><value><string>1</string></value></member>
			</struct></value>
			<value><struct>
				<member><name>layer_id</name><value><int>8869</int></value></member>
				<member><name>layer_name</name><value><string>Store List DTMF</string></value></member>
				<member><name>layer_number</name><value><int>2001</int></value></member>
				<member><name>DTMF</name><value><string>#</string></value></member>
				<member><name>dtmf_order</name><value><double>2.0</double></value></member>
			</struct></value>
			<value><struct>
				<member><name>LAYER_ID</name><value><int>1</int></value></member>
				<member><name>dtmf</name><value>*5</value></member>
				<member><name>Dtmf_Order</name><value><int>3</int></value></member>
			</struct></value>
			<value><string>not a step</string></value>
		</data></array></value></member>
	</struct></value></param></params></methodCall>`
	xmlString := `<methodCall><params><param><value><struct>
		<member><name>ivruniqueid</name><value>x</value></member>
		<member><name>IVR</name><value><string>` + xmlEscape(steps) + `</string></value></member>
	</struct></value></param></params></methodCall>`
	phpIndexed := `{"ivruniqueid":"x","IVR":{"1":` + steps[strings.Index(steps, `{"layer_id":8869`):strings.Index(steps, `,{"LAYER_ID"`)] +
		`,"0":` + steps[1:strings.Index(steps, `,{"layer_id":8869`)] + `,"2":{"LAYER_ID":1,"dtmf":"*5","Dtmf_Order":3}}}`
	form := url.Values{"ivruniqueid": {"x"}, "IVR": {steps}}.Encode()
	for name, tc := range map[string]struct{ ct, body string }{
		"json array":       {"application/json", `{"ivruniqueid":"x","IVR":` + steps + `}`},
		"json string":      {"application/json", `{"ivruniqueid":"x","IVR":` + string(quoted) + `}`},
		"json lowercase":   {"application/json", `{"ivruniqueid":"x","ivr":` + string(quoted) + `}`},
		"json php object":  {"application/json", phpIndexed},
		"xml-rpc array":    {"text/xml", xmlArray},
		"xml-rpc string":   {"text/xml", xmlString},
		"form json string": {"application/x-www-form-urlencoded", form},
	} {
		r, _ := mustParse(t, tc.ct, []byte(tc.body))
		if !reflect.DeepEqual(r.IVR, want) {
			t.Errorf("%s: IVR\n got  %+v\n want %+v", name, r.IVR, want)
		}
		if len(r.Extra) != 0 {
			t.Errorf("%s: Extra %+v", name, r.Extra)
		}
	}

	// Empty, null and [] are no steps; a shape we cannot read is kept as text.
	for _, in := range []string{`""`, `null`, `[]`, `"[]"`, `"  "`} {
		r, _ := mustParse(t, "", []byte(`{"ivruniqueid":"x","IVR":`+in+`}`))
		if len(r.IVR) != 0 || len(r.Extra) != 0 {
			t.Errorf("IVR %s: %+v", in, r)
		}
	}
	for in, text := range map[string]string{
		`"not json"`:  "not json",
		`"[{\"a\":"`:  `[{"a":`,
		`{"a":1}`:     `{"a":1}`,
		`42`:          "42",
		`"{\"a\":1}"`: `{"a":1}`,
	} {
		r, _ := mustParse(t, "", []byte(`{"ivruniqueid":"x","IVR":`+in+`}`))
		if len(r.IVR) != 0 || !reflect.DeepEqual(r.Extra, []Field{{"IVR", text}}) {
			t.Errorf("IVR %s: IVR %+v Extra %+v", in, r.IVR, r.Extra)
		}
	}
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func TestCustomData(t *testing.T) {
	want := []Field{{"A", "1"}, {"CRM_client_ID", "C-17"}, {"flag", "true"}, {"nested", `{"x":[1,"two"]}`}, {"none", ""}}
	obj := `{"CRM_client_ID":"C-17","A":1,"flag":true,"nested":{"x":[1,"two"]},"none":null}`
	quoted, _ := json.Marshal(obj)
	for name, tc := range map[string]struct{ ct, body string }{
		"json object": {"", `{"ivruniqueid":"x","CUSTOM_DATA":` + obj + `}`},
		"json string": {"", `{"ivruniqueid":"x","CUSTOM_DATA":` + string(quoted) + `}`},
		"json DATA":   {"", `{"ivruniqueid":"x","DATA":{"CUSTOM_DATA":` + obj + `}}`},
		"xml-rpc struct": {"text/xml", `<methodCall><params><param><value><struct>
			<member><name>ivruniqueid</name><value>x</value></member>
			<member><name>CUSTOM_DATA</name><value><struct>
				<member><name>CRM_client_ID</name><value>C-17</value></member>
				<member><name>A</name><value><int>1</int></value></member>
				<member><name>flag</name><value><boolean>1</boolean></value></member>
				<member><name>nested</name><value><struct><member><name>x</name><value><array><data>
					<value><i4>1</i4></value><value><string>two</string></value></data></array></value></member></struct></value></member>
				<member><name>none</name><value><nil/></value></member>
			</struct></value></member>
			</struct></value></param></params></methodCall>`},
		"xml-rpc string": {"text/xml", `<methodCall><params><param><value><struct>
			<member><name>ivruniqueid</name><value>x</value></member>
			<member><name>CUSTOM_DATA</name><value>` + xmlEscape(obj) + `</value></member>
			</struct></value></param></params></methodCall>`},
		"form string": {"", url.Values{"ivruniqueid": {"x"}, "CUSTOM_DATA": {obj}}.Encode()},
	} {
		r, _ := mustParse(t, tc.ct, []byte(tc.body))
		if !reflect.DeepEqual(r.CustomData, want) {
			t.Errorf("%s: CustomData\n got  %+v\n want %+v", name, r.CustomData, want)
		}
		if name == "json DATA" {
			if len(r.Extra) != 1 || r.Extra[0].Key != "DATA" {
				t.Errorf("%s: DATA should stay in Extra: %+v", name, r.Extra)
			}
		} else if len(r.Extra) != 0 {
			t.Errorf("%s: Extra %+v", name, r.Extra)
		}
	}

	// PHP's empty map is []; an empty string is nothing; other shapes are
	// kept as text.
	for _, in := range []string{`[]`, `""`, `null`, `{}`, `"{}"`} {
		r, _ := mustParse(t, "", []byte(`{"ivruniqueid":"x","CUSTOM_DATA":`+in+`}`))
		if len(r.CustomData) != 0 || len(r.Extra) != 0 {
			t.Errorf("CUSTOM_DATA %s: %+v", in, r)
		}
	}
	r, _ := mustParse(t, "", []byte(`{"ivruniqueid":"x","CUSTOM_DATA":"a=b"}`))
	if len(r.CustomData) != 0 || !reflect.DeepEqual(r.Extra, []Field{{"CUSTOM_DATA", "a=b"}}) {
		t.Errorf("CUSTOM_DATA text: %+v", r)
	}
	// Duplicate keys: the first wins.
	r, _ = mustParse(t, "", []byte(`{"ivruniqueid":"x","CUSTOM_DATA":{"k":"1","k":"2","":"empty"}}`))
	if !reflect.DeepEqual(r.CustomData, []Field{{"k", "1"}}) {
		t.Errorf("duplicate custom keys: %+v", r.CustomData)
	}
}

func TestPHPStyleForm(t *testing.T) {
	body := "ivruniqueid=x&IVR%5B1%5D%5Blayer_id%5D=8869&IVR%5B1%5D%5BDtmf%5D=2&IVR[1][dtmf_order]=2" +
		"&IVR[0][layer_id]=8650&IVR[0][layer_name]=Store+List&IVR[0][Dtmf]=0&IVR[0][dtmf_order]=1" +
		"&CUSTOM_DATA[crm]=C-17&CUSTOM_DATA[a]=1&other[x]=y&IVR[600][layer_id]=1&IVR[x][layer_id]=1&IVR[0]=bad"
	r, enc := mustParse(t, "application/x-www-form-urlencoded", []byte(body))
	if enc != Form {
		t.Errorf("encoding %v", enc)
	}
	want := &Record{
		CallID: "x",
		IVR: []Step{
			{LayerID: 8650, LayerName: "Store List", DTMF: "0", Order: 1},
			{LayerID: 8869, DTMF: "2", Order: 2},
		},
		CustomData: []Field{{"a", "1"}, {"crm", "C-17"}},
		Extra:      []Field{{"IVR[0]", "bad"}, {"other[x]", "y"}}, // kept as sent
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got  %+v\nwant %+v", r, want)
	}
}

func TestExtra(t *testing.T) {
	want := []Field{{"DialStatus", "ANSWERED"}, {"n", "1.50"}, {"obj", `{"a":[true,null]}`}, {"z", ""}}
	for name, tc := range map[string]struct{ ct, body string }{
		"json": {"", `{"z":null,"ivruniqueid":"x","DialStatus":"ANSWERED","n":1.50,"obj":{"a":[true,null]},"n":2,"CALLER":"c","caller":"d"}`},
		"xml-rpc": {"", `<?xml version="1.0"?><methodCall><params><param><value><struct>
			<member><name>z</name><value><nil/></value></member>
			<member><name>ivruniqueid</name><value>x</value></member>
			<member><name>DialStatus</name><value>ANSWERED</value></member>
			<member><name>n</name><value><double> 1.50 </double></value></member>
			<member><name>obj</name><value><struct><member><name>a</name><value><array><data>
				<value><boolean>1</boolean></value><value><nil/></value></data></array></value></member></struct></value></member>
			<member><name>n</name><value>2</value></member>
			<member><name>CALLER</name><value>c</value></member>
			<member><name>caller</name><value>d</value></member>
			</struct></value></param></params></methodCall>`},
		"form": {"", `z=&ivruniqueid=x&DialStatus=ANSWERED&n=1.50&obj=%7B%22a%22%3A%5Btrue%2Cnull%5D%7D&n=2&CALLER=c&caller=d`},
	} {
		r, _ := mustParse(t, tc.ct, []byte(tc.body))
		// In a form, null and the object arrive as text: the same text.
		if !reflect.DeepEqual(r.Extra, want) {
			t.Errorf("%s: Extra\n got  %+v\n want %+v", name, r.Extra, want)
		}
		if r.Caller != "c" {
			t.Errorf("%s: known keys match case-insensitively, first wins: caller %q", name, r.Caller)
		}
	}
}

func TestMissingCallID(t *testing.T) {
	for name, tc := range map[string]struct {
		body string
		enc  Encoding
	}{
		"json":       {`{"caller":"0546666666"}`, JSON},
		"json blank": {`{"ivruniqueid":"  "}`, JSON},
		"json null":  {`{"ivruniqueid":null}`, JSON},
		"xml-rpc":    {`<methodCall><params><param><value><struct><member><name>caller</name><value>1</value></member></struct></value></param></params></methodCall>`, XMLRPC},
		"form":       {`caller=0546666666`, Form},
		"form word":  {`hello`, Form},
	} {
		r, enc, err := Parse("", []byte(tc.body))
		if !errors.Is(err, ErrMissingCallID) || err.Error() != "cdr: missing ivruniqueid" {
			t.Errorf("%s: err %v", name, err)
		}
		if r != nil || enc != tc.enc {
			t.Errorf("%s: record %v, encoding %v", name, r, enc)
		}
	}
}

func TestMalformed(t *testing.T) {
	sample := readTestdata(t, "sample.json")
	sampleXML := readTestdata(t, "sample.xml")
	deep := strings.Repeat("<value><array><data>", 30) + strings.Repeat("</data></array></value>", 30)
	for name, tc := range map[string]struct {
		ct, body string
		enc      Encoding
		prefix   string
		contains string
	}{
		"empty":            {"application/json", "", JSON, "cdr: json: ", "empty body"},
		"empty form":       {"", " \r\n", Form, "cdr: form: ", "empty body"},
		"truncated json":   {"application/json", string(sample[:len(sample)/2]), JSON, "cdr: json: ", ""},
		"json array":       {"application/json", `[{"ivruniqueid":"x"}]`, JSON, "cdr: json: ", "want an object"},
		"json string":      {"application/json", `"x"`, JSON, "cdr: json: ", "want an object"},
		"json trailing":    {"", `{"ivruniqueid":"x"} {}`, JSON, "cdr: json: ", ""},
		"json deep":        {"", `{"ivruniqueid":"x","a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, JSON, "cdr: json: ", "nesting deeper than 64"},
		"truncated xml":    {"text/xml", string(sampleXML[:len(sampleXML)/2]), XMLRPC, "cdr: xml-rpc: ", ""},
		"mismatched xml":   {"text/xml", `<methodCall><params></param></methodCall>`, XMLRPC, "cdr: xml-rpc: ", ""},
		"not xml":          {"text/xml", `{"ivruniqueid":"x"}`, XMLRPC, "cdr: xml-rpc: ", ""},
		"no root":          {"text/xml", `<?xml version="1.0"?>`, XMLRPC, "cdr: xml-rpc: ", "no root"},
		"wrong root":       {"", `<struct><member><name>ivruniqueid</name><value>x</value></member></struct>`, XMLRPC, "cdr: xml-rpc: ", "want <methodCall>"},
		"no params":        {"", `<methodCall><methodName>cdr</methodName></methodCall>`, XMLRPC, "cdr: xml-rpc: ", "no struct param"},
		"empty params":     {"", `<methodCall><params></params></methodCall>`, XMLRPC, "cdr: xml-rpc: ", "no struct param"},
		"string param":     {"", `<methodCall><params><param><value>x</value></param></params></methodCall>`, XMLRPC, "cdr: xml-rpc: ", "no struct param"},
		"array param":      {"", `<methodCall><params><param><value><array><data/></array></value></param></params></methodCall>`, XMLRPC, "cdr: xml-rpc: ", "no struct param"},
		"two values":       {"", `<methodCall><params><param><value><struct/><int>1</int></value></param></params></methodCall>`, XMLRPC, "cdr: xml-rpc: ", "more than one value"},
		"element in int":   {"", `<methodCall><params><param><value><struct><member><name>a</name><value><int><b/></int></value></member></struct></value></param></params></methodCall>`, XMLRPC, "cdr: xml-rpc: ", "unexpected <b> inside <int>"},
		"deep xml":         {"", `<methodCall><params><param><value><struct><member><name>ivruniqueid</name><value>x</value></member><member><name>a</name>` + deep + `</member></struct></value></param></params></methodCall>`, XMLRPC, "cdr: xml-rpc: ", "nesting deeper than 64"},
		"deep skipped xml": {"", `<methodCall>` + strings.Repeat("<x>", 1000) + strings.Repeat("</x>", 1000) + `</methodCall>`, XMLRPC, "cdr: xml-rpc: ", "nesting deeper than 64"},
		"unknown charset":  {"", `<?xml version="1.0" encoding="windows-1255"?><methodCall/>`, XMLRPC, "cdr: xml-rpc: ", "windows-1255"},
		"bad form key":     {"", `ivruniqueid=x&%zz=1`, Form, "cdr: form: ", `key "%zz"`},
		"bad form value":   {"application/x-www-form-urlencoded", `ivruniqueid=%4`, Form, "cdr: form: ", `value of "ivruniqueid"`},
	} {
		r, enc, err := Parse(tc.ct, []byte(tc.body))
		if err == nil {
			t.Errorf("%s: no error; record %+v", name, r)
			continue
		}
		if r != nil || enc != tc.enc {
			t.Errorf("%s: record %v, encoding %v (want %v)", name, r, enc, tc.enc)
		}
		if !strings.HasPrefix(err.Error(), tc.prefix) || !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("%s: error %q, want prefix %q containing %q", name, err, tc.prefix, tc.contains)
		}
	}
}

// Go's encoding/xml does not expand entities declared in a DOCTYPE: a use
// of one is an error, and a declaration alone is ignored.
func TestEntityExpansion(t *testing.T) {
	var dtd strings.Builder
	dtd.WriteString(`<?xml version="1.0"?><!DOCTYPE methodCall [<!ENTITY lol "lol">`)
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&dtd, `<!ENTITY lol%d "%s">`, i, strings.Repeat(fmt.Sprintf("&lol%d;", i-1), 10))
	}
	dtd.WriteString(`]>`)
	call := func(v string) string {
		return `<methodCall><params><param><value><struct><member><name>ivruniqueid</name><value>x</value></member>` +
			`<member><name>laughs</name><value>` + v + `</value></member></struct></value></param></params></methodCall>`
	}
	start := time.Now()
	_, _, err := Parse("text/xml", []byte(dtd.String()+call("&lol9;")))
	if err == nil || !strings.HasPrefix(err.Error(), "cdr: xml-rpc: ") {
		t.Errorf("entity use: err %v", err)
	}
	r, _, err := Parse("text/xml", []byte(dtd.String()+call("plain")))
	if err != nil || r.CallID != "x" || !reflect.DeepEqual(r.Extra, []Field{{"laughs", "plain"}}) {
		t.Errorf("declaration alone: %+v, %v", r, err)
	}
	// External entities are not fetched either.
	_, _, err = Parse("text/xml", []byte(`<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>`+call("&x;")))
	if err == nil {
		t.Error("external entity: no error")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	// The predefined entities and character references are text.
	r, _, err = Parse("text/xml", []byte(call("&lt;&amp;&#x5d0;&#65;")))
	if err != nil || r.Extra[0].Value != "<&\u05d0A" {
		t.Errorf("predefined entities: %+v, %v", r, err)
	}
}

func TestXMLCharsets(t *testing.T) {
	body := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall><params><param><value><struct>" +
		"<member><name>ivruniqueid</name><value>x</value></member>" +
		"<member><name>caller_country</name><value>Espa\xf1a</value></member>" +
		"</struct></value></param></params></methodCall>"
	r, _ := mustParse(t, "text/xml", []byte(body))
	if r.CallerCountry != "España" {
		t.Errorf("latin-1: %q", r.CallerCountry)
	}
}

func TestXMLRPCTypes(t *testing.T) {
	body := `<methodCall><methodName>x</methodName><params><param><value><struct>
		<member><value><string>ignored: no name</string></value></member>
		<member><name>ivruniqueid</name></member><!-- no value: skipped -->
		<member><name> ivruniqueid </name><value><i8>2020020419500000000000000000</i8></value></member>
		<member><name>b64</name><value><base64>aGVs
			bG8=</base64></value></member>
		<member><name>badb64</name><value><base64>!!</base64></value></member>
		<member><name>when</name><value><dateTime.iso8601> 20200204T19:55:39 </dateTime.iso8601></value></member>
		<member><name>bool</name><value><boolean>0</boolean></value></member>
		<member><name>badbool</name><value><boolean>maybe</boolean></value></member>
		<member><name>badint</name><value><int>12a</int></value></member>
		<member><name>untyped</name><value>  spaced  </value></member>
		<member><name>unknown</name><value><ex:thing xmlns:ex="urn:x">t</ex:thing></value></member>
		<member><name>empty</name><value/></member>
		<!-- a comment --><?pi x?>
		<junk><deeper/></junk>
		</struct></value></param><param><value><int>2</int></value></param></params></methodCall>`
	r, _ := mustParse(t, "text/xml", []byte(body))
	want := []Field{
		{"b64", "hello"}, {"badb64", "!!"}, {"badbool", "maybe"}, {"badint", "12a"}, {"bool", "false"},
		{"empty", ""}, {"unknown", "t"}, {"untyped", "  spaced  "}, {"when", "20200204T19:55:39"},
	}
	if r.CallID != "2020020419500000000000000000" || !reflect.DeepEqual(r.Extra, want) {
		t.Errorf("got %q\n %+v\nwant %+v", r.CallID, r.Extra, want)
	}
}

func TestBounds(t *testing.T) {
	long := strings.Repeat("ab", MaxString) // 8 KiB
	// A multi-byte rune straddling the cut must not be split.
	straddle := strings.Repeat("a", MaxString-1) + "אבג"

	var js strings.Builder
	js.WriteString(`{"ivruniqueid":"x","caller":"` + long + `","target":"` + straddle + `",`)
	js.WriteString(`"CUSTOM_DATA":{`)
	for i := range 200 {
		fmt.Fprintf(&js, `"k%03d":"%d",`, i, i)
	}
	js.WriteString(`"long":"` + long + `"},"IVR":[`)
	for i := range 2000 {
		fmt.Fprintf(&js, `{"layer_id":%d,"layer_name":"%s"},`, i, long)
	}
	js.WriteString(`{}],`)
	for i := range 1000 {
		fmt.Fprintf(&js, `"extra%04d":%d,`, i, i)
	}
	js.WriteString(`"` + long + `":"key","big":{"a":"` + long + `","b":[` + strings.Repeat(`"x",`, 3000) + `1]}}`)

	r, _ := mustParse(t, "", []byte(js.String()))
	checkBounds(t, r)
	if len(r.Caller) != MaxString || len(r.Target) != MaxString-1 || !utf8.ValidString(r.Target) {
		t.Errorf("strings: caller %d bytes, target %d bytes", len(r.Caller), len(r.Target))
	}
	if len(r.IVR) != MaxSteps || r.IVR[MaxSteps-1].LayerID != MaxSteps-1 || len(r.IVR[0].LayerName) != MaxString {
		t.Errorf("IVR: %d steps", len(r.IVR))
	}
	if len(r.CustomData) != MaxCustomData || r.CustomData[0].Key != "k000" || r.CustomData[63].Key != "k063" {
		t.Errorf("custom data: %d, %+v", len(r.CustomData), r.CustomData[:2])
	}
	// 256 top-level fields are read: 5 known, so 251 extras.
	if len(r.Extra) != MaxFields-5 || r.Extra[len(r.Extra)-1].Key != fmt.Sprintf("extra%04d", MaxFields-6) {
		t.Errorf("extra: %d fields, last %q", len(r.Extra), r.Extra[len(r.Extra)-1].Key)
	}

	// The same in XML-RPC and form.
	var xs, fs strings.Builder
	xs.WriteString(`<methodCall><params><param><value><struct><member><name>ivruniqueid</name><value>x</value></member>`)
	xs.WriteString(`<member><name>caller</name><value>` + long + `</value></member><member><name>IVR</name><value><array><data>`)
	for i := range 2000 {
		fmt.Fprintf(&xs, `<value><struct><member><name>layer_id</name><value><int>%d</int></value></member></struct></value>`, i)
	}
	xs.WriteString(`</data></array></value></member><member><name>CUSTOM_DATA</name><value><struct>`)
	for i := range 200 {
		fmt.Fprintf(&xs, `<member><name>k%03d</name><value>%d</value></member>`, i, i)
	}
	xs.WriteString(`</struct></value></member>`)
	fs.WriteString("ivruniqueid=x&caller=" + long)
	for i := range 2000 {
		fmt.Fprintf(&fs, "&IVR[%d][layer_id]=%d", i, i)
	}
	for i := range 200 {
		fmt.Fprintf(&fs, "&CUSTOM_DATA[k%03d]=%d", i, i)
	}
	for i := range 1000 {
		fmt.Fprintf(&xs, `<member><name>extra%04d</name><value><int>%d</int></value></member>`, i, i)
		fmt.Fprintf(&fs, "&extra%04d=%d", i, i)
	}
	xs.WriteString(`</struct></value></param></params></methodCall>`)
	for name, body := range map[string]string{"xml-rpc": xs.String(), "form": fs.String()} {
		r, _ := mustParse(t, "", []byte(body))
		checkBounds(t, r)
		if len(r.Caller) != MaxString || len(r.IVR) != MaxSteps || len(r.CustomData) != MaxCustomData ||
			len(r.Extra) != MaxFields-4 {
			t.Errorf("%s: caller %d, IVR %d, custom %d, extra %d", name, len(r.Caller), len(r.IVR), len(r.CustomData), len(r.Extra))
		}
	}

	// ivruniqueid after the first MaxFields fields is not read.
	var late strings.Builder
	late.WriteString("{")
	for i := range MaxFields {
		fmt.Fprintf(&late, `"f%d":1,`, i)
	}
	late.WriteString(`"ivruniqueid":"x"}`)
	if _, _, err := Parse("", []byte(late.String())); !errors.Is(err, ErrMissingCallID) {
		t.Errorf("late ivruniqueid: %v", err)
	}
}

// checkBounds asserts a Record's invariants.
func checkBounds(t testing.TB, r *Record) {
	t.Helper()
	if r.CallID == "" {
		t.Error("empty CallID")
	}
	if len(r.IVR) > MaxSteps || len(r.CustomData) > MaxCustomData || len(r.Extra) > MaxFields {
		t.Errorf("counts: IVR %d, custom %d, extra %d", len(r.IVR), len(r.CustomData), len(r.Extra))
	}
	strs := []string{r.CallID, r.Caller, r.Target, r.DID, r.Type, r.Status, r.QueueName, r.RecordURL,
		r.RepresentativeName, r.RepresentativeCode, r.TargetExtension, r.CallerExtension,
		r.TargetExtensionName, r.CallerExtensionName, r.TargetCountry, r.CallerCountry}
	for _, s := range r.IVR {
		strs = append(strs, s.LayerName, s.DTMF)
	}
	for _, fs := range [][]Field{r.CustomData, r.Extra} {
		for i, f := range fs {
			strs = append(strs, f.Key, f.Value)
			if f.Key == "" || i > 0 && fs[i-1].Key >= f.Key {
				t.Errorf("fields not sorted, unique and named: %q after %q", f.Key, fs[max(i-1, 0)].Key)
			}
		}
	}
	for _, s := range strs {
		if len(s) > MaxString {
			t.Errorf("string of %d bytes", len(s))
		}
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		ct, body string
		want     Encoding
	}{
		{"application/json", "<x/>", JSON},
		{" Application/JSON ; charset=utf-8", "", JSON},
		{"application/vnd.api+json", "", JSON},
		{"text/xml", "{", XMLRPC},
		{"application/xml", "", XMLRPC},
		{"application/x-www-form-urlencoded", "{", Form},
		{"", "  \n{", JSON},
		{"", "\t<", XMLRPC},
		{"", "a=b", Form},
		{"", "", Form},
		{"text/plain", "{", JSON},
		{"application/octet-stream", "<", XMLRPC},
		{"multipart/form-data; boundary=x", "a=b", Form},
	} {
		if got := detect(tc.ct, []byte(tc.body)); got != tc.want {
			t.Errorf("detect(%q, %q) = %v, want %v", tc.ct, tc.body, got, tc.want)
		}
	}
}

func TestEncodingString(t *testing.T) {
	for e, want := range map[Encoding]string{JSON: "json", XMLRPC: "xml-rpc", Form: "form", 7: "Encoding(7)"} {
		if got := e.String(); got != want {
			t.Errorf("%d: %q, want %q", int(e), got, want)
		}
	}
}

func TestContentType(t *testing.T) {
	if got := ContentType(JSON); got != "application/json; charset=utf-8" {
		t.Error(got)
	}
	if got := ContentType(Form); got != "application/json; charset=utf-8" {
		t.Error(got)
	}
	if got := ContentType(XMLRPC); got != "text/xml; charset=utf-8" {
		t.Error(got)
	}
}

func TestAppendAnswerJSON(t *testing.T) {
	for _, enc := range []Encoding{JSON, Form} {
		if got := string(AppendAnswer(nil, enc, nil)); got != `{"Err":0,"Errdesc":"OK"}` {
			t.Errorf("%v OK: %s", enc, got)
		}
	}
	msg := "cdr: json: \"quoted\" \\ back\nnew\ttab \x01 \x7f <html> & \xff אבג \u2028"
	got := AppendAnswer([]byte("prefix:"), JSON, errors.New(msg))
	if !strings.HasPrefix(string(got), "prefix:") {
		t.Fatalf("dst not kept: %s", got)
	}
	got = got[len("prefix:"):]
	var v struct {
		Err     int
		Errdesc string
	}
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if v.Err != 1 || v.Errdesc != strings.ToValidUTF8(msg, "\uFFFD") {
		t.Errorf("got %+v from %s", v, got)
	}
	long := AppendAnswer(nil, JSON, errors.New(strings.Repeat("א", 5000)))
	if err := json.Unmarshal(long, &v); err != nil || len(v.Errdesc) > maxAnswerMessage || !utf8.ValidString(v.Errdesc) {
		t.Errorf("long message: %d bytes, %v", len(v.Errdesc), err)
	}
}

// xmlAnswer is a methodResponse as encoding/xml reads it back.
type xmlAnswer struct {
	XMLName xml.Name `xml:"methodResponse"`
	Members []struct {
		Name string  `xml:"name"`
		Int  *int    `xml:"value>int"`
		Str  *string `xml:"value>string"`
	} `xml:"params>param>value>struct>member"`
}

func parseXMLAnswer(t *testing.T, b []byte) (code int, desc string) {
	t.Helper()
	var a xmlAnswer
	if err := xml.Unmarshal(b, &a); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if len(a.Members) != 2 || a.Members[0].Name != "Err" || a.Members[0].Int == nil ||
		a.Members[1].Name != "Errdesc" || a.Members[1].Str == nil {
		t.Fatalf("unexpected shape: %s", b)
	}
	return *a.Members[0].Int, *a.Members[1].Str
}

func TestAppendAnswerXMLRPC(t *testing.T) {
	ok := AppendAnswer(nil, XMLRPC, nil)
	if code, desc := parseXMLAnswer(t, ok); code != 0 || desc != "OK" {
		t.Errorf("OK answer: %d %q", code, desc)
	}
	if !strings.HasPrefix(string(ok), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML declaration: %s", ok)
	}
	msg := "cdr: xml-rpc: <b>&amp;</b> \"q\" 'a' ]]> \r\n\t \x00\x01 \xff \uFFFE אבג 😀"
	got := AppendAnswer(nil, XMLRPC, errors.New(msg))
	code, desc := parseXMLAnswer(t, got)
	want := "cdr: xml-rpc: <b>&amp;</b> \"q\" 'a' ]]> \r\n\t \uFFFD\uFFFD \uFFFD \uFFFD אבג 😀"
	if code != 1 || desc != want {
		t.Errorf("error answer: %d %q, want %q\n%s", code, desc, want, got)
	}
	// The answer to a real parse error.
	_, enc, err := Parse("", []byte(`<methodCall><params/></methodCall>`))
	if code, desc := parseXMLAnswer(t, AppendAnswer(nil, enc, err)); code != 1 || desc != err.Error() {
		t.Errorf("parse error answer: %d %q", code, desc)
	}
}

const luaChecks = `
assert(cdr.ivruniqueid == "2020020419500000000000000000", "ivruniqueid")
assert(cdr.caller == "0546666666", "caller")
assert(cdr.target == "972702246666", "target")
assert(cdr.did == "0702246666", "did")
assert(cdr.type == "Incoming Call", "type")
assert(cdr.status == "ANSWER", "status")
assert(cdr.time == 1580846139, "time")
assert(cdr.duration == 38, "duration")
assert(cdr.dialtime == 33, "dialtime")
assert(cdr.queueid == 0, "queueid")
assert(cdr.queuename == "", "queuename")
assert(cdr.record == "http://example-recordings.s3.amazonaws.com/2020020419500000000000000000-aws-0546666666-0702246666.mp3", "record")
assert(cdr.price == 0, "price")
assert(cdr.representative_name == "External IVR", "representative_name")
assert(cdr.representative_code == "", "representative_code")
assert(cdr.targetextension == "" and cdr.callerextension == "", "extensions")
assert(cdr.targetextension_name == "" and cdr.callerextension_name == "", "extension names")
assert(cdr.target_country == "Israel" and cdr.caller_country == "Israel", "countries")
assert(#cdr.ivr == 11, "#ivr")
assert(cdr.ivr[1].layer_id == 8650, "layer_id")
assert(cdr.ivr[1].layer_name == "Store List", "layer_name")
assert(cdr.ivr[1].layer_number == 1, "layer_number")
assert(cdr.ivr[1].dtmf == "0", "dtmf")
assert(cdr.ivr[1].dtmf_order == 1, "dtmf_order")
assert(cdr.ivr[11].layer_name == "1 אבן גבירול", "hebrew layer_name")
assert(cdr.ivr[12] == nil, "ivr[12]")
assert(type(cdr.custom_data) == "table" and next(cdr.custom_data) == nil, "custom_data")
`

func TestTableLua(t *testing.T) {
	for _, file := range []string{"sample.json", "sample.xml", "sample.form"} {
		r, _ := mustParse(t, "", readTestdata(t, file))
		L := lua.NewState()
		L.SetGlobal("cdr", r.Table(L))
		if err := L.DoString(luaChecks); err != nil {
			t.Errorf("%s: %v", file, err)
		}
		L.Close()
	}
}

func TestTableLuaExtraAndCustomData(t *testing.T) {
	body := `{"ivruniqueid":"x","time":0,"price":"2.5","DialStatus":"ANSWERED","ivr":"not json",
		"CUSTOM_DATA":{"CRM_client_ID":"C-17","n":3},"Weird Key":"w"}`
	r, _ := mustParse(t, "", []byte(body))
	L := lua.NewState()
	defer L.Close()
	// As an events/cdr.lua script would be: a module with a handle function.
	if err := L.DoString(`
		return {
		  handle = function(cdr)
		    assert(cdr.time == 0, "absent time is 0")
		    assert(cdr.price == 2.5, "price")
		    assert(cdr.DialStatus == "ANSWERED", "extra field")
		    assert(cdr["Weird Key"] == "w", "extra field with a space")
		    assert(type(cdr.ivr) == "table" and #cdr.ivr == 0, "an unreadable ivr does not overwrite the typed key")
		    assert(cdr.custom_data.CRM_client_ID == "C-17", "custom data")
		    assert(cdr.custom_data.n == "3", "custom data values are strings")
		    return "done"
		  end,
		}`); err != nil {
		t.Fatal(err)
	}
	mod := L.Get(-1).(*lua.LTable)
	L.Pop(1)
	if err := L.CallByParam(lua.P{Fn: mod.RawGetString("handle"), NRet: 1, Protect: true}, r.Table(L)); err != nil {
		t.Fatal(err)
	}
	if got := L.Get(-1); got.String() != "done" {
		t.Errorf("handle returned %v", got)
	}
	if !reflect.DeepEqual(r.Extra, []Field{{"DialStatus", "ANSWERED"}, {"Weird Key", "w"}, {"ivr", "not json"}}) {
		t.Errorf("Extra %+v", r.Extra)
	}
}

func TestNoPanicOnOddInputs(t *testing.T) {
	for _, body := range []string{
		"{", "}", "<", ">", "=", "&", "&&&", "=&=", "[", "null", "{}", "<methodCall/>",
		`{"ivruniqueid":{}}`, `{"ivruniqueid":[]}`, `{"ivruniqueid":["a"]}`, `{"IVR":[1,2,3],"ivruniqueid":"x"}`,
		`{"ivruniqueid":"x","IVR":{"-1":{}}}`, `{"ivruniqueid":"x","IVR":{"99999999999999999999":{}}}`,
		"<methodCall><params><param><value><struct><member><name>ivruniqueid</name><value><array><data><value>1</value></data></array></value></member></struct></value></param></params></methodCall>",
		"ivruniqueid=x&IVR[", "ivruniqueid=x&IVR[0]", "ivruniqueid=x&IVR[0][a][b][c][d][e]=1", "ivruniqueid=x&CUSTOM_DATA[]=1",
	} {
		for _, ct := range []string{"", "application/json", "text/xml", "application/x-www-form-urlencoded"} {
			r, enc, err := Parse(ct, []byte(body))
			if err == nil {
				checkBounds(t, r)
			}
			_ = AppendAnswer(nil, enc, err)
		}
	}
}

var (
	fuzzOnce  sync.Once
	fuzzState *lua.LState
)

func FuzzParse(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		body := readTestdata(f, e.Name())
		for _, ct := range []string{"", "application/json", "text/xml", "application/x-www-form-urlencoded"} {
			f.Add(ct, body)
		}
		f.Add("", body[:len(body)/2])
	}
	f.Add("", []byte(`{"ivruniqueid":1,"IVR":"[{\"Dtmf\":\"1\"}]","CUSTOM_DATA":"{\"a\":{}}"}`))
	f.Add("", []byte("ivruniqueid=x&IVR[0][layer_id]=1&CUSTOM_DATA[a]=b"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r, enc, err := Parse(contentType, body)
		if err != nil {
			if r != nil {
				t.Fatalf("record with error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "cdr: ") {
				t.Fatalf("error without prefix: %v", err)
			}
		} else {
			if r == nil || r.CallID == "" {
				t.Fatalf("record without CallID: %+v", r)
			}
			checkBounds(t, r)
			fuzzOnce.Do(func() { fuzzState = lua.NewState(lua.Options{SkipOpenLibs: true}) })
			if tb := r.Table(fuzzState); tb.RawGetString("ivruniqueid").String() != r.CallID {
				t.Fatal("table lost ivruniqueid")
			}
		}
		ans := AppendAnswer(nil, enc, err)
		if enc == XMLRPC {
			if err := xml.Unmarshal(ans, new(xmlAnswer)); err != nil {
				t.Fatalf("answer %s: %v", ans, err)
			}
		} else if !json.Valid(ans) {
			t.Fatalf("answer %s is not JSON", ans)
		}
	})
}

func TestIsJSONNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-0": true, "12": true, "1.5": true, "-1.5e10": true, "1E+2": true, "2e-3": true,
		"": false, "-": false, "01": false, "1.": false, ".5": false, "+1": false, "1e": false,
		"0x10": false, "NaN": false, "Inf": false, "1_000": false, " 1": false,
	} {
		if got := isJSONNumber(s); got != want {
			t.Errorf("isJSONNumber(%q) = %v", s, got)
		}
	}
}
