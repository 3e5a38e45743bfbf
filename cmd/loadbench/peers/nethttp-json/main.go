// Command nethttp-json is what a Go developer would write by hand for loadbench's
// workload: net/http + encoding/json, routing hard-coded.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9102", "listen")
	flag.Parse()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Method string `json:"METHOD"`
			Data   struct {
				DID      string `json:"DID"`
				CallerID string `json:"CALLER_ID"`
				UniqueID string `json:"IVR_UNIQUE_ID"`
				DTMF     string `json:"DTMF"`
				LayerID  string `json:"LAYER_ID"`
			} `json:"DATA"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Method != "IVR_LAYER_INPUT" {
			w.WriteHeader(400)
			return
		}
		layer := 13
		if in.Data.LayerID == "5" && len(in.Data.DTMF) == 8 {
			layer = 12
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"STATUS": 0, "ACTION": "GO_TO_LAYER", "LAYER": layer})
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
