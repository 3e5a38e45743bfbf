// Package lint reads routing scripts without running them and reports the
// mistakes loading cannot see, because they sit in code that only runs
// when a call comes: a misspelled module function or option, a handler
// that returns a string, or one that can end without answering.
//
// Errors are what will fail when that line runs: a syntax or compile error;
// a name a Go module's table does not hold (ivr.go_to_layr, http.gett),
// reached through a global module or a variable every assignment of which
// is require("name"); in a literal options table of a function with a
// luavm.Signature, an unknown key, a literal of a type the option refuses,
// a Required option left out; require("x") of neither a Go module nor a
// lib script; an assignment to a module's field; a handler returning a
// literal, nothing, or the value of a module function that module does
// not mark as building an action. Warnings are likely mistakes: a global
// read that nothing defines (calll.dtmf), a handler that can run off its
// end.
//
// A module's names are the keys of the table its loader builds, in a
// scratch Lua state, so any embedder's module is checked without a list
// written by hand; a module whose table cannot be built so (its loader
// fails outside a VM) is checked by name only. Only what is certain is
// reported: a table built elsewhere, a call's value or a variable assigned
// more than one thing is taken to be right.
//
// Scripts are read with gopher-lua's own parser, so what it reads is what
// the server compiles. Diagnostics print one a line, the way compilers
// print them, which editors' and CI's problem matchers read:
//
//	scripts/layers/5.lua:9: unknown function ivr.go_to_layr (did you mean ivr.go_to_layer?)
//	scripts/layers/5.lua:12: warning: handler can reach its end without returning an action
//	scripts/broken.lua:3:7: syntax error near "end"
//
// that is path:line[:column]: [warning: ]message. Errors carry no severity
// word, as GNU tools print them; Emacs' compilation mode and Vim's default
// errorformat tell the two apart by "warning:".
package lint

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ivrouter/ivrouter/luavm"
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// Severity tells a certain mistake from a likely one.
type Severity int

const (
	// Error is a mistake the script will hit when that code runs.
	Error Severity = iota
	// Warning is probably a mistake: an unknown global, a handler that
	// may end without an answer.
	Warning
)

// String names the severity as diagnostics print it.
func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one problem in one script.
type Diagnostic struct {
	Path string
	// Line is 1-based; 0 when the problem is the file's as a whole.
	Line int
	// Col is set for syntax errors only, where the parser knows it.
	Col      int
	Severity Severity
	Msg      string
}

// String is path:line[:col]: [warning: ]message (see the package doc).
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Path)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d", d.Line)
		if d.Col > 0 {
			fmt.Fprintf(&b, ":%d", d.Col)
		}
	}
	b.WriteString(": ")
	if d.Severity == Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Msg)
	return b.String()
}

// HasErrors reports whether any diagnostic is an Error, as a check that
// should fail CI needs to know.
func HasErrors(diags []Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Options describe where a script given to Source sits.
type Options struct {
	// Modules are the Go modules scripts may require.
	Modules []luavm.Module
	// Dir is the scripts directory, passed to Module.Load.
	Dir string
	// Libs name the lib scripts require may load: "lib.crm".
	Libs []string
	// Lib says the script is a lib script: it returns a module, not a
	// handler.
	Lib bool
}

// Source checks one script.
func Source(path string, src []byte, o Options) []Diagnostic {
	c := newChecker(o.Dir, o.Modules, o.Libs)
	diags := c.file(path, src, o.Lib)
	sortDiags(diags)
	return diags
}

// Dir checks every script of a scripts directory, laid out as luavm loads
// it: NAME.lua and layers/N.lua return handlers, events/NAME.lua handlers
// whose answer is ignored, lib/**/NAME.lua modules required as "lib.NAME". A file that cannot be read or parsed is
// reported and the others are checked all the same. The error is for a
// directory that cannot be read at all.
func Dir(dir string, mods []luavm.Module) ([]Diagnostic, error) {
	files, diags, err := scan(dir)
	if err != nil {
		return nil, err
	}
	var libs []string
	for _, f := range files {
		if f.lib {
			libs = append(libs, f.name)
		}
	}
	c := newChecker(dir, mods, libs)
	for _, f := range files {
		src, err := os.ReadFile(f.path)
		if err != nil {
			diags = append(diags, Diagnostic{Path: f.path, Msg: err.Error()})
			continue
		}
		// An event script's answer is ignored: its handler is checked as
		// a module's code is, without wanting an action.
		diags = append(diags, c.file(f.path, src, f.lib || f.event)...)
	}
	sortDiags(diags)
	return diags, nil
}

// script is a .lua file of the directory.
type script struct {
	path, name string
	lib, event bool
}

// scan lists the directory's scripts, skipping what luavm skips: hidden
// files and folders, the types/ folder of editor definitions
// (luavm.Skipped), files not ending in .lua. Whether a name is routable
// is the loader's to say; every .lua file is read here.
func scan(dir string) ([]script, []Diagnostic, error) {
	if _, err := os.ReadDir(dir); err != nil {
		return nil, nil, fmt.Errorf("scripts directory: %w", err)
	}
	var files []script
	var diags []Diagnostic
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			diags = append(diags, Diagnostic{Path: path, Msg: err.Error()})
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		if luavm.Skipped(filepath.ToSlash(rel), d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".lua") {
			return nil
		}
		name := strings.TrimSuffix(filepath.ToSlash(rel), ".lua")
		lib := strings.HasPrefix(name, "lib/")
		event := strings.HasPrefix(name, luavm.EventsDir+"/")
		files = append(files, script{path: path, name: strings.ReplaceAll(name, "/", "."), lib: lib, event: event})
		return nil
	})
	return files, diags, err
}

func sortDiags(diags []Diagnostic) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i], diags[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// file checks one script: its syntax first, since nothing else can be read
// without it.
func (c *checker) file(path string, src []byte, lib bool) []Diagnostic {
	chunk, d := parseChunk(path, src)
	if d != nil {
		return []Diagnostic{*d}
	}
	diags := newWalker(c, path).run(chunk, lib)
	if d := compileCheck(path, src); d != nil {
		diags = append(diags, *d)
	}
	return diags
}

func parseChunk(path string, src []byte) ([]ast.Stmt, *Diagnostic) {
	chunk, err := parse.Parse(bytes.NewReader(src), path)
	if err == nil {
		return chunk, nil
	}
	d := &Diagnostic{Path: path, Severity: Error, Msg: err.Error()}
	var pe *parse.Error
	if errors.As(err, &pe) {
		d.Line, d.Col, d.Msg = luavm.SyntaxError(src, pe)
	}
	return chunk, d
}

// compileCheck reports what parses but does not compile (a break outside a
// loop, a goto without its label), from a fresh parse: the compiler's
// reading is not promised to leave the tree as it found it.
func compileCheck(path string, src []byte) *Diagnostic {
	chunk, err := parse.Parse(bytes.NewReader(src), path)
	if err != nil {
		return nil
	}
	_, err = lua.Compile(chunk, path)
	if err == nil {
		return nil
	}
	d := &Diagnostic{Path: path, Severity: Error, Msg: err.Error()}
	var ce *lua.CompileError
	if errors.As(err, &ce) {
		d.Line, d.Msg = ce.Line, ce.Message
	}
	return d
}
