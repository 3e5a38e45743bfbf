package main

import (
	"fmt"
	"net"

	"github.com/ivrouter/ivrouter/bridge/http/crmstub"
)

// callers is how many distinct callers testdata/bench/post.lua sends,
// 0500000001 up to 0500001000.
const callers = 1000

// crmRepLayer is where the CRM scripts route a known caller: their
// representative's layer.
const crmRepLayer = 21

// serveCRM serves bridge/http/crmstub with a lead for each of the workload's
// callers. loadbench runs it as a process of its own (itself, with
// -serve-crm) so that it can be pinned to a CPU like the servers.
func serveCRM(addr string) error {
	contacts := make(map[string]crmstub.Contact, callers)
	for n := 1; n <= callers; n++ {
		contacts[fmt.Sprintf("05%08d", n)] = crmstub.Contact{
			Name: fmt.Sprintf("Caller %d", n),
			Type: "lead",
			ID:   fmt.Sprintf("%08d", n),
			Rep:  &crmstub.Rep{Name: "John Doe", Layer: crmRepLayer, Mobile: "0521111111"},
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return crmstub.New(contacts).Serve(ln)
}
