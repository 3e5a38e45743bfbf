package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// sharedTitle is the annotation of a command whose help lists serve's
// settings apart from its own flags, under this title.
const sharedTitle = "ivrouter/shared-title"

func init() {
	cobra.AddTemplateFunc("flagHelp", flagHelp)
}

// usageTemplate is cobra's, with the flags listed by flagHelp: each with
// its IVROUTER_* variable and its default.
const usageTemplate = `Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [command]{{end}}{{if .HasAvailableSubCommands}}

Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{flagHelp .}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} [command] --help" for more information about a command.{{end}}
`

// flagHelp lists a command's visible flags in the order they were
// declared: the command's own under "Flags:", and, for a command that
// takes serve's settings to load what serve would, those under their own
// title.
func flagHelp(c *cobra.Command) string {
	fs := c.Flags()
	sorted := fs.SortFlags
	fs.SortFlags = false
	defer func() { fs.SortFlags = sorted }()
	shared := c.Annotations[sharedTitle]
	var own, serve []*pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) {
		switch {
		case f.Hidden:
		case shared != "" && kindOf(f) == kindServe:
			serve = append(serve, f)
		default:
			own = append(own, f)
		}
	})
	var b strings.Builder
	section(&b, "Flags:", own)
	section(&b, shared+":", serve)
	if len(own)+len(serve) > 2 {
		b.WriteString("\n\nA flag wins over its IVROUTER_* variable, which wins over --config's file.")
	}
	return b.String()
}

func section(b *strings.Builder, title string, fl []*pflag.Flag) {
	if len(fl) == 0 {
		return
	}
	heads := make([]string, len(fl))
	width := 0
	for i, f := range fl {
		h := "--" + f.Name
		if f.Shorthand != "" {
			h = "-" + f.Shorthand + ", " + h
		}
		if f.NoOptDefVal == "" {
			h += " " + f.Value.Type()
		}
		heads[i] = h
		width = max(width, min(len(h), 30))
	}
	fmt.Fprintf(b, "\n\n%s", title)
	for i, f := range fl {
		fmt.Fprintf(b, "\n  %s", heads[i])
		if notes := flagNotes(f); notes != "" {
			fmt.Fprintf(b, "%*s  %s", width-len(heads[i]), "", notes)
		}
		for _, line := range wrap(f.Usage, 72) {
			fmt.Fprintf(b, "\n        %s", line)
		}
	}
}

// flagNotes are a flag's variable and default: "IVROUTER_DEADLINE,
// default 3s".
func flagNotes(f *pflag.Flag) string {
	var notes []string
	if env := flagEnv(f); env != "" {
		notes = append(notes, env)
	}
	def := f.DefValue
	if def != "" && def != "false" && !strings.Contains(f.Usage, "(default") {
		notes = append(notes, "default "+def)
	}
	return strings.Join(notes, ", ")
}

// wrap breaks s into lines of at most width bytes, at spaces.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
