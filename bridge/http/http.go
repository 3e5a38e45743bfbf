// Package http is the "http" Lua module: CRM lookups over HTTP that can
// never cost a caller more than the call's deadline.
//
// Every request's timeout is capped by what is left of the call's deadline;
// connections are pooled and kept alive; each host has a circuit breaker, so
// a CRM that keeps failing is answered "circuit open" at once instead of
// being waited on by every call. Network failures, timeouts and open
// circuits return nil, err to the script: they never raise.
//
// Scripts reach only the hosts and ports AllowHosts names, and never, unless
// an AllowHosts entry names the IP, the cloud metadata address or the
// addresses in Deny (the server's own): those are checked on the address
// each connection is made to, after DNS, so a name that resolves to one is
// refused too.
package http

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	bjson "github.com/ivrouter/ivrouter/bridge/json"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/calltrace"
	"github.com/sony/gobreaker/v2"
	lua "github.com/yuin/gopher-lua"
)

// Options configure the module. Zero fields take the defaults.
type Options struct {
	// AllowHosts restricts the hosts scripts may reach, redirects included:
	// "crm.example.com" or "*.example.com" (any subdomain) on the default
	// ports only (80 for http, 443 for https), "crm.example.com:8443" or
	// "*.example.com:8443" on that port. Empty allows any host on any port.
	// An entry that is an IP ("10.0.0.5", "127.0.0.1:9090") also lets
	// scripts reach that address when Deny or the metadata deny covers it.
	AllowHosts []string
	// Deny lists addresses scripts may not reach whatever AllowHosts says
	// (unless an AllowHosts entry names the IP): the server passes its own
	// listen and admin addresses. "host:port" with an IP denies that IP and
	// port; ":port", or a host that is not an IP ("localhost:9090") or is
	// unspecified ("0.0.0.0:8080", "[::]:8080"), denies that port on every
	// address of this machine: loopback, unspecified and its interfaces'.
	// Port 0 entries are skipped (pass the address actually bound); an entry
	// that is not host:port makes New panic. The cloud metadata addresses
	// (169.254.169.254 and fd00:ec2::254, any port) are always denied.
	Deny []string
	// Resolver resolves names for the default transport's dials (nil: the
	// system's, as net.Dialer does); denied addresses are checked after it.
	Resolver *net.Resolver
	// MaxBody bounds a response body (default 1 MiB); a larger one is an error.
	MaxBody int64
	// Timeout is a request's timeout when the script gives none (default 2 s).
	Timeout time.Duration
	// Failures is how many consecutive failures open a host's circuit
	// (default 5); Cooldown is how long it stays open before one probe is
	// let through (default 10 s).
	Failures uint32
	Cooldown time.Duration
	// Transport replaces the pooled default, for tests and embedding. Its
	// dials are its own: with it, Deny and the metadata deny are checked on
	// URLs (and redirects) whose host is an IP only, not after DNS.
	Transport nethttp.RoundTripper
	// Observe, when set, is told of every request: host, status (0 for a
	// failure before a response, StatusCircuitOpen for one the host's open
	// circuit refused without sending) and duration.
	Observe func(host string, status int, took time.Duration)
}

// Defaults for zero Options fields.
const (
	DefaultMaxBody  = 1 << 20
	DefaultTimeout  = 2 * time.Second
	DefaultFailures = 5
	DefaultCooldown = 10 * time.Second
)

// ErrCircuitOpen is what a script sees while a host's circuit is open.
var ErrCircuitOpen = errors.New("circuit open")

// ShortWait is the least wait that tells the breaker something: a request
// timed out by the call's budget (not the script's timeout) after less than
// this is not counted, since the call had too little time left to judge the
// CRM by. A timeout of ShortWait or more is a failure whoever set it.
const ShortWait = 100 * time.Millisecond

// metadata are the cloud instance metadata addresses (AWS, GCP, Azure,
// OpenStack and others use the IPv4 one; AWS's Nitro also the IPv6 one),
// denied on every port.
var metadata = []netip.Addr{netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254")}

// Module is the "http" Lua module.
//
//	local http = require("http")
//	local res, err = http.get(CRM .. "/contacts", {
//	  query = { phone = call.caller_id },
//	  headers = { Authorization = "Bearer " .. TOKEN },
//	  timeout = 800,                     -- ms; never past the call's deadline
//	})
//	if not res then                      -- CRM down, slow or circuit open
//	  return ivr.go_to_layer(SALES)
//	end
//	if res.status == 200 then local contact = json.decode(res.body) ... end
//
// Also http.post(url, {json = {...}}) and http.request(method, url, opts).
// Options: headers, query, json (a table sent as JSON), body (a string),
// timeout (ms). A response is {status =, headers = {lower-cased names}, body =}.
type Module struct {
	opts     Options
	allow    []hostRule
	deny     []denyRule
	client   *nethttp.Client
	mu       sync.Mutex
	breakers map[string]*gobreaker.TwoStepCircuitBreaker[struct{}]
}

// StatusCircuitOpen is the status Observe is told of a request refused by
// its host's open circuit: no request was made.
const StatusCircuitOpen = -1

// New returns the module with its connection pool.
func New(o Options) *Module {
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Failures == 0 {
		o.Failures = DefaultFailures
	}
	if o.Cooldown <= 0 {
		o.Cooldown = DefaultCooldown
	}
	m := &Module{opts: o, breakers: map[string]*gobreaker.TwoStepCircuitBreaker[struct{}]{}}
	for _, a := range o.AllowHosts {
		m.allow = append(m.allow, parseHostRule(a))
	}
	for _, d := range o.Deny {
		r, err := parseDeny(d)
		if err != nil {
			panic("http: Options.Deny: " + err.Error())
		}
		if r.port != 0 {
			m.deny = append(m.deny, r)
		}
	}
	if o.Transport == nil {
		dialer := &net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second, Resolver: o.Resolver, Control: m.control}
		o.Transport = &nethttp.Transport{
			Proxy:                 nethttp.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			MaxIdleConns:          512,
			MaxIdleConnsPerHost:   128,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   2 * time.Second,
			ExpectContinueTimeout: time.Second,
			ForceAttemptHTTP2:     true,
		}
	}
	m.opts = o
	m.client = &nethttp.Client{Transport: o.Transport, CheckRedirect: m.checkRedirect}
	return m
}

// AnyHost reports whether scripts may reach any host.
func (m *Module) AnyHost() bool { return len(m.opts.AllowHosts) == 0 }

// Loader builds the module table in L.
func (m *Module) Loader(L *lua.LState) int {
	t := L.CreateTable(0, 3)
	t.RawSetString("request", L.NewFunction(func(L *lua.LState) int {
		return m.do(L, "http.request", strings.ToUpper(L.CheckString(1)), 2)
	}))
	t.RawSetString("get", L.NewFunction(func(L *lua.LState) int { return m.do(L, "http.get", "GET", 1) }))
	t.RawSetString("post", L.NewFunction(func(L *lua.LState) int { return m.do(L, "http.post", "POST", 1) }))
	L.Push(t)
	return 1
}

// request is what a script asked for, checked.
type request struct {
	method  string
	url     *url.URL
	header  nethttp.Header
	body    []byte
	timeout time.Duration
}

func (m *Module) do(L *lua.LState, fn, method string, arg int) int {
	req := m.parse(L, fn, method, arg)
	res, err := m.send(L, req)
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	L.Push(res)
	return 1
}

func (m *Module) parse(L *lua.LState, fn, method string, arg int) *request {
	raw, ok := L.Get(arg).(lua.LString)
	if !ok {
		L.RaiseError("%s: url must be a string, got %s", fn, L.Get(arg).Type())
	}
	u, err := url.Parse(string(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		L.RaiseError("%s: url must be an absolute http or https URL, got %q", fn, string(raw))
	}
	if !m.allowed(u) {
		L.RaiseError("%s: host %s is not allowed (allowed: %s; an entry without a port allows ports 80 and 443 only)", fn, u.Host, strings.Join(m.opts.AllowHosts, ", "))
	}
	if method == "" || strings.ContainsAny(method, " \t\r\n") {
		L.RaiseError("%s: method %q is not an HTTP method", fn, method)
	}
	r := &request{method: method, url: u, header: nethttp.Header{}, timeout: m.opts.Timeout}
	opts := L.Get(arg + 1)
	if opts == lua.LNil {
		return r
	}
	t, ok := opts.(*lua.LTable)
	if !ok {
		L.RaiseError("%s: options must be a table, got %s", fn, opts.Type())
	}
	t.ForEach(func(k, v lua.LValue) {
		switch k.String() {
		case "headers":
			eachString(L, fn, "headers", v, func(name, value string) { r.header.Set(name, value) })
		case "query":
			q := u.Query()
			eachString(L, fn, "query", v, func(name, value string) { q.Set(name, value) })
			u.RawQuery = q.Encode()
		case "json":
			data, err := luavm.ToGo(L, v)
			if err != nil {
				L.RaiseError("%s: option json: %v", fn, err)
			}
			if r.body, err = bjson.Marshal(data); err != nil {
				L.RaiseError("%s: option json: %v", fn, err)
			}
			if r.header.Get("Content-Type") == "" {
				r.header.Set("Content-Type", "application/json")
			}
		case "body":
			s, ok := v.(lua.LString)
			if !ok {
				L.RaiseError("%s: option body must be a string, got %s", fn, v.Type())
			}
			r.body = []byte(s)
		case "timeout":
			n, ok := v.(lua.LNumber)
			if !ok || n <= 0 {
				L.RaiseError("%s: option timeout must be a positive number of milliseconds, got %s", fn, v.String())
			}
			r.timeout = time.Duration(float64(n) * float64(time.Millisecond))
		default:
			L.RaiseError("%s: unknown option %q (options: headers, query, json, body, timeout)", fn, k.String())
		}
	})
	return r
}

// eachString walks a table of string (or number) values.
func eachString(L *lua.LState, fn, name string, v lua.LValue, f func(k, v string)) {
	t, ok := v.(*lua.LTable)
	if !ok {
		L.RaiseError("%s: option %s must be a table of name = value, got %s", fn, name, v.Type())
	}
	t.ForEach(func(k, v lua.LValue) {
		ks, ok := k.(lua.LString)
		if !ok {
			L.RaiseError("%s: option %s has a %s key, want names", fn, name, k.Type())
		}
		switch v.(type) {
		case lua.LString, lua.LNumber, lua.LBool:
			f(string(ks), v.String())
		default:
			L.RaiseError("%s: option %s.%s must be a string, got %s", fn, name, string(ks), v.Type())
		}
	})
}

// send runs the request under the call's deadline and the host's breaker,
// and records it in the call's trace.
func (m *Module) send(L *lua.LState, r *request) (lua.LValue, error) {
	res, status, took, err := m.exchange(L, r)
	if tr := calltrace.Of(L); tr != nil {
		tr.AddRequest(traced(r, status, took, err))
	}
	return res, err
}

// exchange is send's work: the response (nil on an error), its status (0
// when there was none) and how long the request took (0 when unsent).
func (m *Module) exchange(L *lua.LState, r *request) (lua.LValue, int, time.Duration, error) {
	timeout, capped := r.timeout, false
	if left, ok := luavm.Budget(L); ok {
		if left <= 0 {
			return nil, 0, 0, errNoTime
		}
		timeout, capped = min(timeout, left), left < timeout
	}
	host := r.url.Host
	if err := m.deniedURL(r.url); err != nil {
		return nil, 0, 0, err
	}
	done, err := m.breaker(host).Allow()
	if err != nil {
		m.observe(host, StatusCircuitOpen, 0)
		return nil, 0, 0, ErrCircuitOpen
	}
	start := time.Now()
	status, res, err := m.roundTrip(L, r, timeout)
	took := time.Since(start)
	done(breakerOutcome(status, err, capped && timeout < ShortWait))
	m.observe(host, status, took)
	return res, status, took, err
}

// errNoTime is a request not sent because the call's deadline had passed.
var errNoTime = errors.New("no time left before the call's deadline")

// errTooLarge is a response whose body is over Options.MaxBody.
type errTooLarge struct{ max int64 }

func (e *errTooLarge) Error() string { return fmt.Sprintf("response body over %d bytes", e.max) }

// traced is the trace's record of a request: its URL without user info,
// query or fragment, and what came of it.
func traced(r *request, status int, took time.Duration, err error) calltrace.Request {
	u := url.URL{Scheme: r.url.Scheme, Host: r.url.Host, Path: r.url.Path, RawPath: r.url.RawPath}
	t := calltrace.Request{Method: r.method, URL: u.String(), Host: r.url.Host, Status: status, Took: took}
	if err == nil {
		return t
	}
	t.Error = err.Error()
	var te *timeoutError
	var de *deniedError
	var tl *errTooLarge
	switch {
	case errors.As(err, &te):
		t.Failure = calltrace.Timeout
	case errors.Is(err, ErrCircuitOpen):
		t.Failure = calltrace.CircuitOpen
	case errors.Is(err, errNoTime):
		t.Failure = calltrace.NoTime
	case errors.As(err, &de):
		t.Failure = calltrace.Denied
	case errors.As(err, &tl):
		t.Failure = calltrace.TooLarge
	default:
		t.Failure = calltrace.Failed
	}
	return t
}

// errShortBudget is a timeout of our own making: the call had too little
// time left (less than ShortWait) to say anything about the CRM's health.
var errShortBudget = errors.New("timed out on the call's deadline")

// errNotSent is a request refused before it reached the CRM (a denied
// address): not the CRM's doing either way.
var errNotSent = errors.New("not sent")

// breakerOutcome counts what says the CRM is unwell: no answer, or a 5xx.
// short is a timeout the call's budget cut below ShortWait: not counted.
func breakerOutcome(status int, err error, short bool) error {
	var te *timeoutError
	var de *deniedError
	switch {
	case status >= 500:
		return fmt.Errorf("status %d", status)
	case status == 0 && errors.As(err, &de):
		return errNotSent
	case status == 0 && short && errors.As(err, &te):
		return errShortBudget
	case status == 0:
		return err
	}
	return nil
}

func (m *Module) roundTrip(L *lua.LState, r *request, timeout time.Duration) (int, lua.LValue, error) {
	// The call's context: Engine.Close cuts a request short as it cuts
	// the script, so a call running inline answers its fallback at once.
	ctx, cancel := context.WithTimeout(luavm.CallContext(L), timeout)
	defer cancel()
	req, err := nethttp.NewRequestWithContext(ctx, r.method, r.url.String(), bytes.NewReader(r.body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = r.header
	resp, err := m.client.Do(req)
	if err != nil {
		return 0, nil, clean(err, timeout)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, m.opts.MaxBody+1))
	if err != nil {
		return 0, nil, clean(err, timeout)
	}
	if int64(len(body)) > m.opts.MaxBody {
		return resp.StatusCode, nil, &errTooLarge{m.opts.MaxBody}
	}
	headers := L.CreateTable(0, len(resp.Header))
	names := make([]string, 0, len(resp.Header))
	for name := range resp.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		headers.RawSetString(strings.ToLower(name), lua.LString(strings.Join(resp.Header[name], ", ")))
	}
	t := L.CreateTable(0, 3)
	t.RawSetString("status", lua.LNumber(resp.StatusCode))
	t.RawSetString("headers", headers)
	t.RawSetString("body", lua.LString(body))
	return resp.StatusCode, t, nil
}

// timeoutError is a request that got no answer in its timeout.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("timeout after %v", e.after.Round(time.Millisecond))
}

// clean turns a client error into a short message a script can log.
func clean(err error, timeout time.Duration) error {
	var de *deniedError
	if errors.As(err, &de) {
		return de
	}
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return &timeoutError{timeout}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (m *Module) breaker(host string) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.breakers[host]
	if b == nil {
		failures := m.opts.Failures
		b = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
			Name:        host,
			MaxRequests: 1,
			Timeout:     m.opts.Cooldown,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
			IsExcluded:  func(err error) bool { return errors.Is(err, errShortBudget) || errors.Is(err, errNotSent) },
		})
		m.breakers[host] = b
	}
	return b
}

// State reports a host's circuit: "closed", "half-open" or "open".
func (m *Module) State(host string) string {
	return m.breaker(host).State().String()
}

// Circuits reports every host scripts have reached and its circuit state
// ("closed", "half-open" or "open"), for metrics.
func (m *Module) Circuits() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.breakers))
	for host, b := range m.breakers {
		out[host] = b.State().String()
	}
	return out
}

func (m *Module) observe(host string, status int, took time.Duration) {
	if m.opts.Observe != nil {
		m.opts.Observe(host, status, took)
	}
}

// hostRule is one AllowHosts entry.
type hostRule struct {
	host     string     // lower case, without brackets; for a wildcard, the suffix (".example.com")
	wildcard bool       // "*.example.com"
	port     string     // "" for the scheme's default port
	ip       netip.Addr // when host is an IP: it may be reached though denied
}

func parseHostRule(s string) hostRule {
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	r := hostRule{host: strings.ToLower(host), port: port}
	if strings.HasPrefix(r.host, "*.") {
		r.host, r.wildcard = r.host[1:], true
	}
	if ip, err := netip.ParseAddr(r.host); err == nil {
		r.ip = ip.Unmap()
	}
	return r
}

// defaultPort is the scheme's port.
func defaultPort(scheme string) string {
	if strings.EqualFold(scheme, "https") {
		return "443"
	}
	return "80"
}

// allowed matches a URL's host and port against AllowHosts: an entry
// without a port allows the scheme's default port only.
func (m *Module) allowed(u *url.URL) bool {
	if len(m.allow) == 0 {
		return true
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	ip, ipErr := netip.ParseAddr(host)
	for _, r := range m.allow {
		if r.port == "" && port != defaultPort(u.Scheme) || r.port != "" && r.port != port {
			continue
		}
		switch {
		case r.wildcard && strings.HasSuffix(host, r.host):
			return true
		case !r.wildcard && r.host == host:
			return true
		case r.ip.IsValid() && ipErr == nil && r.ip == ip.Unmap():
			return true
		}
	}
	return false
}

// checkRedirect keeps redirects inside the allowed hosts, and off denied
// IPs.
func (m *Module) checkRedirect(req *nethttp.Request, via []*nethttp.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	if !m.allowed(req.URL) {
		return fmt.Errorf("redirect to %s, which is not an allowed host", req.URL.Host)
	}
	return m.deniedURL(req.URL)
}

// denyRule is one denied address: ip and port, or port on any address of
// this machine when ip is not valid.
type denyRule struct {
	ip   netip.Addr
	port uint16
}

func parseDeny(s string) (denyRule, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return denyRule{}, fmt.Errorf("%q is not host:port or :port", s)
	}
	port, err := net.LookupPort("tcp", p)
	if err != nil {
		return denyRule{}, fmt.Errorf("%q: bad port", s)
	}
	r := denyRule{port: uint16(port)}
	// A name or an unspecified IP is this machine: the server listens on it.
	if ip, err := netip.ParseAddr(host); err == nil && !ip.IsUnspecified() {
		r.ip = ip.Unmap().WithZone("")
	}
	return r, nil
}

// deniedError is a connection refused to a denied address.
type deniedError struct {
	addr netip.AddrPort // where it would have connected, after DNS
	why  string
}

func (e *deniedError) Error() string {
	if !e.addr.IsValid() {
		return "host not allowed: " + e.why
	}
	return fmt.Sprintf("host not allowed: %s is %s", e.addr, e.why)
}

// denied reports why scripts may not connect to ip:port, or "".
func (m *Module) denied(ip netip.Addr, port uint16) string {
	ip = ip.Unmap().WithZone("")
	for _, r := range m.allow { // named by its IP: allowed
		if r.ip.IsValid() && r.ip == ip && (r.port == strconv.Itoa(int(port)) || r.port == "" && (port == 80 || port == 443)) {
			return ""
		}
	}
	for _, md := range metadata {
		if ip == md {
			return "the cloud metadata address"
		}
	}
	for _, r := range m.deny {
		switch {
		case r.port != port:
		case r.ip.IsValid() && r.ip == ip:
			return "a denied address"
		case !r.ip.IsValid() && isLocal(ip):
			return "a denied port of this machine"
		}
	}
	return ""
}

// isLocal reports whether ip is one of this machine's: loopback,
// unspecified (which connects to this machine) or an interface's address.
// When the interfaces cannot be read, it says yes.
func isLocal(ip netip.Addr) bool {
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if local, ok := netip.AddrFromSlice(n.IP); ok && local.Unmap() == ip {
				return true
			}
		}
	}
	return false
}

// control is the default transport's check of each address it connects
// to, after DNS: a name that resolves to a denied address is refused.
func (m *Module) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &deniedError{why: fmt.Sprintf("an address that cannot be checked (%s)", address)}
	}
	if why := m.denied(ap.Addr(), ap.Port()); why != "" {
		return &deniedError{addr: netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port()), why: why}
	}
	return nil
}

// deniedURL checks a URL whose host is an IP before anything is sent (and
// whatever the transport).
func (m *Module) deniedURL(u *url.URL) error {
	ip, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return nil
	}
	p := u.Port()
	if p == "" {
		p = defaultPort(u.Scheme)
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return nil // the transport refuses it
	}
	if why := m.denied(ip, uint16(port)); why != "" {
		return &deniedError{addr: netip.AddrPortFrom(ip.Unmap().WithZone(""), uint16(port)), why: why}
	}
	return nil
}
