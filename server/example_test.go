package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/server"
	"github.com/valyala/fasthttp"
	lua "github.com/yuin/gopher-lua"
)

// A Go program embeds the router and gives its scripts one more Go
// function: here a VIP check a script calls as vip.is_vip(number).
func Example() {
	dir, _ := os.MkdirTemp("", "ivrouter-example")
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "layers"), 0o755)
	os.WriteFile(filepath.Join(dir, "layers", "5.lua"), []byte(`
		local vip = require("vip")
		return function(call)
		  if vip.is_vip(call.caller_id) then
		    return ivr.go_to_layer(20, { caller_name = "VIP" })
		  end
		  return ivr.go_to_layer(13)
		end`), 0o644)

	vips := map[string]bool{"0501234567": true}
	vipModule := luavm.Module{Name: "vip", Loader: func(L *lua.LState) int {
		mod := L.NewTable()
		mod.RawSetString("is_vip", L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LBool(vips[L.CheckString(1)]))
			return 1
		}))
		L.Push(mod)
		return 1
	}}

	srv, err := server.New(server.Config{Scripts: dir, Modules: []luavm.Module{vipModule}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown(context.Background())

	// srv.Serve(listener) serves HTTP; here one request goes straight to
	// the handler.
	for _, caller := range []string{"0501234567", "0529999999"} {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/")
		ctx.Request.SetBodyString(`{"METHOD":"IVR_LAYER_INPUT","DATA":{"DID":"0722776772","CALLER_ID":"` + caller +
			`","IVR_UNIQUE_ID":"1bcd7954224861f85a2d70612f2","DTMF":"0","LAYER_ID":"5"}}`)
		srv.Handler(&ctx)
		fmt.Println(string(ctx.Response.Body()))
	}
	// Output:
	// {"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":20,"CALLER_NAME":"VIP"}
	// {"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":13}
}
