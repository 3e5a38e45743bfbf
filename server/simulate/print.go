package simulate

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ivrouter/ivrouter/server/scripttest"
)

// Printer writes steps as they are answered.
type Printer struct {
	W io.Writer
	// JSON writes each answer's body alone, a line each: exactly what
	// serve would answer.
	JSON bool
	// Color marks the transcript with ANSI colours: for a terminal only.
	Color bool
	// Request also shows each request's JSON.
	Request bool
}

// ANSI colours of the transcript.
const (
	bold   = "\x1b[1m"
	dim    = "\x1b[2m"
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	cyan   = "\x1b[36m"
	reset  = "\x1b[0m"
)

func (p *Printer) paint(color, s string) string {
	if !p.Color || s == "" {
		return s
	}
	return color + s + reset
}

// Step writes one step: with JSON its answer alone; else a heading (the
// request: where it went, the layer, the digits), the script that ran and
// its outcome, its log lines, its HTTP requests, the answer and what the
// caller hears.
//
//	step 2: layer 2, POST /clinic-id (from layer 2), dtmf 2
//	  script   clinic-id.lua (ok)
//	  log      INFO third wrong ID: to a clerk tries=3 (scripts/clinic-id.lua:37)
//	  http     GET http://crm.test/contacts?id=1 -> 404 (0.3 ms)
//	  answer   {"STATUS":0,"ACTION":"SAY_DIGITS",...}
//	  caller   says "[recording: clinic-wrong-id.mp3]", then goes to layer 2
func (p *Printer) Step(st *Step) {
	if p.JSON {
		fmt.Fprintf(p.W, "%s\n", st.Body)
		return
	}
	var b strings.Builder
	head := fmt.Sprintf("step %d: layer %d, POST %s", st.N, st.Call.LayerID, st.Path)
	if st.Call.HasPrevious {
		head += fmt.Sprintf(" (from layer %d)", st.Call.PreviousLayerID)
	}
	if st.Call.DTMF != "" {
		head += ", dtmf " + st.Call.DTMF
	} else {
		head += ", no dtmf"
	}
	if st.Call.CustomData != nil {
		head += ", CUSTOM_DATA " + string(st.Call.CustomData)
	}
	b.WriteString(p.paint(bold, head) + "\n")
	if p.Request {
		p.line(&b, "request", p.paint(dim, string(st.Request)))
	}
	script := "none"
	if st.Script != "" {
		script = st.Script + ".lua"
	}
	outcome := st.Outcome
	switch outcome {
	case "ok":
		outcome = p.paint(green, outcome)
	case "fallback", "":
		outcome = p.paint(yellow, orNone(outcome))
	default:
		outcome = p.paint(red, outcome)
	}
	p.line(&b, "script", script+" ("+outcome+")")
	if st.Error != "" {
		p.line(&b, "error", p.paint(red, st.Error))
	}
	for _, l := range st.Log {
		switch {
		case strings.HasPrefix(l, "WARN"), strings.HasPrefix(l, "ERROR"):
			l = p.paint(yellow, l)
		case strings.HasPrefix(l, "DEBUG"):
			l = p.paint(dim, l)
		}
		p.line(&b, "log", l)
	}
	for _, r := range st.HTTP {
		p.line(&b, "http", p.request(r))
	}
	answer := string(st.Body)
	if st.Status != 200 {
		answer = p.paint(red, "HTTP "+strconv.Itoa(st.Status)) + " " + answer
	}
	p.line(&b, "answer", answer)
	if st.Heard != "" {
		p.line(&b, "caller", p.paint(cyan, st.Heard))
	}
	io.WriteString(p.W, b.String())
}

// End writes why a walk ended, after its last step.
func (p *Printer) End(j *Journey) {
	if p.JSON || j.End == "" {
		return
	}
	color := yellow
	if j.Dialled {
		color = green
	}
	fmt.Fprintf(p.W, "%s %s\n", p.paint(bold, "end:"), p.paint(color, j.End))
}

func (p *Printer) line(b *strings.Builder, label, text string) {
	fmt.Fprintf(b, "  %-8s %s\n", label, text)
}

// request is one HTTP request: "GET URL -> 200 (1.2 ms)", or its error.
func (p *Printer) request(r scripttest.HTTPRequest) string {
	result := strconv.Itoa(r.Status)
	switch {
	case r.Err != "":
		result = p.paint(red, "error: "+r.Err)
	case r.Status >= 400:
		result = p.paint(yellow, result)
	}
	return fmt.Sprintf("%s %s -> %s (%s)", r.Method, r.URL, result, ms(r.Took))
}

// ms is a duration in milliseconds, to a tenth for short ones.
func ms(d time.Duration) string {
	m := float64(d) / float64(time.Millisecond)
	if m < 10 {
		return strconv.FormatFloat(m, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(m, 'f', 0, 64) + " ms"
}

func orNone(s string) string {
	if s == "" {
		return "no call line"
	}
	return s
}
