package pattern

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/yuin/gopher-lua/pm"
)

// pmFind is pm.Find with its Go panics (a few malformed patterns slice out
// of range) turned into a flag, so tests can skip what pm cannot answer.
func pmFind(p, src string, offset, limit int) (ms []*pm.MatchData, err error, panicked bool) {
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	ms, err = pm.Find(p, []byte(src), offset, limit)
	return ms, err, false
}

// forkFind is Compile then Find, as the sandbox uses them.
func forkFind(p, src string, offset, limit int) ([]Match, error) {
	c, err := Compile(p)
	if err != nil {
		return nil, err
	}
	return c.Find(src, offset, limit, nil, nil)
}

// diff describes how the fork's answer differs from pm's, or is "".
func diff(want []*pm.MatchData, wantErr error, got []Match, gotErr error) string {
	if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
		return fmt.Sprintf("error %v, pm says %v", gotErr, wantErr)
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d matches, pm finds %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.CaptureLength() != w.CaptureLength() {
			return fmt.Sprintf("match %d: %d capture slots, pm has %d", i, g.CaptureLength(), w.CaptureLength())
		}
		for j := 0; j < w.CaptureLength(); j++ {
			if g.Capture(j) != w.Capture(j) || g.IsPosCapture(j) != w.IsPosCapture(j) {
				return fmt.Sprintf("match %d slot %d: %d/%v, pm has %d/%v", i, j, g.Capture(j), g.IsPosCapture(j), w.Capture(j), w.IsPosCapture(j))
			}
		}
	}
	return ""
}

var findCases = []struct{ pat, src string }{
	{"^%d%d%d%d%d%d%d%d$", "12345678"},
	{"^%d%d%d%d%d%d%d%d$", "1234567"},
	{"%a+", "hello world 42"},
	{"[%w_]+", "a_b c-d"},
	{"[^%s]+", " x  yz "},
	{"[a-c%d]+", "zzab9cx"},
	{"(%w+)=(%w+)", "k=v, a=b"},
	{"()a()", "bab"},
	{"%b()", "f(a(b)c) (d"},
	{"%f[%w]%w+", "THE (quick) fox"},
	{"(a)%1", "xaay"},
	{"a-b", "aaab"},
	{"a*", "baaa"},
	{"", "abc"},
	{"x?y", "xyy"},
	{"$", "abc"},
	{"a$b", "a$b"},
	{"%", "a%"},
	{"[a", "a"},
	{"(a", "a"},
	{"a)", "a)"},
	{"%0", "a"},
	{"%1", "a"},
	{"((a)%1)", "xaa"},
	{"[]]", "]"},
	{"[^]]", "]a"},
	{"[a-]", "-"},
	{"%bx", "x"},
}

func TestFindAgreesWithPM(t *testing.T) {
	for _, tc := range findCases {
		for _, limit := range []int{1, -1, 0, 2} {
			for offset := 0; offset <= len(tc.src); offset++ {
				want, werr, panicked := pmFind(tc.pat, tc.src, offset, limit)
				if panicked {
					continue
				}
				got, gerr := forkFind(tc.pat, tc.src, offset, limit)
				if d := diff(want, werr, got, gerr); d != "" {
					t.Errorf("Find(%q, %q, %d, %d): %s", tc.pat, tc.src, offset, limit, d)
				}
			}
		}
	}
}

// TestOpenBackReferenceIsAnError is where the fork departs from pm on
// purpose: pm panics in Go on a back-reference to a capture still open.
func TestOpenBackReferenceIsAnError(t *testing.T) {
	if _, _, panicked := pmFind("((a)%1)", "xaa", 0, 1); !panicked {
		t.Log("pm no longer panics on an open back-reference")
	}
	if _, err := forkFind("((a)%1)", "xaa", 0, 1); err == nil || err.Error() != "invalid capture index" {
		t.Errorf("got %v, want invalid capture index", err)
	}
}

func TestCompiledPatternIsReusable(t *testing.T) {
	p, err := Compile("(%d+)")
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"a1", "22b", "", "x333"} {
		want, _, _ := pmFind("(%d+)", src, 0, -1)
		got, err := p.Find(src, 0, -1, nil, nil)
		if d := diff(want, nil, got, err); d != "" {
			t.Errorf("%q: %s", src, d)
		}
	}
}

func TestFindStopsWhenStopCloses(t *testing.T) {
	p, err := Compile(".-.-.-x")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	src := strings.Repeat("a", 300000)
	res := make(chan error, 1)
	go func() {
		_, err := p.Find(src, 0, 1, stop, nil)
		res <- err
	}()
	close(stop)
	select {
	case err := <-res:
		if !errors.Is(err, ErrCancelled) || err.Error() != "pattern match cancelled" {
			t.Fatalf("got %v, want ErrCancelled", err)
		}
	case <-time.After(5 * time.Second): // the match alone runs for days
		t.Fatal("Find did not stop within 5s of its stop channel closing")
	}
}

// FuzzPattern checks the fork against pm on arbitrary patterns and
// subjects, skipping what pm panics on or both reject.
func FuzzPattern(f *testing.F) {
	for _, tc := range findCases {
		f.Add(tc.pat, tc.src, 0, 1)
	}
	f.Fuzz(func(t *testing.T, pat, src string, offset, limit int) {
		if len(src) > 256 || len(pat) > 64 {
			return // keeps pm's exponential cases short
		}
		offset = int(uint(offset) % uint(len(src)+1))
		want, werr, panicked := pmFind(pat, src, offset, limit)
		if panicked {
			return
		}
		got, gerr := forkFind(pat, src, offset, limit)
		if werr != nil && gerr != nil && werr.Error() == gerr.Error() {
			return
		}
		if d := diff(want, werr, got, gerr); d != "" {
			t.Errorf("Find(%q, %q, %d, %d): %s", pat, src, offset, limit, d)
		}
	})
}

// BenchmarkMatch compares matching a compiled pattern with pm.Find, which
// parses and compiles on every call, on the IVR script's 8-digit ID check.
func BenchmarkMatch(b *testing.B) {
	const pat, src = "^%d%d%d%d%d%d%d%d$", "12345678"
	b.Run("Compiled", func(b *testing.B) {
		p, err := Compile(pat)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if ms, _ := p.Find(src, 0, 1, nil, nil); len(ms) != 1 {
				b.Fatal("no match")
			}
		}
	})
	b.Run("PM", func(b *testing.B) {
		bsrc := []byte(src)
		b.ReportAllocs()
		for b.Loop() {
			if ms, _ := pm.Find(pat, bsrc, 0, 1); len(ms) != 1 {
				b.Fatal("no match")
			}
		}
	})
}

func TestFindAsksAllocForEachMatch(t *testing.T) {
	p, err := Compile("(x)")
	if err != nil {
		t.Fatal(err)
	}
	asked, budget := 0, 10*(MatchSize+4*4)
	full := errors.New("budget spent")
	alloc := func(n int) error {
		if asked+n > budget {
			return full
		}
		asked += n
		return nil
	}
	ms, err := p.Find(strings.Repeat("x", 10), 0, -1, nil, alloc)
	if err != nil || len(ms) != 10 {
		t.Fatalf("10 matches in a budget of 10: %d, %v", len(ms), err)
	}
	if _, err := p.Find("x", 0, -1, nil, alloc); err != full {
		t.Fatalf("the 11th match: %v, want the budget's error", err)
	}
}
