package simulate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/bridge/http/crmstub"
	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/server"
	"github.com/ivrouter/ivrouter/server/scripttest"
	"github.com/ivrouter/ivrouter/server/simulate"
	"github.com/valyala/fasthttp"
)

const scripts = "../../scripts"

// at is a Sunday morning in Israel: the clinic is open.
var at = time.Date(2026, time.May, 3, 9, 0, 0, 0, time.FixedZone("IDT", 3*60*60))

// demoCRM serves testdata/crm.json, as serve --demo-crm does, and returns
// its URL.
func demoCRM(t *testing.T) string {
	t.Helper()
	crm, err := crmstub.Load("../../testdata/crm.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(crm)
	t.Cleanup(srv.Close)
	return srv.URL
}

// representative is a request for each bundled script: every one must
// have one, so a new example is compared too.
var representative = map[string]simulate.Options{
	"layers/5":  {HasLayer: true, Layer: 5, DTMF: []string{"12345678"}},
	"announce":  {Route: "announce", CallerID: "972501234567"},
	"caller":    {Route: "caller", HasLayer: true, Layer: 5, DTMF: []string{"1"}},
	"clinic":    {Route: "clinic", HasLayer: true, Layer: 1, CallerID: "0527654321"},
	"clinic-id": {Route: "clinic-id", HasLayer: true, Layer: 2, DTMF: []string{"123456782"}},
	"id-entry":  {Route: "id-entry", DTMF: []string{"87654321"}, CustomData: []ivr.Field{{Key: "from", Value: "layer 5"}}},
	"night":     {Route: "night", CallerID: "0541112222"},
}

// TestAnswersAsServe: for every bundled script, what simulate answers is
// byte for byte what serve's handler answers the same request, under the
// same settings, CRM and clock.
func TestAnswersAsServe(t *testing.T) {
	crm := demoCRM(t)
	cfg := server.Config{Scripts: scripts, ScriptEnv: map[string]string{"CRM_URL": crm, "CRM_TOKEN": ""}}
	ref := cfg
	ref.Clock = func() time.Time { return at }
	ref.Logger = nil
	srv, err := server.New(ref)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Engine().Close()
	found := scriptNames(t)
	if len(found) < 7 {
		t.Fatalf("found %d bundled scripts: %v", len(found), found)
	}
	for _, name := range found {
		o, ok := representative[name]
		if !ok {
			t.Errorf("%s.lua has no representative request in this test", name)
			continue
		}
		o.Config, o.At = cfg, at
		j, err := simulate.Run(context.Background(), o, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		st := j.Steps[0]
		if st.Outcome != "ok" || st.Script != name {
			t.Errorf("%s: outcome %s, script %q: not the representative request meant", name, st.Outcome, st.Script)
		}
		var req fasthttp.Request
		req.Header.SetMethod("POST")
		req.SetRequestURI(st.Path)
		req.SetBody(st.Request)
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, nil)
		srv.Handler(&ctx)
		if got, want := string(st.Body), string(ctx.Response.Body()); got != want || ctx.Response.StatusCode() != st.Status {
			t.Errorf("%s: simulate answers\n%s\nserve answers %d\n%s", name, got, ctx.Response.StatusCode(), want)
		}
	}
}

// scriptNames are the bundled routing scripts: NAME.lua and layers/N.lua.
func scriptNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, pattern := range []string{"*.lua", "layers/*.lua"} {
		paths, err := filepath.Glob(filepath.Join(scripts, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			rel, _ := filepath.Rel(scripts, p)
			names = append(names, strings.TrimSuffix(filepath.ToSlash(rel), ".lua"))
		}
	}
	return names
}

// TestIDEntryWalkEndsInTheDial: the bundled ID-entry flow, three wrong IDs
// typed at layer 13 (whose URL is /id-entry), then the agent's layer 20
// (whose URL is /night: the representative on duty) dials. The wrong IDs
// are counted in state across the steps, the CUSTOM_DATA id-entry set
// reaches /night, and each step comes from the layer before.
func TestIDEntryWalkEndsInTheDial(t *testing.T) {
	var out bytes.Buffer
	p := &simulate.Printer{W: &out}
	j, err := simulate.Run(context.Background(), simulate.Options{
		Config: server.Config{Scripts: scripts}, Route: "id-entry", Layer: 13, HasLayer: true, At: at,
		DTMF: []string{"1", "22", "333"}, Follow: true, LayerRoutes: map[int]string{20: "night"},
	}, p.Step)
	if err != nil {
		t.Fatal(err)
	}
	p.End(j)
	if len(j.Steps) != 4 || !j.Dialled {
		t.Fatalf("%d steps, dialled %v:\n%s", len(j.Steps), j.Dialled, out.String())
	}
	last := j.Steps[3]
	if last.Path != "/night" || last.Call.LayerID != 20 || last.Call.PreviousLayerID != 13 || !last.Call.HasPrevious ||
		string(last.Call.CustomData) != `{"reason":"ID not recognised"}` || last.Action.Kind != ivr.Dial {
		t.Errorf("last step: %+v %s", last.Call, last.Body)
	}
	var body struct{ DATA map[string]any }
	if json.Unmarshal(last.Request, &body) != nil || body.DATA["PREVIOUS_LAYER_ID"] != "13" || body.DATA["IVR_UNIQUE_ID"] != simulate.DefaultUniqueID {
		t.Errorf("last request: %s", last.Request)
	}
	for _, want := range []string{
		"step 1: layer 13, POST /id-entry, dtmf 1\n  script   id-entry.lua (ok)\n  answer   {\"STATUS\":0,\"ACTION\":\"GO_TO_LAYER\",\"LAYER\":13}\n  caller   goes to layer 13\n",
		"step 2: layer 13, POST /id-entry (from layer 13), dtmf 22\n",
		"step 3: layer 13, POST /id-entry (from layer 13), dtmf 333\n",
		"  log      INFO too many wrong IDs, to an agent tries=3 (", "scripts/id-entry.lua:30)\n", // the path as --scripts gives it
		`  answer   {"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":20,"CUSTOM_DATA":{"reason":"ID not recognised"}}`,
		`step 4: layer 20, POST /night (from layer 13), no dtmf, CUSTOM_DATA {"reason":"ID not recognised"}`,
		"  script   night.lua (ok)\n",
		`"ACTION":"DIAL"`,
		"  caller   dials 0501234567\n",
		"end: DIAL: the call dials 0501234567; layer 15 if no one answers\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in the transcript:\n%s", want, out.String())
		}
	}
	// Without the route of layer 20, the walk ends where Voicenter would
	// find no script: the fallback answer.
	j, err = simulate.Run(context.Background(), simulate.Options{
		Config: server.Config{Scripts: scripts}, Route: "id-entry", Layer: 13, HasLayer: true, At: at,
		DTMF: []string{"1", "22", "333"}, Follow: true,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Steps) != 4 || j.Dialled || !strings.HasPrefix(j.End, "layer 20 has no script") || j.Steps[3].Outcome != "fallback" {
		t.Errorf("no route for 20: %d steps, end %q", len(j.Steps), j.End)
	}
}

// TestClinicIDWalkEndsInTheDial: the clinic's ID desk (layer 2, /clinic-id)
// announces two wrong IDs and puts the third through to a clerk.
func TestClinicIDWalkEndsInTheDial(t *testing.T) {
	j, err := simulate.Run(context.Background(), simulate.Options{
		Config: server.Config{Scripts: scripts}, Route: "clinic-id", Layer: 2, HasLayer: true,
		DTMF: []string{"1", "2", "3"}, Follow: true,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Steps) != 3 || !j.Dialled || j.Steps[2].Heard != "dials extension sip301" {
		t.Fatalf("%d steps, end %q", len(j.Steps), j.End)
	}
	for _, st := range j.Steps[:2] {
		if st.Action.Kind != ivr.SayDigits || st.Heard != `says "[recording: clinic-wrong-id.mp3]", then goes to layer 2` {
			t.Errorf("step %d: %s", st.N, st.Heard)
		}
	}
}

// TestWalkLimits: a call that loops stops at MaxSteps; Prompt gives the
// digits the DTMF list does not, and its false hangs up; a STATUS 1 ends
// the walk.
func TestWalkLimits(t *testing.T) {
	loop := t.TempDir()
	for name, src := range map[string]string{
		"layers/1.lua": `return function(call) return ivr.go_to_layer(2, {custom_data = {seen = call.dtmf}}) end`,
		"layers/2.lua": `return function(call)
  if call.dtmf == "9" then return ivr.error("caller gave up") end
  return ivr.go_to_layer(1)
end`,
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(loop, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(loop, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := simulate.Options{Config: server.Config{Scripts: loop}, Layer: 1, HasLayer: true, Follow: true}
	o := base
	o.MaxSteps = 5
	j, err := simulate.Run(context.Background(), o, nil)
	if err != nil || len(j.Steps) != 5 || !strings.Contains(j.End, "stopped after 5 steps") {
		t.Fatalf("loop: %v, %d steps, %q", err, len(j.Steps), j.End)
	}
	// CUSTOM_DATA set at layer 1 is carried through layer 2, which sets none.
	if got := string(j.Steps[2].Call.CustomData); got != `{"seen":"0"}` { // no digits: the script sees "0"
		t.Errorf("CUSTOM_DATA at step 3: %s", got)
	}
	o = base
	var asked []string
	o.DTMF = []string{"5"}
	o.Prompt = func(step, layer int, path string) (string, bool) {
		asked = append(asked, path)
		if step == 4 { // layer 2 again
			return "9", true
		}
		return "7", true
	}
	j, _ = simulate.Run(context.Background(), o, nil)
	if len(j.Steps) != 4 || j.Steps[0].Call.DTMF != "5" || j.Steps[1].Call.DTMF != "7" || !reflect.DeepEqual(asked, []string{"/", "/", "/"}) ||
		!strings.HasPrefix(j.End, "STATUS 1") {
		t.Errorf("prompted: %d steps, asked %v, end %q", len(j.Steps), asked, j.End)
	}
	o.Prompt = func(int, int, string) (string, bool) { return "", false }
	if j, _ = simulate.Run(context.Background(), o, nil); len(j.Steps) != 1 || !strings.Contains(j.End, "hung up") {
		t.Errorf("hung up: %d steps, %q", len(j.Steps), j.End)
	}
	// Without --follow, one request, and Prompt is not asked.
	o = base
	o.Follow = false
	o.Prompt = func(int, int, string) (string, bool) { t.Error("prompted for a single request"); return "", false }
	if j, _ = simulate.Run(context.Background(), o, nil); len(j.Steps) != 1 || j.End != "" {
		t.Errorf("single: %d steps, %q", len(j.Steps), j.End)
	}
	if _, err := simulate.Run(context.Background(), simulate.Options{Config: server.Config{Scripts: loop}}, nil); err == nil {
		t.Error("no route or layer accepted")
	}
}

// TestStubsAnswerTheCRM: a test case's stubs answer the scripts' requests,
// env.get sees its file's env, and each request is shown with its status.
func TestStubsAnswerTheCRM(t *testing.T) {
	stubs, err := scripttest.ReadStubs(filepath.Join(scripts, "caller.test.yaml"), "CRM down, to sales by the rules")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p := &simulate.Printer{W: &out}
	_, err = simulate.Run(context.Background(), simulate.Options{
		Config: server.Config{Scripts: scripts, ScriptEnv: map[string]string{"CRM_URL": "http://127.0.0.1:1", "CRM_TOKEN": "secret"}},
		Route:  "caller", Stubs: stubs,
	}, p.Step)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`  http     GET http://crm\.test/contacts\?phone=0501234567 -> error: connection refused \(\d+\.\d ms\)\n`).MatchString(out.String()) ||
		!strings.Contains(out.String(), "  log      WARN CRM lookup failed, routing by rules") {
		t.Errorf("transcript:\n%s", out.String())
	}
}

// TestColourOnlyWhenAsked: the transcript has ANSI colours when the
// Printer is told to, and none otherwise; JSON never has any.
func TestColourOnlyWhenAsked(t *testing.T) {
	o := simulate.Options{Config: server.Config{Scripts: scripts}, Route: "clinic-id", Layer: 2, HasLayer: true, DTMF: []string{"1"}}
	for _, tc := range []struct {
		p    simulate.Printer
		want bool
	}{{simulate.Printer{Color: true}, true}, {simulate.Printer{}, false}, {simulate.Printer{Color: true, JSON: true}, false}} {
		var out bytes.Buffer
		tc.p.W = &out
		if _, err := simulate.Run(context.Background(), o, tc.p.Step); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(out.String(), "\x1b["); got != tc.want {
			t.Errorf("%+v: colour %v, want %v:\n%q", tc.p, got, tc.want, out.String())
		}
	}
}

// TestDocsSayExampleInEnglish: /announce answers the documentation's SAY
// example, and the transcript says it as the documentation's "Say Method
// Response Explanation" does: in English, in the order sent, then layer 2.
func TestDocsSayExampleInEnglish(t *testing.T) {
	var out bytes.Buffer
	p := &simulate.Printer{W: &out}
	j, err := simulate.Run(context.Background(), simulate.Options{Config: server.Config{Scripts: scripts}, Route: "announce"}, p.Step)
	if err != nil {
		t.Fatal(err)
	}
	st := j.Steps[0]
	docs, err := os.ReadFile("../../testdata/voicenter/say-response.json")
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if json.Unmarshal(st.Body, &got) != nil || json.Unmarshal(docs, &want) != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("/announce answers\n%s\nnot the documentation's example\n%s", st.Body, docs)
	}
	// The explanation, item by item ("The IVR will play the caller the data
	// content in the order it was sent"), as the documentation words it.
	// Its wording differs from speech's in what is not heard (commas, "the",
	// "and") and in two slips of its own: the second recording's name is not
	// the one in its JSON, and it reads seconds ("fourteen", of :59) that
	// speech leaves out, as a person reading a clock does. What is compared
	// is the words, normalised; for the date-time, up to the minutes.
	explanation := []struct{ docs, heard string }{
		{"9899115_20849570029.mp3", "[recording: 9899115_20849570029.mp3]"},
		{"zero, five, zero, one, two, three, four, five, six, seven", ""},
		{"one hundred and twelve", ""},
		{"fourteenth of December two thousand nineteen", ""},
		{"fourteenth of December two thousand nineteen at ten and twelve", ""}, // "minutes and fourteen seconds"
		{"98972915_209570029.mp3", "[recording: 98972915_209570029.mp3]"},      // the docs' text says 98972915_20897670025.mp3
	}
	text, prefix := strings.CutPrefix(st.Heard, `says "`)
	text, suffix := strings.CutSuffix(text, `", then goes to layer 2 (layer 1 if it fails)`)
	if !prefix || !suffix {
		t.Fatalf("heard %q: not a SAY that goes on to layer 2", st.Heard)
	}
	items := strings.Split(text, ", ")
	// Items are joined by ", ", and a date has one of its own: rejoin.
	var heard []string
	for i := 0; i < len(items); i++ {
		if strings.HasPrefix(items[i], "the ") && i+1 < len(items) {
			heard = append(heard, items[i]+" "+items[i+1])
			i++
			if i+1 < len(items) && strings.HasPrefix(items[i+1], "at ") {
				heard[len(heard)-1] += " " + items[i+1]
				i++
			}
			continue
		}
		heard = append(heard, items[i])
	}
	if len(heard) != len(explanation) {
		t.Fatalf("heard %d items, the documentation explains %d:\n%q", len(heard), len(explanation), heard)
	}
	for i, e := range explanation {
		switch {
		case e.heard != "":
			if heard[i] != e.heard {
				t.Errorf("item %d: heard %q, want %q", i+1, heard[i], e.heard)
			}
		case i == 4 && !strings.HasPrefix(words(heard[i]), words(e.docs)), i != 4 && words(heard[i]) != words(e.docs):
			t.Errorf("item %d: heard %q, the documentation says %q", i+1, heard[i], e.docs)
		}
	}
	if !strings.Contains(heard[4], "at ten twelve a.m.") {
		t.Errorf("the date-time's clock: %q", heard[4])
	}
	if !strings.Contains(out.String(), "  caller   says \"[recording: 9899115_20849570029.mp3], zero five zero one two three four five six seven, one hundred and twelve, ") {
		t.Errorf("transcript:\n%s", out.String())
	}
}

// words normalises a spoken text to compare wordings: lower case, no
// punctuation, and no "the" or "and", which the documentation and speech
// place differently.
func words(s string) string {
	var out []string
	for _, w := range strings.Fields(strings.NewReplacer(",", " ", ".", " ").Replace(strings.ToLower(s))) {
		if w != "the" && w != "and" {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}
