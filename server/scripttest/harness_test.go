package scripttest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/luavm/luavmtest"
	"github.com/ivrouter/ivrouter/server"
	"github.com/ivrouter/ivrouter/server/scripttest"
)

// TestSayDifferencesAreSpoken: a SAY answer that differs is followed by
// its words, expected and answered, so a wrong number reads as one.
func TestSayDifferencesAreSpoken(t *testing.T) {
	rep, out := run(t, map[string]string{
		"say.lua": `return function(call)
  return ivr.say({ ivr.number(112), ivr.digits("050") }, { next_layer = 2, language = "EN" })
end`,
		"say.test.yaml": `route: say
cases:
  - name: the number is wrong
    expect:
      answer: {DATA: [{RecordType: Number, Content: "113"}, {RecordType: Digits, Content: "050"}]}
  - name: the layer is wrong
    expect: {answer: {NEXT_LAYER: 3}}
  - name: exact, the language is wrong
    expect:
      exact: true
      answer: {STATUS: 0, ACTION: SAY_DIGITS, NEXT_LAYER: 2, LANGUAGE: HE, DATA: [{RecordType: Number, Content: "112"}, {RecordType: Digits, Content: "050"}]}
`,
	}, server.Config{}, scripttest.Options{})
	if rep.Failed() != 3 {
		t.Fatalf("failed %d, want 3:\n%s", rep.Failed(), out)
	}
	for _, want := range []string{
		`- says "one hundred and thirteen, zero five zero"`,
		`+ says "one hundred and twelve, zero five zero"`,
		`  says "one hundred and twelve, zero five zero"`, // the layer differs: said once
		`- says "מאה ושתים עשרה, אפס חמש אפס"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	// A difference in a GO_TO_LAYER says nothing.
	_, out = run(t, map[string]string{"layers/5.lua": layer5, "layers/5.test.yaml": "layer: 5\ncases:\n  - name: x\n    expect: {answer: {LAYER: 1}}\n"},
		server.Config{}, scripttest.Options{})
	if strings.Contains(out, "says") {
		t.Errorf("a GO_TO_LAYER diff speaks:\n%s", out)
	}
}

// TestHarnessCarriesStateAndRecordsRequests: one Harness answers the
// requests of a call as serve would, state carried, each request's HTTP
// calls recorded with their status, and the script that answered named.
func TestHarnessCarriesStateAndRecordsRequests(t *testing.T) {
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("id") == "12345678" {
			w.Write([]byte(`{"name":"Dana"}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer crm.Close()
	dir := luavmtest.Dir(t, "", map[string]string{"id-entry.lua": strings.ReplaceAll(idEntry, "http://crm.test", crm.URL)})
	at := time.Date(2026, 5, 3, 9, 0, 0, 0, time.UTC)
	h, err := scripttest.NewHarness(scripttest.Setup{Config: server.Config{Scripts: dir}, At: at})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	call := scripttest.Call{DID: "0722776772", CallerID: "0501234567", UniqueID: "call-1", LayerID: 5}
	var last *scripttest.Exchange
	for i, dtmf := range []string{"1", "2", "3"} {
		call.DTMF = dtmf
		last = h.Do(scripttest.Request{Path: "/id-entry", Body: call.Body()})
		if len(last.HTTP) != 1 || last.HTTP[0].Status != 404 || last.HTTP[0].String() != "GET "+crm.URL+"/contacts?id="+dtmf {
			t.Errorf("step %d: requests %+v", i+1, last.HTTP)
		}
	}
	if string(last.Body) != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":20}` || last.Outcome != "ok" || last.Script != "id-entry" {
		t.Errorf("third wrong ID: %s %s %q", last.Body, last.Outcome, last.Script)
	}
	if len(last.Log) != 1 || !strings.Contains(last.Log[0], "too many wrong IDs tries=3") {
		t.Errorf("log %q", last.Log)
	}
	call.DTMF = "12345678"
	if x := h.Do(scripttest.Request{Path: "/id-entry", Body: call.Body()}); !strings.Contains(string(x.Body), `"CALLER_NAME":"Dana"`) {
		t.Errorf("known ID: %s", x.Body)
	}
	// A layer without a script is the fallback, and names no script.
	if x := h.Do(scripttest.Request{Path: "/", Body: call.Body()}); x.Outcome != "fallback" || x.Script != "" || string(x.Body) != `{"STATUS":1}` {
		t.Errorf("no script: %s %s %q", x.Body, x.Outcome, x.Script)
	}
}

// TestReadStubs: a case's stubs answer before its file's, the file's env
// comes along, and a name no case has is an error listing the names.
func TestReadStubs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.test.yaml")
	if err := os.WriteFile(path, []byte(`route: lookup
env: {CRM_URL: "http://crm.test"}
http: [{match: "GET http://crm.test/*", error: connection refused}]
cases:
  - name: found
    http: [{match: "GET http://crm.test/contacts?phone=0501234567", json: {name: Dana}}]
  - name: down
`), 0o644); err != nil {
		t.Fatal(err)
	}
	scripts := luavmtest.Dir(t, "", map[string]string{"lookup.lua": lookup})
	call := scripttest.Call{DID: "1", CallerID: "0501234567", UniqueID: "u"}
	for name, want := range map[string]string{"found": `"CALLER_NAME":"Dana"`, "down": `"err":"connection refused"`, "": `"err":"connection refused"`} {
		stubs, err := scripttest.ReadStubs(path, name)
		if err != nil {
			t.Fatal(err)
		}
		if stubs.Env["CRM_URL"] != "http://crm.test" {
			t.Errorf("%q: env %v", name, stubs.Env)
		}
		h, err := scripttest.NewHarness(scripttest.Setup{Config: server.Config{Scripts: scripts, ScriptEnv: stubs.Env}, Stubs: stubs})
		if err != nil {
			t.Fatal(err)
		}
		x := h.Do(scripttest.Request{Path: "/lookup", Body: call.Body()})
		h.Close()
		if !strings.Contains(string(x.Body), want) {
			t.Errorf("%q: %s, want %s", name, x.Body, want)
		}
	}
	if _, err := scripttest.ReadStubs(path, "nope"); err == nil || !strings.Contains(err.Error(), `no case named "nope" (cases: "found", "down")`) {
		t.Errorf("unknown case: %v", err)
	}
	// An unmatched request is named.
	stubs, _ := scripttest.ReadStubs(path, "found")
	h, _ := scripttest.NewHarness(scripttest.Setup{Config: server.Config{Scripts: scripts, ScriptEnv: map[string]string{"CRM_URL": "http://other.test"}}, Stubs: stubs})
	defer h.Close()
	x := h.Do(scripttest.Request{Path: "/lookup", Body: call.Body()})
	if len(x.Unstubbed) != 1 || x.HTTP[0].Err == "" || x.HTTP[0].Status != 0 {
		t.Errorf("unstubbed: %+v", x)
	}
}

// TestCallBody: the request is Voicenter's, every ID a string, CUSTOM_DATA
// as given and PREVIOUS_LAYER_ID only when set.
func TestCallBody(t *testing.T) {
	c := scripttest.Call{DID: "1", CallerID: "2", UniqueID: "u", LayerID: 13, PreviousLayerID: 5, HasPrevious: true,
		CustomData: json.RawMessage(`{"reason":"x"}`)}
	want := `{"METHOD":"IVR_LAYER_INPUT","DATA":{"DID":"1","CALLER_ID":"2","IVR_UNIQUE_ID":"u","LAYER_ID":"13","PREVIOUS_LAYER_ID":"5","CUSTOM_DATA":{"reason":"x"}}}`
	if got := string(c.Body()); got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
}
