// Command bare-gopher-lua is loadbench's bare limit of ivrouter's design, with
// none of its safety: fasthttp, the body decoded with fastjson, and the rule
// (rule.lua, layers/5.lua's) run in a pooled gopher-lua LState on the
// connection's goroutine, the answer appended by hand to a reused buffer. No
// sandbox, no deadline, no memory budget, no log, no metrics: what it costs
// is the interpreter's, and ivrouter's distance from it is its own machinery.
package main

import (
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log"
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

//go:embed rule.lua
var rule string

// jsonType is ivrouter's Content-Type, so the peer answers the same bytes.
const jsonType = "application/json; charset=utf-8"

// vm is one LState with the rule loaded, and what a call on it reuses.
type vm struct {
	L      *lua.LState
	handle *lua.LFunction
	call   *lua.LTable // refilled every call: the rule only reads it
	parser fastjson.Parser
	out    []byte
}

// compile parses and compiles the rule once; every LState runs the same proto.
func compile(src string) (*lua.FunctionProto, error) {
	chunk, err := parse.Parse(strings.NewReader(src), "rule.lua")
	if err != nil {
		return nil, err
	}
	return lua.Compile(chunk, "rule.lua")
}

// newVM is a plain LState (every library open, as lua.NewState makes it)
// that has run the proto and kept the handle it returned.
func newVM(proto *lua.FunctionProto) (*vm, error) {
	L := lua.NewState()
	L.Push(L.NewFunctionFromProto(proto))
	if err := L.PCall(0, 1, nil); err != nil {
		L.Close()
		return nil, err
	}
	mod, _ := L.Get(-1).(*lua.LTable)
	L.Pop(1)
	if mod == nil {
		L.Close()
		return nil, errors.New("rule.lua: want a table returned")
	}
	handle, ok := mod.RawGetString("handle").(*lua.LFunction)
	if !ok {
		L.Close()
		return nil, errors.New("rule.lua: want a handle function")
	}
	return &vm{L: L, handle: handle, call: L.CreateTable(0, 2), out: make([]byte, 0, 64)}, nil
}

// server is the handler and its pool of VMs.
type server struct{ vms sync.Pool }

func newServer(src string) (*server, error) {
	proto, err := compile(src)
	if err != nil {
		return nil, err
	}
	first, err := newVM(proto) // the rule's errors show at start, not in New
	if err != nil {
		return nil, err
	}
	s := &server{}
	s.vms.New = func() any {
		v, err := newVM(proto)
		if err != nil {
			panic(err) // first loaded the same proto
		}
		return v
	}
	s.vms.Put(first)
	return s, nil
}

func (s *server) handle(ctx *fasthttp.RequestCtx) {
	v := s.vms.Get().(*vm)
	defer s.vms.Put(v)
	in, err := v.parser.ParseBytes(ctx.PostBody())
	if err != nil || string(in.GetStringBytes("METHOD")) != "IVR_LAYER_INPUT" {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		return
	}
	layerID, ok := layerNumber(in.Get("DATA", "LAYER_ID"))
	if !ok {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		return
	}
	L := v.L
	v.call.RawSetString("layer_id", lua.LNumber(layerID))
	v.call.RawSetString("dtmf", lua.LString(in.GetStringBytes("DATA", "DTMF")))
	L.Push(v.handle)
	L.Push(v.call)
	if err := L.PCall(1, 1, nil); err != nil {
		ctx.Error(err.Error(), fasthttp.StatusInternalServerError)
		return
	}
	ret, _ := L.Get(-1).(*lua.LTable)
	L.Pop(1)
	if ret == nil || ret.RawGetString("action") != lua.LString("GO_TO_LAYER") {
		ctx.Error("rule.lua: want a GO_TO_LAYER table", fasthttp.StatusInternalServerError)
		return
	}
	layer, ok := ret.RawGetString("layer").(lua.LNumber)
	if !ok {
		ctx.Error("rule.lua: want a layer number", fasthttp.StatusInternalServerError)
		return
	}
	v.out = append(v.out[:0], `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":`...)
	v.out = strconv.AppendInt(v.out, int64(layer), 10)
	v.out = append(v.out, '}')
	ctx.SetContentType(jsonType)
	ctx.SetBody(v.out) // copies: v.out goes back to the pool
}

// layerNumber reads LAYER_ID, which Voicenter sends as a string of digits.
func layerNumber(v *fastjson.Value) (int, bool) {
	if v == nil {
		return 0, false
	}
	if v.Type() == fastjson.TypeNumber {
		n, err := v.Int()
		return n, err == nil
	}
	b, err := v.StringBytes()
	if err != nil || len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9103", "listen")
	flag.Parse()
	s, err := newServer(rule)
	if err != nil {
		log.Fatal(fmt.Errorf("bare-gopher-lua: %w", err))
	}
	log.Fatal(fasthttp.ListenAndServe(*addr, s.handle))
}
