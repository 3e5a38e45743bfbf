// Command bare-gopher-lua is loadbench's bare limit of ivrouter's design, with
// none of its safety: fasthttp, the body decoded with fastjson, and a script
// run in a pooled gopher-lua LState on the connection's goroutine, the answer
// appended by hand to a reused buffer. No sandbox, no deadline, no memory
// budget, no log, no metrics: what it costs is the interpreter's, and
// ivrouter's distance from it is its own machinery. POST / runs rule.lua
// (layers/5.lua's rule), POST /announce say.lua (announce.lua's) and POST
// /night dial.lua (night.lua's).
package main

import (
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log"
	"slices"
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

//go:embed say.lua
var say string

//go:embed dial.lua
var dial string

// routes are the scripts by path.
func routes() map[string]string {
	return map[string]string{"/": rule, "/announce": say, "/night": dial}
}

// jsonType is ivrouter's Content-Type, so the peer answers the same bytes.
const jsonType = "application/json; charset=utf-8"

// vm is one LState with the scripts loaded, and what a call on it reuses.
type vm struct {
	L       *lua.LState
	handles map[string]*lua.LFunction // by path
	call    *lua.LTable               // refilled every call: the scripts only read it
	parser  fastjson.Parser
	out     []byte
}

// compile parses and compiles a script once; every LState runs the same proto.
func compile(name, src string) (*lua.FunctionProto, error) {
	chunk, err := parse.Parse(strings.NewReader(src), name)
	if err != nil {
		return nil, err
	}
	return lua.Compile(chunk, name)
}

// newVM is a plain LState (every library open, as lua.NewState makes it)
// that has run each proto and kept the handle it returned.
func newVM(protos map[string]*lua.FunctionProto) (*vm, error) {
	L := lua.NewState()
	v := &vm{L: L, handles: map[string]*lua.LFunction{}, call: L.CreateTable(0, 4), out: make([]byte, 0, 512)}
	for path, proto := range protos {
		L.Push(L.NewFunctionFromProto(proto))
		if err := L.PCall(0, 1, nil); err != nil {
			L.Close()
			return nil, err
		}
		mod, _ := L.Get(-1).(*lua.LTable)
		L.Pop(1)
		if mod == nil {
			L.Close()
			return nil, fmt.Errorf("%s: want a table returned", proto.SourceName)
		}
		handle, ok := mod.RawGetString("handle").(*lua.LFunction)
		if !ok {
			L.Close()
			return nil, fmt.Errorf("%s: want a handle function", proto.SourceName)
		}
		v.handles[path] = handle
	}
	return v, nil
}

// server is the handler and its pool of VMs.
type server struct{ vms sync.Pool }

func newServer(scripts map[string]string) (*server, error) {
	protos := map[string]*lua.FunctionProto{}
	for path, src := range scripts {
		proto, err := compile(path, src)
		if err != nil {
			return nil, err
		}
		protos[path] = proto
	}
	first, err := newVM(protos) // the scripts' errors show at start, not in New
	if err != nil {
		return nil, err
	}
	s := &server{}
	s.vms.New = func() any {
		v, err := newVM(protos)
		if err != nil {
			panic(err) // first loaded the same protos
		}
		return v
	}
	s.vms.Put(first)
	return s, nil
}

func (s *server) handle(ctx *fasthttp.RequestCtx) {
	v := s.vms.Get().(*vm)
	defer s.vms.Put(v)
	handle := v.handles[string(ctx.Path())]
	if handle == nil {
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		return
	}
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
	v.call.RawSetString("caller_id", lua.LString(in.GetStringBytes("DATA", "CALLER_ID")))
	v.call.RawSetString("did", lua.LString(in.GetStringBytes("DATA", "DID")))
	L.Push(handle)
	L.Push(v.call)
	if err := L.PCall(1, 1, nil); err != nil {
		ctx.Error(err.Error(), fasthttp.StatusInternalServerError)
		return
	}
	ret, _ := L.Get(-1).(*lua.LTable)
	L.Pop(1)
	if ret == nil {
		ctx.Error("want an action table", fasthttp.StatusInternalServerError)
		return
	}
	v.out, err = appendAction(v.out[:0], ret)
	if err != nil {
		ctx.Error(err.Error(), fasthttp.StatusInternalServerError)
		return
	}
	ctx.SetContentType(jsonType)
	ctx.SetBody(v.out) // copies: v.out goes back to the pool
}

// appendAction encodes a script's action table as ivrouter answers it.
func appendAction(b []byte, t *lua.LTable) ([]byte, error) {
	switch t.RawGetString("action") {
	case lua.LString("GO_TO_LAYER"):
		layer, ok := t.RawGetString("layer").(lua.LNumber)
		if !ok {
			return b, errors.New("want a layer number")
		}
		b = append(b, `{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":`...)
		b = strconv.AppendInt(b, int64(layer), 10)
		return append(b, '}'), nil
	case lua.LString("SAY_DIGITS"):
		return appendSay(b, t), nil
	case lua.LString("DIAL"):
		return appendDial(b, t), nil
	}
	return b, errors.New("want a GO_TO_LAYER, SAY_DIGITS or DIAL table")
}

func appendSay(b []byte, t *lua.LTable) []byte {
	b = append(b, `{"STATUS":0,"ACTION":"SAY_DIGITS","NEXT_LAYER":`...)
	b = strconv.AppendInt(b, int64(lua.LVAsNumber(t.RawGetString("next_layer"))), 10)
	b = append(b, `,"NEXT_LAYER_IF_FAILED":`...)
	b = strconv.AppendInt(b, int64(lua.LVAsNumber(t.RawGetString("next_layer_if_failed"))), 10)
	b = append(b, `,"LANGUAGE":`...)
	b = strconv.AppendQuote(b, lua.LVAsString(t.RawGetString("language")))
	b = append(b, `,"DATA":`...)
	b = appendList(b, t.RawGetString("items"), `{"RecordType":`, "type", `,"Content":`, "content")
	return append(b, '}')
}

// appendList encodes a list of two-field tables as a JSON array of objects:
// open, then the first field's value, sep, the second's, and "}" each.
func appendList(b []byte, list lua.LValue, open, first, sep, second string) []byte {
	b = append(b, '[')
	t, _ := list.(*lua.LTable)
	for i := 1; t != nil && i <= t.Len(); i++ {
		item, _ := t.RawGetInt(i).(*lua.LTable)
		if item == nil {
			continue
		}
		if i > 1 {
			b = append(b, ',')
		}
		b = append(b, open...)
		b = strconv.AppendQuote(b, lua.LVAsString(item.RawGetString(first)))
		b = append(b, sep...)
		b = strconv.AppendQuote(b, lua.LVAsString(item.RawGetString(second)))
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendDial(b []byte, t *lua.LTable) []byte {
	b = append(b, `{"STATUS":0,"ACTION":"DIAL","CALLER_ID":`...)
	b = strconv.AppendQuote(b, lua.LVAsString(t.RawGetString("caller_id")))
	b = append(b, `,"CALLER_NAME":`...)
	b = strconv.AppendQuote(b, lua.LVAsString(t.RawGetString("caller_name")))
	for _, f := range [...]struct{ json, lua string }{{"MAX_CALL_DURATION", "max_call_duration"}, {"MAX_DIAL_DURATION", "max_dial_duration"}, {"NEXT_VO_ID", "next_vo_id"}} {
		b = append(b, `,"`...)
		b = append(b, f.json...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, int64(lua.LVAsNumber(t.RawGetString(f.lua))), 10)
	}
	if lua.LVAsBool(t.RawGetString("recording")) {
		b = append(b, `,"RECORDING":"yes"`...)
	}
	b = append(b, `,"TARGETS":`...)
	b = appendList(b, t.RawGetString("targets"), `{"TYPE":`, "type", `,"TARGET":`, "target")
	if cd, ok := t.RawGetString("custom_data").(*lua.LTable); ok {
		var keys []string
		cd.ForEach(func(k, _ lua.LValue) { keys = append(keys, lua.LVAsString(k)) })
		slices.Sort(keys) // ivrouter's order
		b = append(b, `,"CUSTOM_DATA":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, k)
			b = append(b, ':')
			b = strconv.AppendQuote(b, lua.LVAsString(cd.RawGetString(k)))
		}
		b = append(b, '}')
	}
	return append(b, '}')
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
	s, err := newServer(routes())
	if err != nil {
		log.Fatal(fmt.Errorf("bare-gopher-lua: %w", err))
	}
	log.Fatal(fasthttp.ListenAndServe(*addr, s.handle))
}
