package server

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/luavm/lint"
)

// Check loads a scripts directory the way New does, without serving it,
// and reads every script for the mistakes loading cannot see (a misspelled
// builder or option inside a handler, a handler that can end without an
// answer). It returns every problem found, errors and warnings, by file
// and line.
//
// CI has no secrets: a script that fails to load only because a variable
// it may read (ScriptEnv) is unset is reported as a warning, not an error.
func Check(cfg Config) ([]lint.Diagnostic, error) {
	cfg = cfg.withDefaults()
	var certs []lint.Diagnostic
	if _, err := newCerts(cfg.TLSCert, cfg.TLSKey); err != nil {
		// Like a secret, a certificate is often not where check runs (CI).
		certs = append(certs, lint.Diagnostic{Path: cfg.TLSCert, Severity: lint.Warning, Msg: err.Error() + " (serve would not start)"})
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	opts, err := s.vmOptions()
	if err != nil {
		return nil, err
	}
	diags, err := lint.Dir(cfg.Scripts, opts.Modules)
	if err != nil {
		return nil, err
	}
	diags = append(diags, certs...)
	for _, d := range loadProblems(cfg, opts) {
		if !reported(diags, d) {
			diags = append(diags, d)
		}
	}
	sort.SliceStable(diags, func(i, j int) bool {
		if diags[i].Path != diags[j].Path {
			return diags[i].Path < diags[j].Path
		}
		return diags[i].Line < diags[j].Line
	})
	return diags, nil
}

// loadProblems builds the set as serve would. On failure with variables
// unset, it builds again with each unset variable set to a placeholder:
// the problems that go away are the environment's, and only warnings.
func loadProblems(cfg Config, opts luavm.Options) []lint.Diagnostic {
	errs := build(cfg.Scripts, opts)
	unset := unsetNames(cfg.ScriptEnv)
	if len(errs) == 0 || len(unset) == 0 {
		return diagnostics(errs, lint.Error, "")
	}
	filled := maps.Clone(cfg.ScriptEnv)
	for _, name := range unset {
		filled[name] = "unset-" + name
	}
	cfg.ScriptEnv = filled
	s := &Server{cfg: cfg, log: cfg.Logger}
	withEnv, err := s.vmOptions()
	if err != nil {
		return diagnostics(errs, lint.Error, "")
	}
	withEnv.VMs = 1
	still := map[string]bool{}
	for _, e := range build(cfg.Scripts, withEnv) {
		still[e] = true
	}
	var envOnly, real []string
	for _, e := range errs {
		if still[e] {
			real = append(real, e)
		} else {
			envOnly = append(envOnly, e)
		}
	}
	why := fmt.Sprintf(" (fails only because %s unset here)", strings.Join(unset, ", "))
	return append(diagnostics(real, lint.Error, ""), diagnostics(envOnly, lint.Warning, why)...)
}

// build loads dir in one VM and returns its problems, one per line.
func build(dir string, opts luavm.Options) []string {
	opts.VMs = 1
	set, err := luavm.Build(dir, opts)
	if err != nil {
		return strings.Split(err.Error(), "\n")
	}
	set.Close()
	set.Wait()
	return nil
}

func unsetNames(env map[string]string) []string {
	var names []string
	for name, v := range env {
		if v == "" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// wherePrefix reads the file:line[:column] a load error starts with.
var wherePrefix = regexp.MustCompile(`^(.+?)(?::(\d+))?(?::\d+)?: `)

func diagnostics(lines []string, sev lint.Severity, suffix string) []lint.Diagnostic {
	out := make([]lint.Diagnostic, 0, len(lines))
	for _, line := range lines {
		d := lint.Diagnostic{Severity: sev, Msg: line + suffix}
		if m := wherePrefix.FindStringSubmatch(line); m != nil {
			d.Path, d.Msg = m[1], line[len(m[0]):]+suffix
			d.Line, _ = strconv.Atoi(m[2])
		}
		out = append(out, d)
	}
	return out
}

// reported says whether the linter already found a problem at d's line, as
// it does a syntax error, which loading reports too.
func reported(diags []lint.Diagnostic, d lint.Diagnostic) bool {
	for _, l := range diags {
		if l.Severity == lint.Error && l.Path == d.Path && l.Line == d.Line && d.Line != 0 {
			return true
		}
	}
	return false
}
