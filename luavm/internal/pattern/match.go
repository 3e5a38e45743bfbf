// Forked from github.com/yuin/gopher-lua v1.1.2, package pm, under its licence:
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

package pattern

// machine is pm's recursive backtracking matcher ("Regular Expression
// Matching: the Virtual Machine Approach", https://swtch.com/~rsc/regexp/regexp2.html)
// with a step counter, so a runaway match notices its stop channel.
type machine struct {
	src   string
	insts []inst
	stop  <-chan struct{}
	steps int
	// caps is pm's MatchData for the current start: it grows as captures
	// are first saved, and is reset, not reallocated, between starts.
	caps []uint32
}

// tick counts n steps of work and, every checkEvery of them, looks at the
// stop channel without blocking.
func (m *machine) tick(n int) {
	m.steps += n
	if m.steps < checkEvery {
		return
	}
	m.steps = 0
	select {
	case <-m.stop:
		panic(ErrCancelled)
	default:
	}
}

func (m *machine) setCapture(s, pos int) uint32 {
	for s >= len(m.caps) {
		m.caps = append(m.caps, 0)
	}
	v := m.caps[s]
	m.caps[s] = uint32(pos) << 1
	return v
}

func (m *machine) addPosCapture(s, pos int) {
	for s+1 >= len(m.caps) {
		m.caps = append(m.caps, 0)
	}
	m.caps[s] = (uint32(pos) << 1) | 1
	m.caps[s+1] = (uint32(pos) << 1) | 1
}

// run matches from instruction pc at subject offset sp, recursing at each
// choice as pm does, and reports whether it matched and where it stopped.
func (m *machine) run(pc, sp, depth int) (bool, int) {
	depth++
	if depth > maxRecursionLevel {
		panic(newError(unknownPos, "pattern/input too complex"))
	}
	m.tick(1)
	src := m.src
	for {
		in := &m.insts[pc]
		switch in.OpCode {
		case opChar:
			if sp >= len(src) || !in.Set.has(src[sp]) {
				return false, sp
			}
			pc++
			sp++
		case opMatch:
			return true, sp
		case opTailMatch:
			return sp >= len(src), sp
		case opJmp:
			pc = in.Operand1
		case opSplit:
			if ok, nsp := m.run(in.Operand1, sp, depth); ok {
				return true, nsp
			}
			pc = in.Operand2
		case opSave:
			s := m.setCapture(in.Operand1, sp)
			if ok, nsp := m.run(pc+1, sp, depth); ok {
				return true, nsp
			}
			m.caps[in.Operand1] = s
			return false, sp
		case opPSave:
			m.addPosCapture(in.Operand1, sp+1)
			pc++
		case opBrace:
			end, ok := m.brace(in, sp)
			if !ok {
				return false, end
			}
			pc++
			sp = end
		case opNumber:
			n, ok := m.backref(in.Operand1*2, sp)
			if !ok {
				return false, sp
			}
			pc++
			sp += n
		}
	}
}

// brace matches %bxy at sp: the offset after the balanced run, or where
// the search gave up.
func (m *machine) brace(in *inst, sp int) (int, bool) {
	src := m.src
	if sp >= len(src) || int(src[sp]) != in.Operand1 {
		return sp, false
	}
	start, count := sp, 1
	for sp = sp + 1; sp < len(src); sp++ {
		if int(src[sp]) == in.Operand2 {
			count--
		}
		if count == 0 {
			m.tick(sp - start)
			return sp + 1, true
		}
		if int(src[sp]) == in.Operand1 {
			count++
		}
	}
	m.tick(sp - start)
	return sp, false
}

// backref matches capture slot idx again at sp and returns its length.
func (m *machine) backref(idx, sp int) (int, bool) {
	if idx >= len(m.caps)-1 {
		panic(newError(unknownPos, "invalid capture index"))
	}
	from, to := int(m.caps[idx]>>1), int(m.caps[idx+1]>>1)
	if from > to {
		// pm slices the subject here and panics in Go: a capture still
		// open, as in "((a)%1)". PUC Lua calls that an invalid capture too.
		panic(newError(unknownPos, "invalid capture index"))
	}
	capture := m.src[from:to]
	m.tick(len(capture))
	if len(m.src)-sp < len(capture) || m.src[sp:sp+len(capture)] != capture {
		return 0, false
	}
	return len(capture), true
}
