package http_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bhttp "github.com/ivrouter/ivrouter/bridge/http"
	"github.com/ivrouter/ivrouter/bridge/http/crmstub"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/luavmtest"
)

func engine(t *testing.T, m *bhttp.Module, files map[string]string) *luavm.Engine {
	t.Helper()
	return luavmtest.Engine(t, files, luavm.Options{VMs: 2, Modules: []luavm.Module{{Name: "http", Loader: m.Loader}}})
}

// reserving is engine with Options.Reserve: the budget of a script with a
// 4 s deadline is 4 s less reserve, and once a request gives up the script
// has the reserve, seconds, to answer, however loaded the machine.
func reserving(t *testing.T, m *bhttp.Module, reserve time.Duration, files map[string]string) *luavm.Engine {
	t.Helper()
	return luavmtest.Engine(t, files, luavm.Options{VMs: 2, Reserve: reserve, Modules: []luavm.Module{{Name: "http", Loader: m.Loader}}})
}

// get is a script that reports what http.get returned.
const get = `local http = require("http")
return { deadline = 4000, handle = function(url)
  local res, err = http.get(url, { timeout = 5000 })
  if not res then return "err:" .. err end
  return "ok:" .. res.status .. ":" .. #res.body
end }`

func TestRequestsCarryWhatTheScriptSays(t *testing.T) {
	var seen *nethttp.Request
	var body string
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		seen = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.Header().Set("X-Answer", "42")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.WriteHeader(201)
		w.Write([]byte("created"))
	}))
	defer srv.Close()
	e := engine(t, bhttp.New(bhttp.Options{}), map[string]string{"post.lua": `local http = require("http")
		return function(url)
		  local res = assert(http.post(url .. "/contacts?x=1", {
		    headers = { Authorization = "Bearer t0k", ["X-Num"] = 7 },
		    query = { phone = "050 123", id = 9 },
		    json = { name = "Dana", tags = { "a", "b" } },
		  }))
		  return res.status .. "|" .. res.headers["x-answer"] .. "|" .. res.headers["x-multi"] .. "|" .. res.body
		end`})
	out, err := luavmtest.Run(e, "post", "c1", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if out != "201|42|a, b|created" {
		t.Errorf("script saw %q", out)
	}
	if seen.Method != "POST" || seen.URL.Path != "/contacts" || seen.URL.Query().Get("phone") != "050 123" ||
		seen.URL.Query().Get("id") != "9" || seen.URL.Query().Get("x") != "1" {
		t.Errorf("request %s %s", seen.Method, seen.URL)
	}
	if seen.Header.Get("Authorization") != "Bearer t0k" || seen.Header.Get("X-Num") != "7" || seen.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", seen.Header)
	}
	if body != `{"name":"Dana","tags":["a","b"]}` {
		t.Errorf("body %s", body)
	}
}

func TestABadCRMCostsNoMoreThanTheDeadline(t *testing.T) {
	crm := crmstub.New(map[string]crmstub.Contact{"0501234567": {Name: "Dana", Type: "lead"}})
	srv := httptest.NewServer(crm)
	defer srv.Close()
	refused := closedPort(t)
	// A 2 s budget, under the CRM's 3 s stall and the script's 5 s
	// timeout: "err:timeout" is the budget's cut, and an answer at all is
	// the script's, within its deadline.
	e := reserving(t, bhttp.New(bhttp.Options{Failures: 1000}), 2*time.Second, map[string]string{"get.lua": get})
	for _, tc := range []struct {
		name string
		mode crmstub.Mode
		url  string
		want string
	}{
		{"ok", crmstub.OK, srv.URL + "/contacts?phone=0501234567", "ok:200:"},
		{"slow", crmstub.Slow, srv.URL + "/contacts", "err:timeout"},
		{"slow headers", crmstub.SlowHeaders, srv.URL + "/contacts", "err:timeout"},
		{"refused", crmstub.OK, refused, "err:"},
		{"500", crmstub.Fail, srv.URL + "/contacts", "ok:500:"},
		{"malformed json", crmstub.BadJSON, srv.URL + "/contacts", "ok:200:"},
		{"huge body", crmstub.Huge, srv.URL + "/contacts", "err:response body over 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crm.Fault(tc.mode, 3*time.Second)
			out, err := luavmtest.Run(e, "get", "c", tc.url)
			if err != nil || !strings.HasPrefix(out, tc.want) {
				t.Errorf("got %q, %v; want %q...", out, err, tc.want)
			}
		})
	}
}

func TestTheBreakerStopsCallingAFailingCRM(t *testing.T) {
	crm := crmstub.New(nil)
	crm.Fault(crmstub.Fail, 0)
	srv := httptest.NewServer(crm)
	defer srv.Close()
	m := bhttp.New(bhttp.Options{Failures: 3, Cooldown: time.Hour})
	e := engine(t, m, map[string]string{"get.lua": get})
	var outs []string
	for i := 0; i < 10; i++ {
		out, err := luavmtest.Run(e, "get", "c", srv.URL+"/contacts")
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	if n := crm.Requests(); n != 3 {
		t.Errorf("the CRM saw %d requests, want the threshold of 3", n)
	}
	if outs[2] != "ok:500:21" || outs[3] != "err:circuit open" || outs[9] != "err:circuit open" {
		t.Errorf("answers %q", outs)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	if got := m.State(host); got != "open" {
		t.Errorf("state %q", got)
	}
	if got := m.Circuits(); len(got) != 1 || got[host] != "open" {
		t.Errorf("circuits %v, want only %s open", got, host)
	}
}

func TestHostsAndURLsAreChecked(t *testing.T) {
	allowed := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		nethttp.Redirect(w, r, "http://elsewhere.invalid/", nethttp.StatusFound)
	}))
	defer allowed.Close()
	host := strings.TrimPrefix(allowed.URL, "http://")
	m := bhttp.New(bhttp.Options{AllowHosts: []string{host, "*.example.com"}})
	if m.AnyHost() {
		t.Error("AnyHost with an allowlist")
	}
	e := engine(t, m, map[string]string{
		"get.lua": get,
		"raw.lua": `local http = require("http") return function(url) http.get(url) return "reached" end`,
		"opt.lua": `local http = require("http") return function(url) http.get(url, { retries = 3 }) return "reached" end`,
	})
	for _, tc := range []struct{ script, url, want string }{
		{"raw", "http://crm.other.com/x", "host crm.other.com is not allowed"},
		{"raw", "ftp://" + host + "/", "must be an absolute http or https URL"},
		{"raw", "/relative", "must be an absolute http or https URL"},
		{"opt", allowed.URL, `unknown option "retries"`},
	} {
		if _, err := luavmtest.Run(e, tc.script, "c", tc.url); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: got %v, want %q", tc.script, tc.url, err, tc.want)
		}
	}
	out, err := luavmtest.Run(e, "get", "c", allowed.URL)
	if err != nil || !strings.Contains(out, "not an allowed host") {
		t.Errorf("redirect off the allowlist: %q %v", out, err)
	}
}

func TestTimeoutIsCappedByTheDeadline(t *testing.T) {
	crm := crmstub.New(nil)
	crm.Fault(crmstub.Slow, 10*time.Second)
	srv := httptest.NewServer(crm)
	defer srv.Close()
	// Budget 500 ms of the 4 s deadline: the script gets the timeout
	// error and, with 3.5 s left, answers.
	e := reserving(t, bhttp.New(bhttp.Options{}), 3500*time.Millisecond, map[string]string{"late.lua": `local http = require("http")
		return { deadline = 4000, handle = function(url)
		  local res, err = http.get(url, { timeout = 60000 })
		  return "answered:" .. tostring(err)
		end }`})
	out, err := luavmtest.Run(e, "late", "c", srv.URL)
	if err != nil || !strings.HasPrefix(out, "answered:timeout after") {
		t.Errorf("got %q %v: the script should get the error and still answer", out, err)
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return fmt.Sprintf("http://%s/contacts", addr)
}

// hung is a CRM that accepts requests and never answers them; requests
// counts those that reached it.
func hung(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var requests atomic.Int64
	stop := make(chan struct{})
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		requests.Add(1)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	return srv, &requests
}

func TestTheBreakerOpensOnAHungCRMWhenTheDeadlineCapsTheTimeout(t *testing.T) {
	srv, requests := hung(t)
	m := bhttp.New(bhttp.Options{Failures: 3, Cooldown: time.Hour})
	// deadline 4000 less a 3.5 s reserve, timeout 5000: every request's
	// timeout is the call's budget (about 500 ms), well over ShortWait.
	e := reserving(t, m, 3500*time.Millisecond, map[string]string{"get.lua": get})
	var outs []string
	for i := 0; i < 40; i++ {
		out, err := luavmtest.Run(e, "get", "c", srv.URL+"/contacts")
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("the hung CRM got %d of 40 requests, want the threshold of 3", n)
	}
	for i, out := range outs {
		want := "err:circuit open"
		if i < 3 {
			want = "err:timeout after"
		}
		if !strings.HasPrefix(out, want) {
			t.Errorf("call %d: %q, want %q", i, out, want)
		}
	}
	if got := m.State(strings.TrimPrefix(srv.URL, "http://")); got != "open" {
		t.Errorf("state %q", got)
	}
}

func TestATimeoutCutShortByTheDeadlineIsNotCounted(t *testing.T) {
	srv, requests := hung(t)
	m := bhttp.New(bhttp.Options{Failures: 2, Cooldown: time.Hour})
	// deadline 4000 less a 3920 ms reserve: the budget is under ShortWait
	// whenever the request starts, the later the shorter.
	e := reserving(t, m, 3920*time.Millisecond, map[string]string{"short.lua": `local http = require("http")
		return { deadline = 4000, handle = function(url)
		  local res, err = http.get(url, { timeout = 5000 })
		  return "err:" .. tostring(err)
		end }`})
	for i := 0; i < 6; i++ {
		out, err := luavmtest.Run(e, "short", "c", srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "circuit open") {
			t.Fatalf("call %d: %q: a timeout the call's budget cut short opened the circuit", i, out)
		}
	}
	if got := m.State(strings.TrimPrefix(srv.URL, "http://")); got != "closed" {
		t.Errorf("state %q after %d requests", got, requests.Load())
	}
}

// try is a script that reports whether http.get raised, failed or answered.
const try = `local http = require("http")
return function(url)
  local ok, res, err = pcall(http.get, url)
  if not ok then return "raised:" .. tostring(res) end
  if not res then return "err:" .. err end
  return "ok:" .. res.status
end`

// roundTripFunc answers requests without a network.
type roundTripFunc func(*nethttp.Request) (*nethttp.Response, error)

func (f roundTripFunc) RoundTrip(r *nethttp.Request) (*nethttp.Response, error) { return f(r) }

func TestAllowHostWithoutAPortMeansTheDefaultPorts(t *testing.T) {
	ok := roundTripFunc(func(r *nethttp.Request) (*nethttp.Response, error) {
		return &nethttp.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Header: nethttp.Header{}}, nil
	})
	m := bhttp.New(bhttp.Options{
		AllowHosts: []string{"crm.example.com", "*.example.org", "API.example.net:8443", "10.0.0.5", "[::1]:9000"},
		Transport:  ok,
	})
	e := engine(t, m, map[string]string{"try.lua": try})
	for url, allowed := range map[string]bool{
		"http://crm.example.com/x":        true,
		"https://crm.example.com/x":       true,
		"http://CRM.example.com:80/x":     true,
		"https://crm.example.com:443/x":   true,
		"http://crm.example.com:8080/x":   false,
		"https://crm.example.com:80/x":    false,
		"http://crm.example.com:443/x":    false,
		"http://a.b.example.org/x":        true,
		"https://a.example.org/x":         true,
		"http://a.example.org:81/x":       false,
		"http://example.org/x":            false,
		"https://api.example.net:8443/x":  true,
		"http://api.example.net:8443/x":   true,
		"https://api.example.net/x":       false,
		"http://10.0.0.5/x":               true,
		"http://10.0.0.5:8080/x":          false,
		"http://[::1]:9000/x":             true,
		"http://[::1]/x":                  false,
		"http://crm.example.com.evil.io/": false,
	} {
		out, err := luavmtest.Run(e, "try", "c", url)
		switch {
		case err != nil:
			t.Errorf("%s: %v", url, err)
		case allowed && out != "ok:200":
			t.Errorf("%s: %q, want it allowed", url, out)
		case !allowed && (!strings.HasPrefix(out, "raised:") || !strings.Contains(out, "is not allowed") ||
			!strings.Contains(out, "an entry without a port allows ports 80 and 443 only")):
			t.Errorf("%s: %q, want it refused", url, out)
		}
	}
}

func TestScriptsCannotReachTheServersOwnPorts(t *testing.T) {
	var reached atomic.Int64
	own := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) { reached.Add(1) }))
	defer own.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(own.URL, "http://"))
	byName := "http://localhost:" + port + "/metrics" // resolved at dial time
	byIP := "http://127.0.0.1:" + port + "/metrics"
	for _, tc := range []struct {
		deny  []string
		allow []string
		url   string
		want  string
	}{
		{[]string{":" + port}, nil, byName, "err:host not allowed:"},
		{[]string{":" + port}, nil, byIP, "err:host not allowed: 127.0.0.1:" + port + " is a denied port of this machine"},
		{[]string{"0.0.0.0:" + port}, nil, byName, "err:host not allowed:"},
		{[]string{"[::]:" + port}, nil, byName, "err:host not allowed:"},
		{[]string{"localhost:" + port}, nil, byName, "err:host not allowed:"},
		{[]string{"127.0.0.1:" + port}, nil, byIP, "err:host not allowed: 127.0.0.1:" + port + " is a denied address"},
		{[]string{"10.9.9.9:" + port}, nil, byIP, "ok:200"},                   // another address
		{[]string{":1", "127.0.0.1:0"}, nil, byName, "ok:200"},                // other ports
		{[]string{":" + port}, []string{"127.0.0.1:" + port}, byIP, "ok:200"}, // named explicitly
	} {
		reached.Store(0)
		m := bhttp.New(bhttp.Options{Deny: tc.deny, AllowHosts: tc.allow})
		e := engine(t, m, map[string]string{"try.lua": try})
		out, err := luavmtest.Run(e, "try", "c", tc.url)
		if err != nil || !strings.HasPrefix(out, tc.want) {
			t.Errorf("deny %v allow %v, %s: %q %v, want %q", tc.deny, tc.allow, tc.url, out, err, tc.want)
		}
		if denied := strings.HasPrefix(tc.want, "err:"); denied && reached.Load() != 0 {
			t.Errorf("deny %v, %s: the request reached the server", tc.deny, tc.url)
		}
		if got := m.State("localhost:" + port); got != "closed" {
			t.Errorf("deny %v: a denied request counted against the circuit: %s", tc.deny, got)
		}
	}
}

func TestADeniedPortIsDeniedOnThisMachinesOtherAddresses(t *testing.T) {
	var local net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			local = n.IP
			break
		}
	}
	if local == nil {
		t.Skip("no IPv4 address besides loopback")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(local.String(), "0"))
	if err != nil {
		t.Skip(err)
	}
	own := httptest.NewUnstartedServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {}))
	own.Listener.Close()
	own.Listener = ln
	own.Start()
	defer own.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	e := engine(t, bhttp.New(bhttp.Options{Deny: []string{":" + port}}), map[string]string{"try.lua": try})
	out, err := luavmtest.Run(e, "try", "c", own.URL)
	if want := "err:host not allowed: " + ln.Addr().String() + " is a denied port of this machine"; err != nil || out != want {
		t.Errorf("%s: %q %v, want %q", own.URL, out, err, want)
	}
}

func TestTheMetadataAddressIsDeniedEvenThroughDNS(t *testing.T) {
	// A resolver that says every name is 169.254.169.254: a DNS rebinding.
	m := bhttp.New(bhttp.Options{Resolver: fakeDNS(t, net.IPv4(169, 254, 169, 254))})
	e := engine(t, m, map[string]string{"try.lua": try})
	for _, url := range []string{
		"http://metadata.rebind.test/latest/meta-data/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::ffff:169.254.169.254]:8080/",
		"http://[fd00:ec2::254]/latest/meta-data/",
	} {
		out, err := luavmtest.Run(e, "try", "c", url)
		if err != nil || !strings.HasPrefix(out, "err:host not allowed: ") || !strings.HasSuffix(out, " is the cloud metadata address") {
			t.Errorf("%s: %q %v", url, out, err)
		}
	}
	// An allowlist that names the host does not name the address.
	m = bhttp.New(bhttp.Options{AllowHosts: []string{"*.rebind.test"}, Resolver: fakeDNS(t, net.IPv4(169, 254, 169, 254))})
	e = engine(t, m, map[string]string{"try.lua": try})
	if out, err := luavmtest.Run(e, "try", "c", "http://metadata.rebind.test/"); err != nil || out != "err:host not allowed: 169.254.169.254:80 is the cloud metadata address" {
		t.Errorf("allowed name, metadata address: %q %v", out, err)
	}
}

func TestRedirectsToADeniedAddressAreRefused(t *testing.T) {
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		nethttp.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", nethttp.StatusFound)
	}))
	defer srv.Close()
	e := engine(t, bhttp.New(bhttp.Options{}), map[string]string{"try.lua": try})
	if out, err := luavmtest.Run(e, "try", "c", srv.URL); err != nil || out != "err:host not allowed: 169.254.169.254:80 is the cloud metadata address" {
		t.Errorf("redirect to the metadata address: %q %v", out, err)
	}
}

// fakeDNS is a resolver whose server answers every A question with ip and
// every other question with no records, over an in-memory stream.
func fakeDNS(t *testing.T, ip net.IP) *net.Resolver {
	t.Helper()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			for {
				var n [2]byte
				if _, err := io.ReadFull(server, n[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(n[:]))
				if _, err := io.ReadFull(server, q); err != nil || len(q) < 12 {
					return
				}
				end := 12 // the question: labels, then type and class
				for end < len(q) && q[end] != 0 {
					end += int(q[end]) + 1
				}
				end += 5
				if end > len(q) {
					return
				}
				qtype := binary.BigEndian.Uint16(q[end-4:])
				ans := []byte{0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4}
				ans = append(ans, ip.To4()...)
				var count uint16
				if qtype != 1 {
					ans = nil
				} else {
					count = 1
				}
				resp := append([]byte{q[0], q[1], 0x81, 0x80, 0, 1, byte(count >> 8), byte(count), 0, 0, 0, 0}, q[12:end]...)
				resp = append(resp, ans...)
				out := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
				if _, err := server.Write(append(out, resp...)); err != nil {
					return
				}
			}
		}()
		return client, nil
	}}
}

// The demo CRM takes write-backs at POST /calls, keeps the last hundred,
// and lists them at GET /calls.
func TestCRMStubTakesWriteBacks(t *testing.T) {
	crm := crmstub.New(nil)
	srv := httptest.NewServer(crm)
	defer srv.Close()
	for i := range 102 {
		res, err := nethttp.Post(srv.URL+"/calls", "application/json", strings.NewReader(fmt.Sprintf(`{"ivruniqueid":"c%d","status":"ANSWER"}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != nethttp.StatusCreated {
			t.Fatalf("write-back %d: %d", i, res.StatusCode)
		}
	}
	res, _ := nethttp.Post(srv.URL+"/calls", "application/json", strings.NewReader(`[1,2]`))
	res.Body.Close()
	if res.StatusCode != nethttp.StatusBadRequest {
		t.Errorf("a JSON array: %d, want 400", res.StatusCode)
	}
	calls := crm.Calls()
	if len(calls) != 100 || string(calls[0]) != `{"ivruniqueid":"c2","status":"ANSWER"}` || string(calls[99]) != `{"ivruniqueid":"c101","status":"ANSWER"}` {
		t.Errorf("kept %d write-backs: first %s", len(calls), calls[0])
	}
	res, err := nethttp.Get(srv.URL + "/calls")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var listed []map[string]string
	if err := json.NewDecoder(res.Body).Decode(&listed); err != nil || len(listed) != 100 || listed[99]["ivruniqueid"] != "c101" {
		t.Errorf("GET /calls: %v, %d listed", err, len(listed))
	}
}
