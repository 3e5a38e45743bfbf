// Ported from github.com/yuin/gopher-lua v1.1.2, stringlib.go, under its licence:
//
// The MIT License (MIT)
//
// Copyright (c) 2015 Yusuke Inuzuka
//
// Permission is hereby granted, free of charge, to any person obtaining a copy
// of this software and associated documentation files (the "Software"), to deal
// in the Software without restriction, including without limitation the rights
// to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
// copies of the Software, and to permit persons to whom the Software is
// furnished to do so, subject to the following conditions:
//
// The above copyright notice and this permission notice shall be included in all
// copies or substantial portions of the Software.
//
// THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
// IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
// FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
// AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
// LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
// OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
// SOFTWARE.

package luavm

import (
	"fmt"
	"strings"

	"github.com/ivrouter/ivrouter/luavm/internal/pattern"
	lua "github.com/yuin/gopher-lua"
)

// The sandbox's string.find, match, gmatch and gsub are gopher-lua's
// (stringlib.go, v1.1.2), ported line for line onto the pattern fork: each
// VM compiles a pattern once and keeps it, and a match stops when the call
// is cancelled instead of running on after its deadline.

// patternCacheSize bounds a VM's compiled patterns: scripts use a handful,
// and a script that builds patterns from data must not grow the cache.
const patternCacheSize = 128

// MaxPattern bounds a Lua pattern's length. Compiling one takes time and
// memory in proportion to it, outside the call's cancellation, and no
// routing rule needs a pattern this long.
const MaxPattern = 32 << 10

// maxCachedPattern is the longest pattern kept compiled; a longer one is
// compiled for its call only.
const maxCachedPattern = 256

// patternCache is one VM's compiled patterns by source. Only the VM's
// goroutine uses it, so it needs no lock; a full cache is dropped whole,
// which costs a recompile of the few patterns in use and nothing else.
type patternCache map[string]*pattern.Pattern

func (c *patternCache) get(src string) (*pattern.Pattern, error) {
	if p, ok := (*c)[src]; ok {
		return p, nil
	}
	if len(src) > MaxPattern {
		return nil, fmt.Errorf("pattern over %d bytes", MaxPattern)
	}
	p, err := pattern.Compile(src)
	if err != nil {
		return nil, err
	}
	if len(src) > maxCachedPattern {
		return p, nil // a long pattern is built, not written: keeping it would hold its memory for the VM's life
	}
	if len(*c) >= patternCacheSize || *c == nil {
		*c = make(patternCache, patternCacheSize)
	}
	(*c)[src] = p
	return p, nil
}

// installPatterns replaces the pattern functions of the string library t.
func (v *vm) installPatterns(t *lua.LTable) {
	L := v.L
	t.RawSetString("find", L.NewFunction(v.strFind))
	t.RawSetString("match", L.NewFunction(v.strMatch))
	t.RawSetString("gsub", L.NewFunction(v.strGsub))
	iter := L.NewFunction(strGmatchIter)
	gmatch := L.NewFunction(func(L *lua.LState) int { return v.strGmatch(L, iter) })
	t.RawSetString("gmatch", gmatch)
	t.RawSetString("gfind", gmatch)
}

// find matches pat against str, raising pattern errors as gopher-lua does.
// The stop channel is the current call's abort: closed at its deadline.
func (v *vm) find(L *lua.LState, pat, str string, offset, limit int) []pattern.Match {
	p, err := v.patterns.get(pat)
	var ms []pattern.Match
	if err == nil {
		ms, err = p.Find(str, offset, limit, v.ctx.Done(), v.ctx.Alloc)
	}
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	return ms
}

func (v *vm) strFind(L *lua.LState) int {
	str := L.CheckString(1)
	pat := L.CheckString(2)
	if len(pat) == 0 {
		L.Push(lua.LNumber(1))
		L.Push(lua.LNumber(0))
		return 2
	}
	init := luaIndex2StringIndex(str, L.OptInt(3, 1), true)
	plain := false
	if L.GetTop() == 4 {
		plain = lua.LVAsBool(L.Get(4))
	}
	if plain {
		return plainFind(L, str, pat, init)
	}
	ms := v.find(L, pat, str, init, 1)
	if len(ms) == 0 {
		L.Push(lua.LNil)
		return 1
	}
	md := ms[0]
	L.Push(lua.LNumber(md.Capture(0) + 1))
	L.Push(lua.LNumber(md.Capture(1)))
	pushCaptures(L, str, md)
	return md.CaptureLength()/2 + 1
}

// plainFind is find with plain set. Past the end of str it answers nil
// where gopher-lua slices out of range and panics.
func plainFind(L *lua.LState, str, pat string, init int) int {
	pos := -1
	if init <= len(str) {
		pos = strings.Index(str[init:], pat)
	}
	if pos < 0 {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LNumber(init+pos) + 1)
	L.Push(lua.LNumber(init + pos + len(pat)))
	return 2
}

// pushCaptures pushes a match's captures, its whole match left out.
func pushCaptures(L *lua.LState, str string, md pattern.Match) {
	for i := 2; i < md.CaptureLength(); i += 2 {
		if md.IsPosCapture(i) {
			L.Push(lua.LNumber(md.Capture(i)))
		} else {
			L.Push(lua.LString(str[md.Capture(i):md.Capture(i+1)]))
		}
	}
}

func (v *vm) strMatch(L *lua.LState) int {
	str := L.CheckString(1)
	pat := L.CheckString(2)
	offset := L.OptInt(3, 1)
	l := len(str)
	if offset < 0 {
		offset = l + offset + 1
	}
	offset--
	if offset < 0 {
		offset = 0
	}
	ms := v.find(L, pat, str, offset, 1)
	if len(ms) == 0 {
		L.Push(lua.LNil)
		return 0 // sic: gopher-lua returns no value at all
	}
	md := ms[0]
	if md.CaptureLength() == 2 {
		L.Push(lua.LString(str[md.Capture(0):md.Capture(1)]))
		return 1
	}
	pushCaptures(L, str, md)
	return md.CaptureLength()/2 - 1
}

// gmatchState is the iterator state gmatch hands out: every match is found
// up front, as gopher-lua does.
type gmatchState struct {
	str     string
	pos     int
	matches []pattern.Match
}

func (v *vm) strGmatch(L *lua.LState, iter *lua.LFunction) int {
	str := L.CheckString(1)
	pat := L.CheckString(2)
	ms := v.find(L, pat, str, 0, -1)
	L.Push(iter)
	ud := L.NewUserData()
	ud.Value = &gmatchState{str, 0, ms}
	L.Push(ud)
	return 2
}

func strGmatchIter(L *lua.LState) int {
	md, ok := L.CheckUserData(1).Value.(*gmatchState)
	if !ok {
		L.ArgError(1, "gmatch state expected")
	}
	if md.pos == len(md.matches) {
		return 0
	}
	match := md.matches[md.pos]
	md.pos++
	if match.CaptureLength() == 2 {
		L.Push(lua.LString(md.str[match.Capture(0):match.Capture(1)]))
		return 1
	}
	pushCaptures(L, md.str, match)
	return match.CaptureLength()/2 - 1
}

func (v *vm) strGsub(L *lua.LState) int {
	str := L.CheckString(1)
	pat := L.CheckString(2)
	L.CheckTypes(3, lua.LTString, lua.LTTable, lua.LTFunction)
	repl := L.CheckAny(3)
	limit := L.OptInt(4, -1)
	ms := v.find(L, pat, str, 0, limit)
	if len(ms) == 0 {
		L.SetTop(1)
		L.Push(lua.LNumber(0))
		return 2
	}
	var b strings.Builder
	last := 0
	for _, m := range ms {
		s, ok := replacement(L, str, repl, m)
		if !ok {
			continue
		}
		v.charge(L, 2*(m.Capture(0)-last+len(s))) // the builder grows by doubling
		b.WriteString(str[last:m.Capture(0)])
		b.WriteString(s)
		last = m.Capture(1)
	}
	v.charge(L, 2*(len(str)-last))
	b.WriteString(str[last:])
	L.Push(lua.LString(b.String()))
	L.Push(lua.LNumber(len(ms)))
	return 2
}

// replacement is what gsub puts in place of match m, and false to keep the
// match as it is (a table or function answered nil or false).
func replacement(L *lua.LState, str string, repl lua.LValue, m pattern.Match) (string, bool) {
	switch r := repl.(type) {
	case lua.LString:
		return expand(L, str, string(r), m), true
	case *lua.LTable:
		return tableReplacement(L, str, r, m)
	case *lua.LFunction:
		return funcReplacement(L, str, r, m)
	}
	return "", false
}

// charge asks the call's memory budget for n bytes, raising its error.
func (v *vm) charge(L *lua.LState, n int) {
	if err := v.ctx.Alloc(n); err != nil {
		L.RaiseError("%s", err.Error())
	}
}

// expand substitutes %0-%9 in repl. "%%" is "%", a "%" before anything
// else is kept with it, and a final "%" is kept: gopher-lua's reading.
func expand(L *lua.LState, str, repl string, m pattern.Match) string {
	if err := Alloc(L, 2*len(repl)); err != nil { // the bytes, then the string
		L.RaiseError("%s", err.Error())
	}
	out := make([]byte, 0, len(repl))
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '%' || i == len(repl)-1 {
			out = append(out, c)
			continue
		}
		i++
		switch d := repl[i]; {
		case d == '%':
			out = append(out, '%')
		case '0' <= d && d <= '9':
			c := capturedString(L, m, str, 2*int(d-'0'))
			if err := Alloc(L, len(c)); err != nil {
				L.RaiseError("%s", err.Error())
			}
			out = append(out, c...)
		default:
			out = append(out, '%', d)
		}
	}
	return string(out)
}

// capturedString is capture slot idx as text; %1 without captures is the
// whole match.
func capturedString(L *lua.LState, m pattern.Match, str string, idx int) string {
	if idx > 2 && idx >= m.CaptureLength() {
		L.RaiseError("invalid capture index")
	}
	if idx >= m.CaptureLength() && idx == 2 {
		idx = 0
	}
	if m.IsPosCapture(idx) {
		return fmt.Sprint(m.Capture(idx))
	}
	return str[m.Capture(idx):m.Capture(idx+1)]
}

func tableReplacement(L *lua.LState, str string, repl *lua.LTable, m pattern.Match) (string, bool) {
	idx := 0
	if m.CaptureLength() > 2 {
		idx = 2
	}
	var value lua.LValue
	if m.IsPosCapture(idx) {
		value = L.GetTable(repl, lua.LNumber(m.Capture(idx)))
	} else {
		value = L.GetField(repl, str[m.Capture(idx):m.Capture(idx+1)])
	}
	if lua.LVIsFalse(value) {
		return "", false
	}
	return lua.LVAsString(value), true
}

func funcReplacement(L *lua.LState, str string, repl *lua.LFunction, m pattern.Match) (string, bool) {
	L.Push(repl)
	nargs := 0
	if m.CaptureLength() > 2 {
		for i := 2; i < m.CaptureLength(); i += 2 {
			if m.IsPosCapture(i) {
				L.Push(lua.LNumber(m.Capture(i)))
			} else {
				L.Push(lua.LString(capturedString(L, m, str, i)))
			}
			nargs++
		}
	} else {
		L.Push(lua.LString(capturedString(L, m, str, 0)))
		nargs++
	}
	L.Call(nargs, 1)
	ret := L.Get(-1)
	L.Pop(1)
	if lua.LVIsFalse(ret) {
		return "", false
	}
	return lua.LVAsString(ret), true
}

// luaIndex2StringIndex is gopher-lua's conversion of a Lua string index to
// a Go offset.
func luaIndex2StringIndex(str string, i int, start bool) int {
	if start && i != 0 {
		i--
	}
	l := len(str)
	if i < 0 {
		i = l + i + 1
	}
	i = max(0, i)
	if !start && i > l {
		i = l
	}
	return i
}
