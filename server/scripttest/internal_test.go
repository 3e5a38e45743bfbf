package scripttest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// lineDiff is quadratic: two long texts (a script that made thousands of
// requests, a test that lists thousands) must not take gigabytes.
func TestLineDiffOfLongTextsIsBounded(t *testing.T) {
	var a, b []string
	for i := range 5000 {
		a = append(a, fmt.Sprintf("GET http://crm.test/%d", i))
		b = append(b, fmt.Sprintf("GET http://crm.test/%d", i+1))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := lineDiff(strings.Join(a, "\n"), strings.Join(b, "\n"))
	runtime.ReadMemStats(&after)
	if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 20 {
		t.Errorf("diffing 5000 lines allocated %d MiB", mb)
	}
	lines := strings.Split(d, "\n")
	if lines[0] != "- GET http://crm.test/0" || lines[len(lines)-1] != "+ GET http://crm.test/5000" {
		t.Errorf("diff starts %q, ends %q", lines[0], lines[len(lines)-1])
	}
	// Short texts still get the exact diff.
	if d := lineDiff("a\nb\nc", "a\nc\nd"); d != "  a\n- b\n  c\n+ d" {
		t.Errorf("%q", d)
	}
}
