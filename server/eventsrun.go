package server

import (
	"github.com/ivrouter/ivrouter/luavm/calltrace"
	"github.com/ivrouter/ivrouter/server/cdr"
)

// RunEvent runs the events script (CDRScript) on rec as the CDR workers
// run it on each CDR posted to CDRPath: under the script's deadline, its
// failure logged and counted alike. But it runs on the caller's
// goroutine, and returns once the script has ended, for tests and tools
// (ivrouter test) that must see the outcome without waiting on a queue;
// nothing reaches the console.
//
// outcome is ok, script_error, timeout, busy or shutdown, or not_found
// (err wraps luavm.ErrNoScript) when there is no events/cdr.lua; err is
// the script's error, nil for ok. trace holds the script's HTTP requests
// and log lines, as the console would show them (after a timeout the VM
// may still be finishing, and add to it).
func (s *Server) RunEvent(rec *cdr.Record) (outcome string, trace *calltrace.Trace, err error) {
	o, tr, err := s.runEvent(rec)
	return o.String(), tr, err
}
