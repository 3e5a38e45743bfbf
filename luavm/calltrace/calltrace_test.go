package calltrace_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ivrouter/ivrouter/luavm/calltrace"
)

func TestATraceIsBoundedAndResets(t *testing.T) {
	var tr calltrace.Trace
	for i := range calltrace.MaxRequests + 8 {
		tr.AddRequest(calltrace.Request{Host: "h" + strconv.Itoa(i), Status: 200})
	}
	reqs, n := tr.Requests(nil)
	if n != calltrace.MaxRequests+8 || tr.RequestCount() != n || len(reqs) != calltrace.MaxRequests {
		t.Fatalf("%d recorded of %d (count %d)", len(reqs), n, tr.RequestCount())
	}
	if reqs[0].Host != "h0" || reqs[len(reqs)-1].Host != "h"+strconv.Itoa(calltrace.MaxRequests-1) {
		t.Errorf("kept %s..%s, want the first %d", reqs[0].Host, reqs[len(reqs)-1].Host, calltrace.MaxRequests)
	}
	reqs[0].Host = "changed"
	if again, _ := tr.Requests(nil); again[0].Host != "h0" {
		t.Error("Requests shares the trace's storage")
	}
	tr.Reset()
	if reqs, n := tr.Requests(nil); n != 0 || len(reqs) != 0 || tr.RequestCount() != 0 {
		t.Errorf("after Reset: %d of %d", len(reqs), n)
	}
	tr.AddRequest(calltrace.Request{Host: "next"})
	if reqs, n := tr.Requests(nil); n != 1 || len(reqs) != 1 || reqs[0].Host != "next" {
		t.Errorf("the next call's trace: %+v of %d", reqs, n)
	}
}

func TestANilTraceRecordsNothing(t *testing.T) {
	var tr *calltrace.Trace
	tr.AddRequest(calltrace.Request{Host: "h"})
	tr.Reset()
	if reqs, n := tr.Requests(nil); n != 0 || reqs != nil || tr.RequestCount() != 0 {
		t.Errorf("nil trace: %v %d", reqs, n)
	}
}

// A call cut short at its deadline may still record a request while the
// server reads its trace for the log (run with -race).
func TestATraceIsReadWhileItIsWritten(t *testing.T) {
	var tr calltrace.Trace
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 100 {
			tr.AddRequest(calltrace.Request{Host: "h"})
		}
	}()
	for range 100 {
		reqs, n := tr.Requests(nil)
		if len(reqs) > n || len(reqs) > calltrace.MaxRequests {
			t.Fatalf("%d recorded of %d", len(reqs), n)
		}
	}
	wg.Wait()
}

func TestATraceKeepsTheFirstLogLines(t *testing.T) {
	var tr calltrace.Trace
	for i := range calltrace.MaxLogs + 3 {
		tr.AddLog(calltrace.Log{Message: "m" + strconv.Itoa(i), Fields: strings.Repeat("x", calltrace.MaxLogBytes+10)})
	}
	logs, n := tr.Logs(nil)
	if n != calltrace.MaxLogs+3 || tr.LogCount() != n || len(logs) != calltrace.MaxLogs || logs[0].Message != "m0" {
		t.Fatalf("%d kept of %d", len(logs), n)
	}
	if len(logs[0].Fields) != calltrace.MaxLogBytes+3 {
		t.Errorf("fields of %d bytes", len(logs[0].Fields))
	}
	tr.Reset()
	if logs, n := tr.Logs(nil); n != 0 || len(logs) != 0 {
		t.Errorf("after Reset: %d of %d", len(logs), n)
	}
}

func TestATraceKeepsTheFirstCacheLookups(t *testing.T) {
	var tr calltrace.Trace
	for i := range calltrace.MaxCaches + 3 {
		tr.AddCache(calltrace.Cache{Op: "get", Key: strings.Repeat("k", calltrace.MaxLogBytes+i), Result: calltrace.CacheMiss})
	}
	got, n := tr.Caches(nil)
	if len(got) != calltrace.MaxCaches || n != calltrace.MaxCaches+3 || tr.CacheCount() != n || len(got[0].Key) != calltrace.MaxLogBytes || got[1].Key != strings.Repeat("k", calltrace.MaxLogBytes)+"..." {
		t.Fatalf("%d recorded of %d, key %d bytes", len(got), n, len(got[0].Key))
	}
	tr.Reset()
	if got, n := tr.Caches(nil); len(got) != 0 || n != 0 {
		t.Errorf("after Reset: %d, %d", len(got), n)
	}
}
