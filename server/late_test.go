package server

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ivrouter/ivrouter/luavm"
	"github.com/valyala/fasthttp"
	lua "github.com/yuin/gopher-lua"
)

// Scripts answering just after their deadline, under -race: the late answer
// and the fallback must never share a buffer.
func TestALateResultNeverMixesWithTheFallback(t *testing.T) {
	dir := scriptsDir(t, map[string]string{
		"slow.lua": `local slow = require("slow")
return { deadline = 20, fallback = 99, handle = function(call) return slow.pass(ivr.go_to_layer(12)) end }`,
	})
	srv, err := New(Config{Scripts: dir, VMs: 4, Modules: []luavm.Module{{Name: "slow", Loader: func(L *lua.LState) int {
		t := L.NewTable()
		t.RawSetString("pass", L.NewFunction(func(L *lua.LState) int {
			time.Sleep(20 * time.Millisecond)
			L.Push(L.Get(1))
			return 1
		}))
		L.Push(t)
		return 1
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	body := request("5", "1")
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ctx fasthttp.RequestCtx
			ctx.Request.Header.SetMethod("POST")
			ctx.Request.SetRequestURI("/slow")
			ctx.Request.SetBody(body)
			srv.Handler(&ctx)
			if b := string(ctx.Response.Body()); b != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":99}` && b != `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":12}` {
				t.Errorf("garbled body %q", b)
			}
		}()
	}
	wg.Wait()
}
