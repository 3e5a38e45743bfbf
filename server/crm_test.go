package server

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/bridge/http/crmstub"
)

func callerRequest(caller, id, dtmf string) []byte {
	return []byte(fmt.Sprintf(`{"METHOD":"IVR_LAYER_INPUT","DATA":{"DID":"0722776772","CALLER_ID":%q,"IVR_UNIQUE_ID":%q,"DTMF":%q,"LAYER_ID":"3"}}`, caller, id, dtmf))
}

// The bundled CRM scripts against the demo CRM's data, healthy and broken.
func TestCRMExamples(t *testing.T) {
	crm, err := crmstub.Load("../testdata/crm.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(crm)
	defer srv.Close()
	url, _ := start(t, Config{Scripts: "../scripts", ScriptEnv: map[string]string{"CRM_URL": srv.URL, "CRM_TOKEN": ""}})
	for _, tc := range []struct {
		name, caller, want string
	}{
		{"lead to their representative", "972501234567", `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":21,"CALLER_NAME":"Dana Levi","CUSTOM_DATA":{"Last_representative":"John Doe","reason":"open lead"}}`},
		{"open ticket to its desk", "0527654321", `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":31,"CALLER_NAME":"Avi Cohen","CUSTOM_DATA":{"CRM_client_ID":"12345","Last_ticket_ID":"222"}}`},
		{"customer without a ticket to service", "0541112222", `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":30,"CALLER_NAME":"Noa Mizrahi","CUSTOM_DATA":{"CRM_client_ID":"67890"}}`},
		{"stranger to sales", "0509999999", `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":10,"CUSTOM_DATA":{"reason":"unknown caller"}}`},
	} {
		if got := string(post(t, url+"/caller", callerRequest(tc.caller, "u1", "0")).body); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}

	// ID entry: a wrong ID twice asks again, the third time goes to an agent;
	// another call starts over; a known ID is identified.
	for i, want := range []int{13, 13, 20} {
		if got := parse(t, post(t, url+"/id-entry", callerRequest("0509999999", "call-x", "99999999")).body)["LAYER"]; got != float64(want) {
			t.Errorf("wrong ID %d: layer %v, want %d", i+1, got, want)
		}
	}
	if got := parse(t, post(t, url+"/id-entry", callerRequest("0509999999", "call-y", "123")).body)["LAYER"]; got != float64(13) {
		t.Errorf("another call: layer %v", got)
	}
	if got := string(post(t, url+"/id-entry", callerRequest("0509999999", "call-y", "87654321")).body); got != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12,"CALLER_NAME":"Avi Cohen","CUSTOM_DATA":{"CRM_client_ID":"12345"}}` {
		t.Errorf("known ID: %s", got)
	}

	// A CRM gone slow: a caller not yet cached is routed by rules, within
	// the default 3 s deadline and well before the CRM would answer.
	crm.Fault(crmstub.Slow, 10*time.Second)
	began := time.Now()
	if got := string(post(t, url+"/caller", callerRequest("0508888888", "u2", "0")).body); got != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":10}` {
		t.Errorf("slow CRM: %s", got)
	}
	if took := time.Since(began); took > 5*time.Second { // the CRM would take 10 s
		t.Errorf("slow CRM answered after %v; the script's 1 s CRM timeout should bound it", took)
	}
	// A cached caller still gets their representative while the CRM is slow.
	if got := parse(t, post(t, url+"/caller", callerRequest("0501234567", "u3", "0")).body)["LAYER"]; got != float64(21) {
		t.Errorf("cached lead while the CRM is slow: layer %v", got)
	}
}
