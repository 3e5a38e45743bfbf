package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// crmTransport answers every request 200 with a contact.
type crmTransport struct{}

func (crmTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"name":"<script>alert(1)</script>"}`)), Request: r}, nil
}

var consoleScripts = map[string]string{
	"layers/5.lua": `local http = require("http")
local json = require("json")
return function(call)
  local res = http.get("https://crm.example.com/contacts", {query = {phone = call.caller_id}})
  local c = json.decode(res.body)
  require("log").info("known caller", {crm_id = "C-42", vip = true})
  return ivr.go_to_layer(13, {caller_name = c.name, custom_data = {crm_id = "C-42"}})
end`,
	"layers/13.lua": `return function(call) return ivr.say({ivr.number(112)}, {next_layer = 21, language = "EN"}) end`,
}

func adminGet(t *testing.T, h http.Handler, target string) (int, string) {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	req.RemoteAddr = loopbackClient
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// A call through two layers shows on the admin listener's console as
// one journey: its layers, the CRM request, the answer in words, with
// the caller masked as the call log masks it.
func TestTheConsoleShowsACallsJourney(t *testing.T) {
	dir := scriptsDir(t, consoleScripts)
	u, srv := start(t, Config{Scripts: dir, MaskCaller: true, HTTPTransport: crmTransport{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	post(t, u, request("5", "1234"))
	post(t, u, []byte(strings.Replace(string(request("13", "")), "u-13-", "u-5-1234", 1)))
	admin := srv.AdminHandler(false)
	code, body := adminGet(t, admin, "/console/")
	if code != 200 || !strings.Contains(body, "5 → 13 → SAY_DIGITS 21") || !strings.Contains(body, "******4567") || strings.Contains(body, "0501234567") {
		t.Fatalf("calls page: %d\n%s", code, body)
	}
	code, body = adminGet(t, admin, "/console/call/"+url.PathEscape("u-5-1234"))
	for _, want := range []string{"https://crm.example.com/contacts", "one hundred and twelve", "layers/13", "****", `&#34;crm_id&#34;: &#34;***&#34;`,
		"known caller", "vip=true", "5.lua:6"} {
		if !strings.Contains(body, want) {
			t.Errorf("the journey lacks %q", want)
		}
	}
	for _, leak := range []string{"<script>alert", "0501234567", "<code>1234</code>"} {
		if strings.Contains(body, leak) {
			t.Errorf("the journey shows %q", leak)
		}
	}
	if code != 200 {
		t.Fatalf("journey: %d\n%s", code, body)
	}
	// The scripts page: the set, the call counts, the CRM host, reloads.
	adminPost(t, srv, loopbackClient, "/-/reload", "", nil)
	code, body = adminGet(t, admin, "/console/scripts")
	for _, want := range []string{srv.Engine().Current().Version(), "layers/13", "crm.example.com", "closed", "loaded"} {
		if !strings.Contains(body, want) {
			t.Errorf("the scripts page lacks %q", want)
		}
	}
	if code != 200 || len(srv.Console().Reloads()) != 2 {
		t.Errorf("scripts page %d, %d reloads recorded", code, len(srv.Console().Reloads()))
	}
	if m := scrape(t, srv); m["ivrouter_console_calls"] != 1 || m["ivrouter_console_bytes"] <= 0 {
		t.Errorf("console metrics: %v %v", m["ivrouter_console_calls"], m["ivrouter_console_bytes"])
	}
	// Off loopback with no token: refused.
	req := httptest.NewRequest("GET", "/console/", nil)
	req.RemoteAddr = remoteClient
	rec := httptest.NewRecorder()
	admin.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("a remote client with no token set: %d", rec.Code)
	}
}

// With the admin token set, the console needs it, as the write endpoints do.
func TestTheConsoleNeedsTheAdminToken(t *testing.T) {
	_, srv := start(t, Config{Scripts: scriptsDir(t, consoleScripts), Token: "calls", AdminToken: "ops"})
	for _, tc := range []struct {
		from, auth string
		want       int
	}{
		{remoteClient, "", 401}, {remoteClient, "Bearer calls", 401}, {remoteClient, "Bearer ops", 200}, {loopbackClient, "Bearer ops", 200},
	} {
		req := httptest.NewRequest("GET", "/console/", nil)
		req.RemoteAddr = tc.from
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		rec := httptest.NewRecorder()
		srv.AdminHandler(false).ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s %q: %d, want %d", tc.from, tc.auth, rec.Code, tc.want)
		}
	}
}

func TestTheConsoleCanBeTurnedOff(t *testing.T) {
	_, srv := start(t, Config{Scripts: scriptsDir(t, consoleScripts), ConsoleCalls: -1})
	if code, _ := adminGet(t, srv.AdminHandler(false), "/console/"); code != 404 || srv.Console() != nil {
		t.Errorf("console off: %d", code)
	}
}
