// Command fasthttp-static is loadbench's transport ceiling: fasthttp answering
// a fixed GO_TO_LAYER body, with no decoding and no logic.
package main

import (
	"flag"
	"log"

	"github.com/valyala/fasthttp"
)

var body = []byte(`{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12}`)

func main() {
	addr := flag.String("addr", "127.0.0.1:9101", "listen")
	flag.Parse()
	log.Fatal(fasthttp.ListenAndServe(*addr, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}))
}
