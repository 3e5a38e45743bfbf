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

// Package pattern is a fork of gopher-lua's pm package, the Lua pattern
// matcher behind string.find, match, gmatch and gsub.
//
// The fork exists for two reasons pm cannot serve. pm parses and compiles
// the pattern on every call, which made one string:match most of a routed
// call's allocations; here a pattern is compiled once and matched many
// times. And pm runs a backtracking match to its end however long that
// takes, so a catastrophic pattern kept a CPU busy long after its call was
// answered; here the matcher polls a stop channel and gives up with
// ErrCancelled.
//
// Matching is otherwise pm's, step for step, including its departures from
// PUC Lua (for instance "%" at the end of a pattern matches nothing rather
// than being an error), so scripts see what stock gopher-lua gives them.
package pattern

import "fmt"

const (
	// eos is the scanner's end of input, and an Error position at the end.
	eos = -1
	// unknownPos marks an Error that has no position in the pattern.
	unknownPos = -2
	// maxRecursionLevel is pm's limit on backtracking depth.
	maxRecursionLevel = 1000000
	// checkEvery is how many steps run between looks at the stop channel:
	// often enough to stop within microseconds, rarely enough to cost nothing.
	checkEvery = 1024
)

// Error is a malformed pattern or a match that could not be completed,
// worded as pm words it so scripts' error messages do not change.
type Error struct {
	Pos     int
	Message string
}

func newError(pos int, message string) *Error { return &Error{pos, message} }

func (e *Error) Error() string {
	switch e.Pos {
	case eos:
		return e.Message + " at EOS"
	case unknownPos:
		return e.Message
	default:
		return fmt.Sprintf("%s at %d", e.Message, e.Pos)
	}
}

// ErrCancelled is returned by Find when its stop channel closes mid-match.
var ErrCancelled = newError(unknownPos, "pattern match cancelled")

// Pattern is a compiled Lua pattern. It is immutable, so one Pattern may be
// matched any number of times, from any number of goroutines.
type Pattern struct {
	insts    []inst
	mustHead bool
	slots    int // capture slots a match fills, the whole match's included
}

// Compile parses and compiles a Lua pattern, failing with an *Error for a
// malformed one, as pm.Find would.
func Compile(pattern string) (p *Pattern, err error) {
	defer recoverError(&err)
	pat := parsePattern(newScanner(pattern), true)
	insts, slots := compilePattern(pat)
	return &Pattern{insts: insts, mustHead: pat.MustHead, slots: slots}, nil
}

// MatchSize is what a match costs besides its captures (4 bytes each): its
// slice header, and the room the slice of matches grows by.
const MatchSize = 48

// Match is the captures of one match, laid out as pm.MatchData's: pairs of
// start and end offsets into the subject, the whole match first, a position
// capture holding its 1-based position in both halves of its pair.
type Match struct{ caps []uint32 }

// CaptureLength is twice the number of captures, the whole match included.
func (m Match) CaptureLength() int { return len(m.caps) }

// IsPosCapture reports whether capture slot idx is a position capture.
func (m Match) IsPosCapture(idx int) bool { return m.caps[idx]&1 == 1 }

// Capture is the offset (or, for a position capture, the position) in slot idx.
func (m Match) Capture(idx int) int { return int(m.caps[idx] >> 1) }

// Find matches p against src as pm.Find does: trying each start from offset
// (0-based, at most len(src)) on, past each match's end, until it holds
// limit matches (so -1 finds all, and 0 stops at the first start that fails,
// pm's quirk) or after the first start when the pattern is anchored. It fails with an *Error when the match is too deep or uses a
// missing capture, and with ErrCancelled soon after stop is closed; a nil
// stop never stops. Before keeping each match it asks alloc (when not nil)
// for the match's bytes and returns alloc's error: a pattern that matches
// every byte of a megabyte string keeps a million matches.
func (p *Pattern) Find(src string, offset, limit int, stop <-chan struct{}, alloc func(n int) error) (matches []Match, err error) {
	defer recoverError(&err)
	m := machine{src: src, insts: p.insts, stop: stop}
	size := MatchSize + 4*p.slots
	for sp := offset; sp <= len(src); {
		if m.caps == nil {
			m.caps = make([]uint32, 0, p.slots)
		}
		m.caps = m.caps[:0]
		ok, nsp := m.run(0, sp, 0)
		sp++
		if ok {
			if alloc != nil {
				if err := alloc(size); err != nil {
					return nil, err
				}
			}
			sp = max(sp, nsp)
			// The match keeps the scratch captures; the next start, if
			// any, gets new ones.
			matches = append(matches, Match{m.caps})
			m.caps = nil
		}
		if len(matches) == limit || p.mustHead {
			break
		}
	}
	return matches, nil
}

// recoverError turns the *Error panics parsing and matching use to unwind
// into an error, leaving any other panic alone.
func recoverError(err *error) {
	if v := recover(); v != nil {
		perr, ok := v.(*Error)
		if !ok {
			panic(v)
		}
		*err = perr
	}
}
