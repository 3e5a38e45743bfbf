package scripttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// stub is one canned answer to the scripts' HTTP requests.
type stub struct {
	match   *regexp.Regexp // of "METHOD URL"
	status  int
	header  http.Header
	body    []byte
	err     string // a network error instead of a response
	timeout bool   // a timeout instead of a response
}

func (d *decoder) stubs(n *yaml.Node) []*stub {
	var out []*stub
	d.list(n, "http", func(s *yaml.Node) { out = append(out, d.stub(s)) })
	return out
}

func (d *decoder) stub(n *yaml.Node) *stub {
	s := &stub{status: http.StatusOK, header: http.Header{}}
	var hasMatch, hasJSON, hasBody, answers bool
	d.fields(n, "an http stub", map[string]func(*yaml.Node){
		"match":  func(v *yaml.Node) { s.match, hasMatch = d.pattern(v), true },
		"status": func(v *yaml.Node) { s.status, answers = d.integer(v, "status", 100, 599), true },
		"headers": func(v *yaml.Node) {
			answers = true
			d.pairs(v, "headers", func(k, v *yaml.Node) { s.header.Set(k.Value, d.text(v, "header "+k.Value)) })
		},
		"json": func(v *yaml.Node) {
			hasJSON, answers = true, true
			s.body, _ = json.Marshal(d.plain(v)) // plain data: cannot fail
		},
		"body":    func(v *yaml.Node) { s.body, hasBody, answers = []byte(d.text(v, "body")), true, true },
		"error":   func(v *yaml.Node) { s.err = d.text(v, "error") },
		"timeout": func(v *yaml.Node) { s.timeout = d.boolean(v, "timeout") },
	})
	if !hasMatch {
		d.errorf(n, "an http stub needs match: METHOD URL")
	}
	if hasJSON && hasBody {
		d.errorf(n, "an http stub answers json or body, not both")
	}
	if (s.err != "" || s.timeout) && answers || s.err != "" && s.timeout {
		d.errorf(n, "an http stub answers a response (status, headers, json, body), an error or a timeout: one of them")
	}
	if hasJSON && s.header.Get("Content-Type") == "" {
		s.header.Set("Content-Type", "application/json")
	}
	return s
}

var methodRE = regexp.MustCompile(`^([A-Z]+|\*)$`)

// pattern compiles "METHOD URL", where * matches any run of characters.
func (d *decoder) pattern(n *yaml.Node) *regexp.Regexp {
	parts := strings.Fields(d.text(n, "match"))
	if len(parts) != 2 || !methodRE.MatchString(parts[0]) {
		d.errorf(n, "match must be METHOD URL, like GET http://crm.test/contacts?id=*, got %q", n.Value)
		return nil
	}
	quoted := strings.Split(parts[0]+" "+parts[1], "*")
	for i, q := range quoted {
		quoted[i] = regexp.QuoteMeta(q)
	}
	return regexp.MustCompile("^" + strings.Join(quoted, ".*") + "$")
}

// transport answers a case's HTTP requests from its stubs and records
// those no stub matches; nothing reaches the network. (The Harness's
// recorder, in front of it, records every request.)
type transport struct {
	stubs     [2][]*stub // the case's, then the file's
	mu        sync.Mutex
	unstubbed []string
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	line := req.Method + " " + req.URL.String()
	s := t.find(line)
	if s == nil {
		t.mu.Lock()
		t.unstubbed = append(t.unstubbed, line)
		t.mu.Unlock()
	}
	switch {
	case s == nil:
		return nil, errors.New("no stub for " + line)
	case s.timeout:
		return nil, timeoutError{}
	case s.err != "":
		return nil, errors.New(s.err)
	}
	return &http.Response{
		Status:     fmt.Sprintf("%d %s", s.status, http.StatusText(s.status)),
		StatusCode: s.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: s.header.Clone(), Body: io.NopCloser(bytes.NewReader(s.body)),
		ContentLength: int64(len(s.body)), Request: req,
	}, nil
}

func (t *transport) find(line string) *stub {
	for _, list := range t.stubs {
		for _, s := range list {
			if s.match.MatchString(line) {
				return s
			}
		}
	}
	return nil
}

// take returns the requests no stub matched since the last take: one
// step's worth.
func (t *transport) take() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	unstubbed := t.unstubbed
	t.unstubbed = nil
	return unstubbed
}

// timeoutError is a net.Error that timed out: the http module reports it
// as "timeout after ..." exactly as a CRM that never answered, at once.
type timeoutError struct{}

func (timeoutError) Error() string   { return "stub: timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// Stubs are a test case's HTTP stubs, to answer calls outside a test run
// with them (ivrouter simulate --stubs FILE#case), and its file's env.
type Stubs struct {
	lists [2][]*stub // the case's, then the file's: first match wins
	// Env is the test file's env, with the case's over it: the values
	// env.get returns in the case.
	Env map[string]string
}

// ReadStubs reads the stubs of the case named name in the test file at
// path: the case's own, then the file's, tried in that order as in the
// case. An empty name takes the file's stubs alone. The whole file must
// be valid; a name no case has is an error listing the names.
func ReadStubs(path, name string) (*Stubs, error) {
	f, err := readFile(path, path)
	if err != nil {
		return nil, err
	}
	s := &Stubs{Env: f.env}
	s.lists[1] = f.stubs
	if name == "" {
		return s, nil
	}
	var names []string
	for _, c := range f.cases {
		if c.name == name {
			s.lists, s.Env = c.stubs, c.env
			return s, nil
		}
		names = append(names, strconv.Quote(c.name))
	}
	return nil, fmt.Errorf("%s: no case named %q (cases: %s)", path, name, strings.Join(names, ", "))
}
