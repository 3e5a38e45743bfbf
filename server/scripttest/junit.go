package scripttest

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// JUnit XML, as CI servers read it: a testsuite per test file, a testcase
// per case, a failure holding the failure text.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr"`
	Line      int           `xml:"line,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",cdata"`
}

// WriteJUnit writes the report as JUnit XML. A test file that could not be
// read is its suite's one failed testcase, named "(test file)".
func (r *Report) WriteJUnit(w io.Writer) error {
	out := junitSuites{}
	var total time.Duration
	var times []time.Duration // each suite's
	index := map[string]int{}
	for _, res := range r.Results {
		i, ok := index[res.File]
		if !ok {
			i = len(out.Suites)
			index[res.File] = i
			out.Suites = append(out.Suites, junitSuite{Name: res.File})
			times = append(times, 0)
		}
		s := &out.Suites[i]
		s.Cases = append(s.Cases, junitCaseOf(res))
		s.Tests++
		out.Tests++
		if !res.Passed {
			s.Failures++
			out.Failures++
		}
		times[i] += res.Duration
		total += res.Duration
	}
	for i, d := range times {
		out.Suites[i].Time = seconds(d)
	}
	out.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitCaseOf(res Result) junitCase {
	c := junitCase{Name: res.Name, Classname: res.File, File: res.File, Line: res.Line, Time: seconds(res.Duration)}
	if c.Name == "" {
		c.Name = "(test file)"
	}
	if !res.Passed {
		first, _, _ := strings.Cut(res.Failure, "\n")
		c.Failure = &junitFailure{Message: first, Text: res.Failure}
	}
	return c
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
