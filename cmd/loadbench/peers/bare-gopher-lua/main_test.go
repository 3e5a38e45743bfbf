package main

import (
	"os"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// layer5 is loadbench's layer5Body: the API docs' layer-5 request.
const layer5 = `{"METHOD":"IVR_LAYER_INPUT","DATA":{"DID":"0722776772","CALLER_ID":"0500000001",` +
	`"IVR_UNIQUE_ID":"1bcd7954224861f85a2d70612f1","DTMF":"12345678","LAYER_ID":"5","PREVIOUS_LAYER_ID":"5"}}`

func post(s *server, body string) *fasthttp.RequestCtx { return postTo(s, "/", body) }

func postTo(s *server, path, body string) *fasthttp.RequestCtx {
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI(path)
	ctx.Request.SetBodyString(body)
	s.handle(ctx)
	return ctx
}

func TestHandle(t *testing.T) {
	s, err := newServer(routes())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, body string
		status     int
		answer     string
	}{
		{"the workload", layer5, 200, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12}`},
		{"seven digits", strings.Replace(layer5, `"12345678"`, `"1234567"`, 1), 200, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":13}`},
		{"letters", strings.Replace(layer5, `"12345678"`, `"1234567x"`, 1), 200, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":13}`},
		{"another layer", strings.Replace(layer5, `"LAYER_ID":"5"`, `"LAYER_ID":"6"`, 1), 200, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":13}`},
		{"a numeric layer", strings.Replace(layer5, `"LAYER_ID":"5"`, `"LAYER_ID":5`, 1), 200, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12}`},
		{"no DTMF", strings.Replace(layer5, `"DTMF":"12345678",`, ``, 1), 200, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":13}`},
		{"another method", strings.Replace(layer5, `IVR_LAYER_INPUT`, `CDR`, 1), 400, ""},
		{"no layer", strings.Replace(layer5, `"LAYER_ID":"5",`, ``, 1), 400, ""},
		{"not JSON", "{", 400, ""},
	} {
		// Twice: the second call reuses the VM, its call table and buffer.
		for range 2 {
			ctx := post(s, c.body)
			if got := ctx.Response.StatusCode(); got != c.status {
				t.Errorf("%s: status %d, want %d", c.name, got, c.status)
			}
			if c.status != 200 {
				continue
			}
			if got := string(ctx.Response.Body()); got != c.answer {
				t.Errorf("%s: answered %s, want %s", c.name, got, c.answer)
			}
			if got := string(ctx.Response.Header.ContentType()); got != jsonType {
				t.Errorf("%s: Content-Type %q, want %q", c.name, got, jsonType)
			}
		}
	}
}

// The SAY and DIAL scripts answer what ivrouter answers to announce.lua and
// night.lua, byte for byte (the answers ivrouter's own tests check).
func TestSayAndDial(t *testing.T) {
	s, err := newServer(routes())
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/announce": `{"STATUS":0,"ACTION":"SAY_DIGITS","NEXT_LAYER":2,"NEXT_LAYER_IF_FAILED":1,"LANGUAGE":"EN","DATA":[{"RecordType":"Recording","Content":"9899115_20849570029.mp3"},{"RecordType":"Digits","Content":"0500000001"},{"RecordType":"Number","Content":"112"},{"RecordType":"Date","Content":"2019-12-14"},{"RecordType":"DateTime","Content":"2019-12-14T10:12:59"},{"RecordType":"Recording","Content":"98972915_209570029.mp3"}]}`,
		"/night":    `{"STATUS":0,"ACTION":"DIAL","CALLER_ID":"0722776772","CALLER_NAME":"Voicenter","MAX_CALL_DURATION":1800,"MAX_DIAL_DURATION":60,"NEXT_VO_ID":15,"RECORDING":"yes","TARGETS":[{"TYPE":"PHONE","TARGET":"0501234567"}],"CUSTOM_DATA":{"Last_representative":"John Doe","caller":"0500000001"}}`,
	} {
		for range 2 {
			ctx := postTo(s, path, layer5)
			if got := string(ctx.Response.Body()); ctx.Response.StatusCode() != 200 || got != want {
				t.Errorf("%s: %d %s\nwant %s", path, ctx.Response.StatusCode(), got, want)
			}
		}
	}
	if ctx := postTo(s, "/nowhere", layer5); ctx.Response.StatusCode() != 404 {
		t.Errorf("an unknown path: %d", ctx.Response.StatusCode())
	}
}

// TestRuleIsLayer5 keeps rule.lua's routing the shipped layers/5.lua's.
func TestRuleIsLayer5(t *testing.T) {
	shipped, err := os.ReadFile("../../../../scripts/layers/5.lua")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range []string{
		`local IDENTIFIED, RETRY = 12, 13`,
		`call.dtmf:match("^%d%d%d%d%d%d%d%d$")`,
		`go_to_layer(IDENTIFIED)`,
		`go_to_layer(RETRY)`,
	} {
		if !strings.Contains(string(shipped), line) || !strings.Contains(rule, line) {
			t.Errorf("%q is not in both scripts/layers/5.lua and rule.lua", line)
		}
	}
}

func TestBadRule(t *testing.T) {
	for _, src := range []string{"return {", "error('no')", "return 1", "return {}"} {
		if _, err := newServer(map[string]string{"/": src}); err == nil {
			t.Errorf("newServer(%q) succeeded", src)
		}
	}
}

func BenchmarkHandle(b *testing.B) {
	s, err := newServer(routes())
	if err != nil {
		b.Fatal(err)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetBodyString(layer5)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		s.handle(ctx)
	}
}
