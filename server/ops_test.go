package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/bridge/http/crmstub"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads /metrics through the admin handler and parses the
// exposition: one entry per sample, keyed name{label="value",...} with the
// labels sorted; histograms as name_count and name_sum.
func scrape(t *testing.T, srv *Server) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.AdminHandler(false).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			key := name
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[strings.Replace(key, name, name+"_count", 1)] = float64(m.Histogram.GetSampleCount())
				out[strings.Replace(key, name, name+"_sum", 1)] = m.Histogram.GetSampleSum()
			}
		}
	}
	return out
}

func TestMetricsMoveWithKnownRequests(t *testing.T) {
	crm := crmstub.New(map[string]crmstub.Contact{"0501234567": {Name: "Dana"}})
	crmSrv := httptest.NewServer(crm)
	defer crmSrv.Close()
	host := strings.TrimPrefix(crmSrv.URL, "http://")
	dir := scriptsDir(t, map[string]string{
		"layers/5.lua": `return function(call)
			if #call.dtmf == 8 then return ivr.go_to_layer(12) end
			return ivr.go_to_layer(13)
		end`,
		"crm.lua": `local http, cache, json = require("http"), require("cache"), require("json")
		return function(call)
			local who = cache.remember("c:" .. call.caller_id, 60, function()
				local res, err = http.get("` + crmSrv.URL + `/contacts", {query = {phone = call.caller_id}})
				if not res then return nil, err end
				return json.decode(res.body)
			end)
			return ivr.go_to_layer(who and 20 or 21)
		end`,
		"boom.lua": `return { fallback = 9, handle = function() error("boom") end }`,
	})
	url, srv := start(t, Config{Scripts: dir})

	for i := 0; i < 3; i++ {
		post(t, url+"/", request("5", "12345678"))
	}
	post(t, url+"/", request("5", "1"))
	post(t, url+"/", request("7", "1")) // no script for layer 7: the fallback
	post(t, url+"/boom", request("5", "1"))
	post(t, url+"/", []byte(`{"METHOD":`))
	post(t, url+"/nope", request("5", "1"))
	for i := 0; i < 2; i++ {
		post(t, url+"/crm", request("5", "1"))
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.lua"), []byte("return function("), 0o644); err != nil {
		t.Fatal(err)
	}
	if srv.Reload() == nil {
		t.Fatal("a broken script reloaded")
	}
	os.Remove(filepath.Join(dir, "broken.lua"))
	if err := srv.Reload(); err != nil {
		t.Fatal(err)
	}

	m := scrape(t, srv)
	for key, want := range map[string]float64{
		`ivrouter_requests_total{action="go_to_layer",outcome="ok",script="layers/5"}`:       4,
		`ivrouter_requests_total{action="status_1",outcome="fallback",script="none"}`:        1,
		`ivrouter_requests_total{action="go_to_layer",outcome="script_error",script="boom"}`: 1,
		`ivrouter_requests_total{action="none",outcome="bad_request",script="none"}`:         1,
		`ivrouter_requests_total{action="none",outcome="not_found",script="none"}`:           1,
		`ivrouter_requests_total{action="go_to_layer",outcome="ok",script="crm"}`:            2,
		`ivrouter_request_duration_seconds_count`:                                            10,
		`ivrouter_script_duration_seconds_count{script="layers/5"}`:                          4,
		`ivrouter_http_requests_total{host="` + host + `",status="200"}`:                     1,
		`ivrouter_http_request_duration_seconds_count{host="` + host + `"}`:                  1,
		`ivrouter_http_circuit_state{host="` + host + `",state="closed"}`:                    1,
		`ivrouter_http_circuit_state{host="` + host + `",state="open"}`:                      0,
		`ivrouter_cache_lookups_total{result="hit"}`:                                         1,
		`ivrouter_cache_lookups_total{result="miss"}`:                                        1,
		`ivrouter_reloads_total{result="success"}`:                                           1,
		`ivrouter_reloads_total{result="failure"}`:                                           1,
		`ivrouter_scripts`:            3,
		`ivrouter_vms`:                16,
		`ivrouter_requests_in_flight`: 0,
	} {
		if got, ok := m[key]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	if _, ok := m["ivrouter_vm_waits_total"]; !ok {
		t.Error("no ivrouter_vm_waits_total")
	}
	if got := m["ivrouter_vm_detached_total"]; got < 1 { // a new script's first calls
		t.Errorf("ivrouter_vm_detached_total = %v, want the scripts' first calls", got)
	}
	version := srv.Engine().Current().Version()
	if m[fmt.Sprintf(`ivrouter_scripts_info{dir=%q,version=%q}`, dir, version)] != 1 {
		t.Errorf("no ivrouter_scripts_info for version %s", version)
	}
	found := false
	for key := range m {
		found = found || strings.HasPrefix(key, "ivrouter_build_info{")
	}
	if !found {
		t.Error("no ivrouter_build_info")
	}
}

// serveOn serves srv on a new loopback port: for tests that need the
// *Server start returned along with a URL of their choosing.
func serveOn(t *testing.T, srv *Server) (string, *Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), srv
}

func TestReadyzFlipsDuringShutdownAndCallsInFlightFinish(t *testing.T) {
	block, entered := make(chan struct{}), make(chan struct{}, 1)
	dir := scriptsDir(t, map[string]string{
		"slow.lua": `local gate = require("gate") return function() gate.wait() return ivr.go_to_layer(3) end`,
	})
	srv, err := New(Config{Scripts: dir, Modules: []luavm.Module{luavmtest.Gate("gate", block, entered)}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	admin := httptest.NewServer(srv.AdminHandler(false))
	defer admin.Close()
	status := func(path string) int {
		res, err := http.Get(admin.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if status("/readyz") != 200 || status("/healthz") != 200 {
		t.Fatal("not ready before shutdown")
	}
	if status("/debug/pprof/cmdline") != 404 {
		t.Error("pprof served without being asked for")
	}
	answered := make(chan answer, 1)
	go func() { answered <- post(t, "http://"+ln.Addr().String()+"/slow", request("5", "1")) }()
	<-entered
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	for status("/readyz") != http.StatusServiceUnavailable {
		select {
		case err := <-shut:
			t.Fatalf("shutdown returned with a call in flight: %v", err)
		default:
		}
	}
	if status("/healthz") != 200 {
		t.Error("healthz failed while draining")
	}
	close(block)
	if a := <-answered; string(a.body) != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":3}` {
		t.Errorf("the call in flight got %d %s", a.status, a.body)
	}
	if err := <-shut; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func TestShutdownTimeoutStillAnswersTheCall(t *testing.T) {
	block, entered := make(chan struct{}), make(chan struct{}, 1)
	defer close(block)
	dir := scriptsDir(t, map[string]string{
		"slow.lua": `local gate = require("gate") return { fallback = 8, handle = function() gate.wait() return ivr.go_to_layer(3) end }`,
	})
	srv, err := New(Config{Scripts: dir, Deadline: 4 * time.Second, Modules: []luavm.Module{luavmtest.Gate("gate", block, entered)}})
	if err != nil {
		t.Fatal(err)
	}
	url, _ := serveOn(t, srv)
	answered := make(chan answer, 1)
	go func() { answered <- post(t, url+"/slow", request("5", "1")) }()
	<-entered
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("shutdown with a stuck call: %v, want the timeout", err)
	}
	// The call is cut short at the shutdown timeout, not left to its 4 s
	// deadline after the process would have exited.
	if a := <-answered; string(a.body) != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":8}` {
		t.Errorf("the stuck call got %d %s, want its fallback", a.status, a.body)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("the stuck call was answered after %v, past the shutdown timeout and its grace", took)
	}
}

func TestAccessControlRejectsBeforeTheScriptRuns(t *testing.T) {
	var runs atomic.Int64
	dir := scriptsDir(t, map[string]string{
		"layers/5.lua": `local spy = require("spy") return function() spy.ran() return ivr.go_to_layer(12) end`,
	})
	mustPrefix := func(s string) netip.Prefix {
		p, err := ParsePrefix(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	url, srv := start(t, Config{Scripts: dir, Modules: spyModule(&runs), Token: "s3cret",
		AllowIPs: []netip.Prefix{mustPrefix("127.0.0.1"), mustPrefix("10.9.0.0/16")}, TrustProxies: []netip.Prefix{mustPrefix("127.0.0.0/8")}})
	send := func(path string, header ...string) int {
		req, _ := http.NewRequest("POST", url+path, bytes.NewReader(request("5", "12345678")))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Add(header[i], header[i+1]) // a repeated name is a second header line
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, tc := range []struct {
		name   string
		path   string
		header []string
		want   int
	}{
		{"no token", "/", nil, 401},
		{"wrong token", "/?token=guess", nil, 401},
		{"wrong bearer", "/", []string{"Authorization", "Bearer guess"}, 401},
		{"token prefix", "/?token=s3cre", nil, 401},
		{"forwarded from a stranger", "/?token=s3cret", []string{"X-Forwarded-For", "192.0.2.7"}, 403},
		{"a stranger behind an allowed hop", "/?token=s3cret", []string{"X-Forwarded-For", "192.0.2.7, 10.9.1.1"}, 200},
		{"garbled hop", "/?token=s3cret", []string{"X-Forwarded-For", "nonsense"}, 403},
		// A client's own line, then the proxy's: the proxy's line is nearest.
		{"spoofed first line", "/?token=s3cret", []string{"X-Forwarded-For", "10.9.1.1", "X-Forwarded-For", "203.0.113.66"}, 403},
		{"allowed, no token", "/", []string{"X-Forwarded-For", "10.9.1.1"}, 401},
	} {
		if got := send(tc.path, tc.header...); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the script ran %d times, want once (for the one admitted request)", n)
	}
	for _, ok := range [][]string{{"/?token=s3cret"}, {"/", "Authorization", "Bearer s3cret"}, {"/", "Authorization", "bearer s3cret"}} {
		if got := send(ok[0], ok[1:]...); got != 200 {
			t.Errorf("%v: %d, want 200", ok, got)
		}
	}
	if n := runs.Load(); n != 4 {
		t.Errorf("the script ran %d times, want 4", n)
	}
	m := scrape(t, srv)
	if got := m[`ivrouter_requests_total{action="none",outcome="unauthorized",script="none"}`]; got != 5 {
		t.Errorf("unauthorized counted %v, want 5", got)
	}
	if got := m[`ivrouter_requests_total{action="none",outcome="forbidden",script="none"}`]; got != 3 {
		t.Errorf("forbidden counted %v, want 3", got)
	}
}

func TestTheTokenStaysOutOfTheLog(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dir := scriptsDir(t, map[string]string{"layers/5.lua": `return function() return ivr.go_to_layer(12) end`})
	url, _ := start(t, Config{Scripts: dir, Token: "s3cret", Logger: log})
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	// A header line without a colon: fasthttp cannot parse the request.
	fmt.Fprint(conn, "POST /?token=s3cret HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\nbroken header\r\nContent-Length: 2\r\n\r\n{}")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 400 {
		t.Errorf("a malformed request got %d", res.StatusCode)
	}
	post(t, url+"/?token=s3cret", request("5", "1"))
	post(t, url+"/?token=guess", request("5", "1"))
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if !strings.Contains(out, "request rejected") || !strings.Contains(out, "msg=call") {
		t.Fatalf("the log lacks the requests:\n%s", out)
	}
	if strings.Contains(out, "s3cret") || strings.Contains(out, "guess") {
		t.Errorf("a token is in the log:\n%s", out)
	}
}

func TestForbiddenPeer(t *testing.T) {
	var runs atomic.Int64
	dir := scriptsDir(t, map[string]string{"layers/5.lua": `local spy = require("spy") return function() spy.ran() return ivr.go_to_layer(12) end`})
	p, _ := ParsePrefix("10.0.0.0/8")
	url, _ := start(t, Config{Scripts: dir, Modules: spyModule(&runs), AllowIPs: []netip.Prefix{p}})
	// Not a trusted proxy: its X-Forwarded-For is ignored.
	req, _ := http.NewRequest("POST", url+"/", bytes.NewReader(request("5", "1")))
	req.Header.Set("X-Forwarded-For", "10.1.1.1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 403 || !strings.Contains(string(body), "127.0.0.1 not allowed") {
		t.Errorf("got %d %s, want 403 naming the address", res.StatusCode, body)
	}
	if runs.Load() != 0 {
		t.Error("the script ran for a forbidden peer")
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// serial number, and returns its pool.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

func TestTLSEndToEndAndCertificateReload(t *testing.T) {
	tmp := t.TempDir()
	certFile, keyFile := filepath.Join(tmp, "cert.pem"), filepath.Join(tmp, "key.pem")
	pool := writeCert(t, certFile, keyFile, 1)
	dir := scriptsDir(t, map[string]string{"layers/5.lua": `return function() return ivr.go_to_layer(12) end`})
	url, srv := start(t, Config{Scripts: dir, TLSCert: certFile, TLSKey: keyFile})
	url = strings.Replace(url, "http://", "https://", 1)
	ask := func(pool *x509.CertPool) (*http.Response, error) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		return c.Post(url+"/", "application/json", bytes.NewReader(request("5", "12345678")))
	}
	res, err := ask(pool)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12}` || res.TLS == nil || res.TLS.PeerCertificates[0].SerialNumber.Int64() != 1 {
		t.Fatalf("over TLS: %s", body)
	}
	if m := scrape(t, srv); m["ivrouter_tls_certificate_expiry_timestamp_seconds"] < float64(time.Now().Unix()) {
		t.Error("no certificate expiry metric")
	}

	// A broken file on reload: the old certificate keeps serving.
	os.WriteFile(certFile, []byte("garbage"), 0o644)
	if err := srv.Reload(); err == nil {
		t.Error("reload accepted a garbage certificate")
	}
	if res, err := ask(pool); err != nil {
		t.Fatalf("after a failed certificate reload: %v", err)
	} else {
		res.Body.Close()
	}

	pool2 := writeCert(t, certFile, keyFile, 2)
	if err := srv.Reload(); err != nil {
		t.Fatal(err)
	}
	res, err = ask(pool2)
	if err != nil {
		t.Fatalf("after reload: %v", err)
	}
	res.Body.Close()
	if got := res.TLS.PeerCertificates[0].SerialNumber.Int64(); got != 2 {
		t.Errorf("after reload the server shows certificate %d, want 2", got)
	}
	if _, err := ask(pool); err == nil {
		t.Error("the old certificate still verifies after reload")
	}

	if _, err := New(Config{Scripts: dir, TLSCert: certFile}); err == nil {
		t.Error("a certificate without a key accepted")
	}
}

func TestSlowClientIsCutByTheReadTimeout(t *testing.T) {
	dir := scriptsDir(t, map[string]string{"layers/5.lua": `return function() return ivr.go_to_layer(12) end`})
	url, _ := start(t, Config{Scripts: dir, ReadTimeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	began := time.Now()
	// Headers trickle in and never end, as in slowloris: each line would
	// reset a per-read timeout, but not one on the whole request.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		conn.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\n"))
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte("X-Slow: 1\r\n")); err != nil {
					return
				}
			}
		}
	}()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, conn) // returns when the server closes the connection
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("a slow client held a connection for %v with a 200ms read timeout (%v)", took, err)
	}
}

// A client may open a connection ahead of its next request (Go's
// transport does, racing a dial against a connection coming free) and
// leave it unused. When the read timeout closes it, no answer may be
// written: the client would read it as the answer to a request it sends
// on that connection just then.
func TestAConnectionThatSentNothingIsClosedWithoutAnAnswer(t *testing.T) {
	dir := scriptsDir(t, map[string]string{"layers/5.lua": `return function() return ivr.go_to_layer(12) end`})
	url, _ := start(t, Config{Scripts: dir, ReadTimeout: 100 * time.Millisecond})
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(conn) // returns when the server closes the connection
	if err != nil || len(got) != 0 {
		t.Errorf("an unused connection got %q (%v), want it closed with nothing written", got, err)
	}
}

func TestCallLogOneLinePerRequestWithTheScriptsOwnLines(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil))
	dir := scriptsDir(t, map[string]string{
		"layers/5.lua": `local log = require("log")
		return function(call)
			log.info("routing", {digits = #call.dtmf})
			if #call.dtmf == 8 then return ivr.go_to_layer(12) end
			return ivr.go_to_layer(13)
		end`,
	})
	url, _ := start(t, Config{Scripts: dir, Logger: log, MaskCaller: true})
	post(t, url+"/", request("5", "12345678"))
	post(t, url+"/", []byte("{"))
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	var calls, routing, rejected []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("not JSON: %s", sc.Text())
		}
		switch rec["msg"] {
		case "call":
			calls = append(calls, rec)
		case "routing":
			routing = append(routing, rec)
		case "request rejected":
			rejected = append(rejected, rec)
		}
	}
	if len(calls) != 1 || len(routing) != 1 || len(rejected) != 1 {
		t.Fatalf("want one call line, one script line, one rejection:\n%s", out)
	}
	c := calls[0]
	for k, want := range map[string]any{
		"ivr_unique_id": "u-5-12345678", "did": "0722776772", "caller": "******4567", "layer": 5.0,
		"script": "layers/5", "action": "GO_TO_LAYER", "target": "12", "outcome": "ok", "dtmf": "********",
	} {
		if c[k] != want {
			t.Errorf("call line %s = %v, want %v\n%s", k, c[k], want, out)
		}
	}
	if _, ok := c["ms"].(float64); !ok {
		t.Errorf("no duration in %v", c)
	}
	if routing[0]["ivr_unique_id"] != c["ivr_unique_id"] {
		t.Errorf("the script's line carries %v, the call's %v", routing[0]["ivr_unique_id"], c["ivr_unique_id"])
	}
	if strings.Contains(out, "0501234567") {
		t.Errorf("the masked caller's number is in the log:\n%s", out)
	}
}

func TestCallLogWriterKeepsTheLoggersLevel(t *testing.T) {
	var lines, other bytes.Buffer
	var mu sync.Mutex
	dir := scriptsDir(t, map[string]string{
		"ok.lua":   `return function() return ivr.go_to_layer(12) end`,
		"boom.lua": `return { fallback = 9, handle = function() error("boom") end }`,
	})
	log := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &other}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	url, _ := start(t, Config{Scripts: dir, Logger: log, CallLog: lockedWriter{&mu, &lines}, CallLogJSON: true})
	post(t, url+"/ok", request("5", "1"))
	post(t, url+"/boom", request("5", "1"))
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(other.String(), `"msg":"call"`) {
		t.Errorf("call lines went to the logger too:\n%s", other.String())
	}
	got := strings.Split(strings.TrimSpace(lines.String()), "\n")
	if len(got) != 1 {
		t.Fatalf("want only the failure at level warn, got:\n%s", lines.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(got[0]), &rec); err != nil {
		t.Fatalf("not JSON: %s", got[0])
	}
	if rec["level"] != "WARN" || rec["script"] != "boom" || rec["target"] != "9" || !strings.Contains(fmt.Sprint(rec["error"]), "boom.lua:1: boom") {
		t.Errorf("the failure's line: %v", rec)
	}
}

func TestMaskCaller(t *testing.T) {
	for in, want := range map[string]string{"0501234567": "******4567", "201": "**1", "": "", "12": "*2"} {
		if got := MaskCaller(in); got != want {
			t.Errorf("MaskCaller(%q) = %q, want %q", in, got, want)
		}
	}
}
