package scripttest

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Report is what a run found, in file order and, within a file, in the
// order its cases are written.
type Report struct {
	// Files is how many test files were found, run or not.
	Files int
	// Results has one entry per case selected, and one per test file that
	// could not be read (Name empty).
	Results []Result
}

// Result is one case's run.
type Result struct {
	// File is the test file as found under the scripts directory, and Line
	// the case's line in it.
	File string
	Line int
	// Name is the case's name; empty for a file that could not be read.
	Name   string
	Passed bool
	// Failure says why the case failed: each problem, then what the failing
	// step did (answer, outcome and error, log lines, requests).
	Failure string
	// Output is what each step did, with Options.Verbose.
	Output   string
	Duration time.Duration

	loadErr bool // Failure is the scripts directory's load error
}

// fileFailure is the Result of a test file that cannot be read: at the
// line of its first problem.
func fileFailure(path string, err error) Result {
	line := 1
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, path+":"); ok {
		num, _, _ := strings.Cut(rest, ":")
		if n, err := strconv.Atoi(num); err == nil {
			line = n
		}
	}
	return Result{File: path, Line: line, Failure: msg}
}

// Failed is how many results failed.
func (r *Report) Failed() int {
	n := 0
	for _, res := range r.Results {
		if !res.Passed {
			n++
		}
	}
	return n
}

// Print writes the failures, each under "--- FAIL: file:line: name" with
// its text indented, then a summary line; verbose also lists the passing
// cases, with their Output when the run kept it. The output holds no
// timings, so two runs of the same tests print the same.
func (r *Report) Print(w io.Writer, verbose bool) {
	switch {
	case r.Files == 0:
		fmt.Fprintln(w, "no test files (*"+Suffix+", *"+AltSuffix+")")
		return
	case len(r.Results) == 0:
		fmt.Fprintf(w, "no case selected in %s\n", plural(r.Files, "test file"))
		return
	}
	for _, res := range r.Results {
		switch {
		case !res.Passed:
			fmt.Fprintf(w, "--- FAIL: %s\n%s", res.title(), indent(strings.TrimSuffix(res.Failure, "\n"), "    ")+"\n")
		case verbose:
			fmt.Fprintf(w, "--- PASS: %s\n", res.title())
			if res.Output != "" {
				fmt.Fprintln(w, indent(strings.TrimSuffix(res.Output, "\n"), "    "))
			}
		}
	}
	fmt.Fprintln(w, r.summary())
}

// summary is the last line: how many cases passed or failed, and how many
// test files could not be read.
func (r *Report) summary() string {
	cases, failed, broken := 0, 0, 0
	files := map[string]bool{}
	for _, res := range r.Results {
		files[res.File] = true
		switch {
		case res.Name == "":
			broken++
		case !res.Passed:
			cases, failed = cases+1, failed+1
		default:
			cases++
		}
	}
	var parts []string
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d of %s failed", failed, plural(cases, "case")))
	}
	if broken > 0 {
		parts = append(parts, plural(broken, "test file")+" could not be read")
	}
	if len(parts) > 0 {
		return "FAIL: " + strings.Join(parts, ", ")
	}
	return fmt.Sprintf("PASS: %s in %s", plural(cases, "case"), plural(len(files), "file"))
}

func (res *Result) title() string {
	if res.Name == "" {
		return res.File // the failure names each problem's line
	}
	return fmt.Sprintf("%s:%d: %s", res.File, res.Line, res.Name)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
