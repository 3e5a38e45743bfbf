// Package crmstub is a small CRM over HTTP: contacts from a JSON file, looked
// up by phone or ID. `ivrouter serve --demo-crm FILE` serves it so the example scripts work
// on a fresh machine, and tests switch it into fault modes (slow, failing,
// broken answers) to show what a bad CRM costs a caller.
package crmstub

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Contact is one CRM record, as the example scripts read it.
type Contact struct {
	Name   string  `json:"name"`
	Type   string  `json:"type"` // lead or customer
	CRMID  string  `json:"crm_id,omitempty"`
	ID     string  `json:"id,omitempty"` // personal ID
	Rep    *Rep    `json:"rep,omitempty"`
	Ticket *Ticket `json:"ticket,omitempty"`
}

// Rep is the representative who spoke to a lead.
type Rep struct {
	Name      string `json:"name"`
	Layer     int    `json:"layer"`
	Mobile    string `json:"mobile,omitempty"`
	Extension string `json:"extension,omitempty"`
}

// Ticket is a customer's open case and the desk handling it.
type Ticket struct {
	ID        string `json:"id"`
	DeskLayer int    `json:"desk_layer"`
}

// Mode is how the CRM misbehaves.
type Mode int32

// Fault modes.
const (
	OK          Mode = iota
	Slow             // answers after Delay
	SlowHeaders      // sends nothing for Delay, then answers
	Fail             // 500
	BadJSON          // 200 with a body that is not JSON
	Huge             // 200 with a 2 MiB body
)

// CRM is the stand-in. Its zero value has no contacts and answers at once.
type CRM struct {
	mu       sync.RWMutex
	byPhone  map[string]Contact
	byID     map[string]Contact
	mode     atomic.Int32
	delay    atomic.Int64
	requests atomic.Int64
	calls    []json.RawMessage // the last maxCalls write-backs, oldest first
}

// maxCalls bounds the write-backs the CRM keeps.
const maxCalls = 100

// New returns a CRM holding contacts keyed by phone number.
func New(contacts map[string]Contact) *CRM {
	c := &CRM{}
	c.Set(contacts)
	return c
}

// Load reads contacts keyed by phone number from a JSON file.
func Load(path string) (*CRM, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var contacts map[string]Contact
	if err := json.Unmarshal(b, &contacts); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return New(contacts), nil
}

// Set replaces the contacts.
func (c *CRM) Set(contacts map[string]Contact) {
	byPhone, byID := map[string]Contact{}, map[string]Contact{}
	for phone, ct := range contacts {
		byPhone[phone] = ct
		if ct.ID != "" {
			byID[ct.ID] = ct
		}
	}
	c.mu.Lock()
	c.byPhone, c.byID = byPhone, byID
	c.mu.Unlock()
}

// Fault switches the CRM into mode; delay applies to Slow and SlowHeaders.
func (c *CRM) Fault(mode Mode, delay time.Duration) {
	c.delay.Store(int64(delay))
	c.mode.Store(int32(mode))
}

// Requests counts the requests that reached the CRM.
func (c *CRM) Requests() int64 { return c.requests.Load() }

// ServeHTTP answers GET /contacts?phone=N or ?id=N with the contact as JSON,
// or 404; POST /calls takes a call's outcome as a JSON object (what the
// example events/cdr.lua writes back) and GET /calls lists the last 100.
func (c *CRM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.requests.Add(1)
	delay := time.Duration(c.delay.Load())
	switch Mode(c.mode.Load()) {
	case Slow:
		sleep(r, delay)
	case SlowHeaders:
		if hj, ok := w.(http.Hijacker); ok {
			conn, buf, err := hj.Hijack()
			if err == nil {
				defer conn.Close()
				sleep(r, delay)
				buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
				buf.Flush()
			}
			return
		}
	case Fail:
		http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
		return
	case BadJSON:
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"name": "Dana", "type": `))
		return
	case Huge:
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"pad":"` + strings.Repeat("x", 2<<20) + `"}`))
		return
	}
	if r.URL.Path == "/calls" {
		c.serveCalls(w, r)
		return
	}
	if r.URL.Path != "/contacts" {
		http.NotFound(w, r)
		return
	}
	c.mu.RLock()
	ct, ok := c.byPhone[r.URL.Query().Get("phone")]
	if id := r.URL.Query().Get("id"); id != "" {
		ct, ok = c.byID[id]
	}
	c.mu.RUnlock()
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"not found"}`))
		return
	}
	json.NewEncoder(w).Encode(ct)
}

func (c *CRM) serveCalls(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodGet {
		c.mu.RLock()
		defer c.mu.RUnlock()
		json.NewEncoder(w).Encode(append([]json.RawMessage{}, c.calls...))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, `{"error":"GET or POST"}`, http.StatusMethodNotAllowed)
		return
	}
	var call map[string]json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&call); err != nil {
		http.Error(w, `{"error":"want a JSON object"}`, http.StatusBadRequest)
		return
	}
	b, _ := json.Marshal(call)
	c.mu.Lock()
	if len(c.calls) == maxCalls {
		c.calls = append(c.calls[:0:0], c.calls[1:]...)
	}
	c.calls = append(c.calls, b)
	c.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	w.Write([]byte(`{"ok":true}`))
}

// Calls returns the write-backs POST /calls took, oldest first.
func (c *CRM) Calls() []json.RawMessage {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]json.RawMessage(nil), c.calls...)
}

// sleep waits d or until the client gives up, so tests end promptly.
func sleep(r *http.Request, d time.Duration) {
	select {
	case <-time.After(d):
	case <-r.Context().Done():
	}
}

// Serve answers on ln until it is closed.
func (c *CRM) Serve(ln net.Listener) error {
	srv := &http.Server{Handler: c, ReadHeaderTimeout: 5 * time.Second}
	return srv.Serve(ln)
}
