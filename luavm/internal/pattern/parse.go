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

// The scanner, parser and compiler are pm's, with the subject a string
// instead of a byte slice and character classes compiled to bitsets.

type scannerState struct {
	Pos     int
	started bool
}

type scanner struct {
	src   string
	State scannerState
	saved scannerState
}

func newScanner(src string) *scanner { return &scanner{src: src} }

func (sc *scanner) Length() int { return len(sc.src) }

func (sc *scanner) Next() int {
	if !sc.State.started {
		sc.State.started = true
		if len(sc.src) == 0 {
			sc.State.Pos = eos
		}
	} else {
		sc.State.Pos = sc.NextPos()
	}
	if sc.State.Pos == eos {
		return eos
	}
	return int(sc.src[sc.State.Pos])
}

func (sc *scanner) CurrentPos() int { return sc.State.Pos }

func (sc *scanner) NextPos() int {
	if sc.State.Pos == eos || sc.State.Pos >= len(sc.src)-1 {
		return eos
	}
	if !sc.State.started {
		return 0
	}
	return sc.State.Pos + 1
}

func (sc *scanner) Peek() int {
	cureof := sc.State.Pos == eos
	ch := sc.Next()
	if !cureof {
		if sc.State.Pos == eos {
			sc.State.Pos = len(sc.src) - 1
		} else {
			sc.State.Pos--
			if sc.State.Pos < 0 {
				sc.State.Pos = 0
				sc.State.started = false
			}
		}
	}
	return ch
}

func (sc *scanner) Save() { sc.saved = sc.State }

func (sc *scanner) Restore() { sc.State = sc.saved }

type opCode int

const (
	opChar opCode = iota
	opMatch
	opTailMatch
	opJmp
	opSplit
	opSave
	opPSave
	opBrace
	opNumber
)

// inst is one matcher instruction. pm kept a class interface in opChar;
// the fork keeps its bitset, which answers the same for every byte.
type inst struct {
	OpCode   opCode
	Set      byteSet
	Operand1 int
	Operand2 int
}

// byteSet holds the bytes a class matches.
type byteSet [4]uint64

func (s *byteSet) has(c byte) bool { return s[c>>6]&(1<<(c&63)) != 0 }

// setOf evaluates c on every byte once, so matching never calls it again.
func setOf(c class) byteSet {
	var s byteSet
	if cc, ok := c.(*charClass); ok { // most of a pattern: one bit, not 256 tests
		if cc.Ch >= 0 && cc.Ch < 256 {
			s[cc.Ch>>6] |= 1 << (cc.Ch & 63)
		}
		return s
	}
	for ch := 0; ch < 256; ch++ {
		if c.Matches(ch) {
			s[ch>>6] |= 1 << (ch & 63)
		}
	}
	return s
}

type class interface {
	Matches(ch int) bool
}

type dotClass struct{}

func (pn *dotClass) Matches(ch int) bool { return true }

type charClass struct {
	Ch int
}

func (pn *charClass) Matches(ch int) bool { return pn.Ch == ch }

type singleClass struct {
	Class int
}

func (pn *singleClass) Matches(ch int) bool {
	ret := false
	switch pn.Class {
	case 'a', 'A':
		ret = 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z'
	case 'c', 'C':
		ret = (0x00 <= ch && ch <= 0x1F) || ch == 0x7F
	case 'd', 'D':
		ret = '0' <= ch && ch <= '9'
	case 'l', 'L':
		ret = 'a' <= ch && ch <= 'z'
	case 'p', 'P':
		ret = (0x21 <= ch && ch <= 0x2f) || (0x3a <= ch && ch <= 0x40) || (0x5b <= ch && ch <= 0x60) || (0x7b <= ch && ch <= 0x7e)
	case 's', 'S':
		switch ch {
		case ' ', '\f', '\n', '\r', '\t', '\v':
			ret = true
		}
	case 'u', 'U':
		ret = 'A' <= ch && ch <= 'Z'
	case 'w', 'W':
		ret = '0' <= ch && ch <= '9' || 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z'
	case 'x', 'X':
		ret = '0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f' || 'A' <= ch && ch <= 'F'
	case 'z', 'Z':
		ret = ch == 0
	default:
		return ch == pn.Class
	}
	if 'A' <= pn.Class && pn.Class <= 'Z' {
		return !ret
	}
	return ret
}

type setClass struct {
	IsNot   bool
	Classes []class
}

func (pn *setClass) Matches(ch int) bool {
	for _, class := range pn.Classes {
		if class.Matches(ch) {
			return !pn.IsNot
		}
	}
	return pn.IsNot
}

type rangeClass struct {
	Begin class
	End   class
}

func (pn *rangeClass) Matches(ch int) bool {
	begin, ok := pn.Begin.(*charClass)
	if !ok {
		return false
	}
	end, ok := pn.End.(*charClass)
	if !ok {
		return false
	}
	return begin.Ch <= ch && ch <= end.Ch
}

type pattern any

type singlePattern struct {
	Class class
}

type seqPattern struct {
	MustHead bool
	MustTail bool
	Patterns []pattern
}

type repeatPattern struct {
	Type  int
	Class class
}

type posCapPattern struct{}

type capPattern struct {
	Pattern pattern
}

type numberPattern struct {
	N int
}

type bracePattern struct {
	Begin int
	End   int
}

func parseClass(sc *scanner, allowset bool) class {
	ch := sc.Next()
	switch ch {
	case '%':
		return &singleClass{sc.Next()}
	case '.':
		if allowset {
			return &dotClass{}
		}
		return &charClass{ch}
	case '[':
		if allowset {
			return parseClassSet(sc)
		}
		return &charClass{ch}
	case eos:
		panic(newError(sc.CurrentPos(), "unexpected EOS"))
	default:
		return &charClass{ch}
	}
}

func parseClassSet(sc *scanner) class {
	set := &setClass{false, []class{}}
	if sc.Peek() == '^' {
		set.IsNot = true
		sc.Next()
	}
	isrange := false
	for {
		ch := sc.Peek()
		switch ch {
		case eos:
			panic(newError(sc.CurrentPos(), "unexpected EOS"))
		case ']':
			if len(set.Classes) > 0 {
				sc.Next()
				goto exit
			}
			fallthrough
		case '-':
			if len(set.Classes) > 0 {
				sc.Next()
				isrange = true
				continue
			}
			fallthrough
		default:
			set.Classes = append(set.Classes, parseClass(sc, false))
		}
		if isrange {
			begin := set.Classes[len(set.Classes)-2]
			end := set.Classes[len(set.Classes)-1]
			set.Classes = set.Classes[0 : len(set.Classes)-2]
			set.Classes = append(set.Classes, &rangeClass{begin, end})
			isrange = false
		}
	}
exit:
	if isrange {
		set.Classes = append(set.Classes, &charClass{'-'})
	}
	return set
}

func parsePattern(sc *scanner, toplevel bool) *seqPattern {
	pat := &seqPattern{}
	if toplevel {
		if sc.Peek() == '^' {
			sc.Next()
			pat.MustHead = true
		}
	}
	for {
		ch := sc.Peek()
		switch ch {
		case '%':
			sc.Save()
			sc.Next()
			switch sc.Peek() {
			case '0':
				panic(newError(sc.CurrentPos(), "invalid capture index"))
			case '1', '2', '3', '4', '5', '6', '7', '8', '9':
				pat.Patterns = append(pat.Patterns, &numberPattern{sc.Next() - 48})
			case 'b':
				sc.Next()
				pat.Patterns = append(pat.Patterns, &bracePattern{sc.Next(), sc.Next()})
			default:
				sc.Restore()
				pat.Patterns = append(pat.Patterns, &singlePattern{parseClass(sc, true)})
			}
		case '.', '[', ']':
			pat.Patterns = append(pat.Patterns, &singlePattern{parseClass(sc, true)})
		case ')':
			if toplevel {
				panic(newError(sc.CurrentPos(), "invalid ')'"))
			}
			return pat
		case '(':
			sc.Next()
			if sc.Peek() == ')' {
				sc.Next()
				pat.Patterns = append(pat.Patterns, &posCapPattern{})
			} else {
				ret := &capPattern{parsePattern(sc, false)}
				if sc.Peek() != ')' {
					panic(newError(sc.CurrentPos(), "unfinished capture"))
				}
				sc.Next()
				pat.Patterns = append(pat.Patterns, ret)
			}
		case '*', '+', '-', '?':
			sc.Next()
			if len(pat.Patterns) > 0 {
				spat, ok := pat.Patterns[len(pat.Patterns)-1].(*singlePattern)
				if ok {
					pat.Patterns = pat.Patterns[0 : len(pat.Patterns)-1]
					pat.Patterns = append(pat.Patterns, &repeatPattern{ch, spat.Class})
					continue
				}
			}
			pat.Patterns = append(pat.Patterns, &singlePattern{&charClass{ch}})
		case '$':
			if toplevel && (sc.NextPos() == sc.Length()-1 || sc.NextPos() == eos) {
				pat.MustTail = true
			} else {
				pat.Patterns = append(pat.Patterns, &singlePattern{&charClass{ch}})
			}
			sc.Next()
		case eos:
			sc.Next()
			return pat
		default:
			sc.Next()
			pat.Patterns = append(pat.Patterns, &singlePattern{&charClass{ch}})
		}
	}
}

type iptr struct {
	insts   []inst
	capture int
}

// compilePattern returns the program and how many capture slots it uses.
func compilePattern(p *seqPattern) ([]inst, int) {
	ptr := &iptr{[]inst{{OpCode: opSave, Operand1: 0, Operand2: -1}}, 2}
	compileInto(p, ptr)
	if p.MustTail {
		ptr.insts = append(ptr.insts, inst{OpCode: opSave, Operand1: 1, Operand2: -1}, inst{OpCode: opTailMatch, Operand1: -1, Operand2: -1})
	}
	return append(ptr.insts, inst{OpCode: opSave, Operand1: 1, Operand2: -1}, inst{OpCode: opMatch, Operand1: -1, Operand2: -1}), ptr.capture
}

func compileInto(p pattern, ptr *iptr) {
	switch pat := p.(type) {
	case *singlePattern:
		ptr.insts = append(ptr.insts, charInst(pat.Class))
	case *seqPattern:
		for _, cp := range pat.Patterns {
			compileInto(cp, ptr)
		}
	case *repeatPattern:
		compileRepeat(pat, ptr)
	case *posCapPattern:
		ptr.insts = append(ptr.insts, inst{OpCode: opPSave, Operand1: ptr.capture, Operand2: -1})
		ptr.capture += 2
	case *capPattern:
		c0, c1 := ptr.capture, ptr.capture+1
		ptr.capture += 2
		ptr.insts = append(ptr.insts, inst{OpCode: opSave, Operand1: c0, Operand2: -1})
		compileInto(pat.Pattern, ptr)
		ptr.insts = append(ptr.insts, inst{OpCode: opSave, Operand1: c1, Operand2: -1})
	case *bracePattern:
		ptr.insts = append(ptr.insts, inst{OpCode: opBrace, Operand1: pat.Begin, Operand2: pat.End})
	case *numberPattern:
		ptr.insts = append(ptr.insts, inst{OpCode: opNumber, Operand1: pat.N, Operand2: -1})
	}
}

func compileRepeat(pat *repeatPattern, ptr *iptr) {
	idx := len(ptr.insts)
	split := func(a, b int) inst { return inst{OpCode: opSplit, Operand1: a, Operand2: b} }
	char := charInst(pat.Class)
	switch pat.Type {
	case '*':
		ptr.insts = append(ptr.insts, split(idx+1, idx+3), char, inst{OpCode: opJmp, Operand1: idx, Operand2: -1})
	case '+':
		ptr.insts = append(ptr.insts, char, split(idx, idx+2))
	case '-':
		ptr.insts = append(ptr.insts, split(idx+3, idx+1), char, inst{OpCode: opJmp, Operand1: idx, Operand2: -1})
	case '?':
		ptr.insts = append(ptr.insts, split(idx+1, idx+2), char)
	}
}

func charInst(c class) inst { return inst{OpCode: opChar, Set: setOf(c), Operand1: -1, Operand2: -1} }
