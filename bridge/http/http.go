// Package http is the "http" Lua module: CRM lookups over HTTP that can
// never cost a caller more than the call's deadline.
//
// Every request's timeout is capped by what is left of the call's deadline;
// connections are pooled and kept alive; each host has a circuit breaker, so
// a CRM that keeps failing is answered "circuit open" at once instead of
// being waited on by every call. Network failures, timeouts and open
// circuits return nil, err to the script: they never raise.
package http

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	bjson "github.com/ivrouter/ivrouter/bridge/json"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/sony/gobreaker/v2"
	lua "github.com/yuin/gopher-lua"
)

// Options configure the module. Zero fields take the defaults.
type Options struct {
	// AllowHosts restricts the hosts scripts may reach ("crm.example.com",
	// "crm.example.com:8443", or "*.example.com"); empty allows any host.
	AllowHosts []string
	// MaxBody bounds a response body (default 1 MiB); a larger one is an error.
	MaxBody int64
	// Timeout is a request's timeout when the script gives none (default 2 s).
	Timeout time.Duration
	// Failures is how many consecutive failures open a host's circuit
	// (default 5); Cooldown is how long it stays open before one probe is
	// let through (default 10 s).
	Failures uint32
	Cooldown time.Duration
	// Transport replaces the pooled default, for tests and embedding.
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
	if o.Transport == nil {
		o.Transport = &nethttp.Transport{
			Proxy:                 nethttp.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          512,
			MaxIdleConnsPerHost:   128,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   2 * time.Second,
			ExpectContinueTimeout: time.Second,
			ForceAttemptHTTP2:     true,
		}
	}
	m := &Module{opts: o, breakers: map[string]*gobreaker.TwoStepCircuitBreaker[struct{}]{}}
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
	if !m.allowed(u.Host) {
		L.RaiseError("%s: host %s is not allowed (allowed: %s)", fn, u.Host, strings.Join(m.opts.AllowHosts, ", "))
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

// send runs the request under the call's deadline and the host's breaker.
func (m *Module) send(L *lua.LState, r *request) (lua.LValue, error) {
	timeout, capped := r.timeout, false
	if left, ok := luavm.Budget(L); ok {
		if left <= 0 {
			return nil, errors.New("no time left before the call's deadline")
		}
		timeout, capped = min(timeout, left), left < timeout
	}
	host := r.url.Host
	done, err := m.breaker(host).Allow()
	if err != nil {
		m.observe(host, StatusCircuitOpen, 0)
		return nil, ErrCircuitOpen
	}
	start := time.Now()
	status, res, err := m.roundTrip(L, r, timeout)
	done(breakerOutcome(status, err, capped))
	m.observe(host, status, time.Since(start))
	return res, err
}

// errShortBudget is a timeout of our own making: the call had little time
// left, which says nothing about the CRM's health.
var errShortBudget = errors.New("timed out on the call's deadline")

// breakerOutcome counts what says the CRM is unwell: no answer, or a 5xx.
func breakerOutcome(status int, err error, capped bool) error {
	switch {
	case status >= 500:
		return fmt.Errorf("status %d", status)
	case status == 0 && capped && err != nil && strings.HasPrefix(err.Error(), "timeout"):
		return errShortBudget
	case status == 0:
		return err
	}
	return nil
}

func (m *Module) roundTrip(L *lua.LState, r *request, timeout time.Duration) (int, lua.LValue, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
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
		return resp.StatusCode, nil, fmt.Errorf("response body over %d bytes", m.opts.MaxBody)
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

// clean turns a client error into a short message a script can log.
func clean(err error, timeout time.Duration) error {
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return fmt.Errorf("timeout after %v", timeout.Round(time.Millisecond))
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
			IsExcluded:  func(err error) bool { return errors.Is(err, errShortBudget) },
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

// allowed matches host against AllowHosts: exact host, host:port, or a
// "*.suffix" wildcard.
func (m *Module) allowed(hostport string) bool {
	if len(m.opts.AllowHosts) == 0 {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	for _, a := range m.opts.AllowHosts {
		switch {
		case strings.EqualFold(a, hostport), strings.EqualFold(a, host):
			return true
		case strings.HasPrefix(a, "*.") && strings.HasSuffix(strings.ToLower(host), strings.ToLower(a[1:])):
			return true
		}
	}
	return false
}

// checkRedirect keeps redirects inside the allowed hosts.
func (m *Module) checkRedirect(req *nethttp.Request, via []*nethttp.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	if !m.allowed(req.URL.Host) {
		return fmt.Errorf("redirect to %s, which is not an allowed host", req.URL.Host)
	}
	return nil
}
