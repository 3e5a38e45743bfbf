package luavm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	pathpkg "path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// Script is one compiled file of the scripts directory.
type Script struct {
	// Name is how the script is routed or required: "identify" (POST
	// /identify), "default", "layers/5", or "lib.crm" for a module.
	Name string
	// Path is the file, as messages name it.
	Path string
	// Layer is the layer a layers/N.lua script answers, when IsLayer.
	Layer   int
	IsLayer bool
	// Fallback is the layer to answer when the script fails, when
	// HasFallback; from the script's returned table.
	Fallback    int
	HasFallback bool
	// Deadline is the script's own deadline, or 0 for the default.
	Deadline time.Duration

	lib   bool
	event bool
	index int
	proto *lua.FunctionProto
	calm  atomic.Int32 // calls in a row that ended well, up to TrustAfter (Options.Inline)
}

// TrustAfter is how many calls in a row must end well (no error, within
// PrivateMemory) before a script's calls run inline (Options.Inline).
const TrustAfter = 8

// trusted reports whether sc's calls may run inline.
func (sc *Script) trusted() bool { return sc.calm.Load() >= TrustAfter }

// settle counts how a call of sc ended: one that ended well adds to its
// run of calm calls, any other starts the run again.
func (sc *Script) settle(err error, mem int) {
	if err != nil || mem > PrivateMemory {
		sc.calm.Store(0)
		return
	}
	if sc.calm.Load() < TrustAfter {
		sc.calm.Add(1)
	}
}

// IsLib reports whether sc is a lib/ module, which scripts require and
// no call is routed to.
func (sc *Script) IsLib() bool { return sc.lib }

// IsEvent reports whether sc is an events/ script: it receives what
// Voicenter reports after a call (events/cdr.lua, each CDR), never a call
// to answer, so its return value is ignored.
func (sc *Script) IsEvent() bool { return sc.event }

// EventsDir is the folder of event scripts; their names are "events/NAME",
// which no HTTP route can reach (a route's name has no slash).
const EventsDir = "events"

const maxScriptBytes = 1 << 20

var (
	routeName  = regexp.MustCompile(`^[a-z0-9_-]+$`)
	moduleName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// ValidName reports whether name can be a named route (POST /name).
func ValidName(name string) bool { return len(name) <= 64 && routeName.MatchString(name) }

// TypesDir is the folder of a scripts directory that holds editor type
// definitions: LuaLS "---@meta" files describing ivr, the Go modules and
// the call table (scripts/types/). They are for the editor only, never
// code: ivrouter does not load, route, check or test what the folder holds.
const TypesDir = "types"

// Skipped reports whether the scripts loader, ivrouter check and ivrouter
// test pass over the entry at rel, a slash-separated path relative to the
// scripts directory: hidden files and folders (.git, .luarc.json), and the
// top-level TypesDir folder, whole. Anything else ending in .lua is a
// script, and one outside the layout is an error.
func Skipped(rel string, isDir bool) bool {
	if rel == "" || rel == "." {
		return false
	}
	if strings.HasPrefix(pathpkg.Base(rel), ".") {
		return true
	}
	return isDir && rel == TypesDir
}

// compileDir finds and compiles every script of dir. The layout is the
// routing table: NAME.lua, layers/N.lua, events/NAME.lua and
// lib/**/NAME.lua; what Skipped
// names (hidden files, types/) is passed over.
func compileDir(dir string) ([]*Script, string, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, "", fmt.Errorf("scripts directory: %w", err)
	} else if !st.IsDir() {
		return nil, "", fmt.Errorf("scripts directory: %s is not a directory", dir)
	}
	var scripts []*Script
	var errs []error
	sum := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		if Skipped(filepath.ToSlash(rel), d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && strings.HasPrefix(filepath.ToSlash(rel), "calendars/") {
			hashData(sum, path, rel, d)
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".lua") {
			return nil
		}
		s, err := classify(filepath.ToSlash(rel), path)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		src, err := os.ReadFile(path)
		if err == nil && len(src) > maxScriptBytes {
			err = fmt.Errorf("%s: script is over %d bytes", path, maxScriptBytes)
		}
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		fmt.Fprintf(sum, "%s\x00%d\x00", rel, len(src))
		sum.Write(src)
		if s.proto, err = compile(src, path); err != nil {
			errs = append(errs, err)
			return nil
		}
		scripts = append(scripts, s)
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	sort.Slice(scripts, func(i, j int) bool { return scripts[i].Path < scripts[j].Path })
	for i, s := range scripts {
		s.index = i
	}
	return scripts, hex.EncodeToString(sum.Sum(nil))[:12], errors.Join(errs...)
}

// maxDataBytes bounds a data file hashed into the version; a larger one
// is hashed by name and size, and its module says what is wrong with it.
const maxDataBytes = 4 << 20

// hashData adds a data file a module loads (Module.Load: calendars/) to
// the version. Only regular files are read, and only up to maxDataBytes,
// so a FIFO or a huge file cannot hold or swell a load.
func hashData(sum io.Writer, path, rel string, d fs.DirEntry) {
	info, err := d.Info()
	if err != nil || !info.Mode().IsRegular() {
		return
	}
	fmt.Fprintf(sum, "%s\x00%d\x00", rel, info.Size())
	if info.Size() > maxDataBytes {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = io.Copy(sum, io.LimitReader(f, maxDataBytes))
}

// classify names a script by where it sits in the scripts directory.
func classify(rel, path string) (*Script, error) {
	base := strings.TrimSuffix(rel, ".lua")
	parts := strings.Split(base, "/")
	switch {
	case len(parts) == 1:
		if !ValidName(base) {
			return nil, fmt.Errorf("%s: a route script's name must match [a-z0-9_-]+ (it becomes POST /NAME)", path)
		}
		return &Script{Name: base, Path: path}, nil
	case parts[0] == "layers" && len(parts) == 2:
		n, ok := parseLayer(parts[1])
		if !ok {
			return nil, fmt.Errorf("%s: a layer script is named by its layer number, like layers/5.lua", path)
		}
		return &Script{Name: base, Path: path, Layer: n, IsLayer: true}, nil
	case parts[0] == EventsDir && len(parts) == 2:
		if !ValidName(parts[1]) {
			return nil, fmt.Errorf("%s: an event script's name must match [a-z0-9_-]+, like events/cdr.lua", path)
		}
		return &Script{Name: base, Path: path, event: true}, nil
	case parts[0] == "lib":
		for _, p := range parts[1:] {
			if !moduleName.MatchString(p) {
				return nil, fmt.Errorf("%s: module path parts must match [A-Za-z0-9_-]+", path)
			}
		}
		return &Script{Name: strings.Join(parts, "."), Path: path, lib: true}, nil
	}
	return nil, fmt.Errorf("%s: not routable: scripts live at the top level (POST /NAME), in layers/ (by LAYER_ID), in events/ (events/cdr.lua) or in lib/ (modules)", path)
}

func parseLayer(s string) (int, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && n <= 1<<31-1
}

// compile parses and compiles src once; every VM shares the proto.
func compile(src []byte, path string) (*lua.FunctionProto, error) {
	chunk, err := parse.Parse(bytes.NewReader(src), path)
	if err != nil {
		var pe *parse.Error
		if errors.As(err, &pe) {
			line, col, msg := SyntaxError(src, pe)
			if col == 0 {
				return nil, fmt.Errorf("%s:%d: %s", path, line, msg)
			}
			return nil, fmt.Errorf("%s:%d:%d: %s", path, line, col, msg)
		}
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	proto, err := lua.Compile(chunk, path)
	if err != nil {
		var ce *lua.CompileError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("%s:%d: %s", path, ce.Line, ce.Message)
		}
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return proto, nil
}

// SyntaxError places a parse error of src and says it in words: one found
// at the end of the file (an unclosed function) is shown on its last line,
// not gopher-lua's line -1.
func SyntaxError(src []byte, pe *parse.Error) (line, col int, msg string) {
	if pe.Pos.Line == parse.EOF {
		return bytes.Count(bytes.TrimRight(src, "\n"), []byte("\n")) + 1, 0, pe.Message + " at the end of the file"
	}
	return pe.Pos.Line, pe.Pos.Column, fmt.Sprintf("%s near %q", pe.Message, pe.Token)
}

// returnLine is the line of the chunk's last return with values, where a
// contract error is best reported.
func returnLine(p *lua.FunctionProto) int {
	line := 0
	for i, inst := range p.Code {
		if int(inst>>26) == lua.OP_RETURN && inst&0x1ff != 1 && i < len(p.DbgSourcePositions) {
			line = p.DbgSourcePositions[i]
		}
	}
	if line == 0 && len(p.DbgSourcePositions) > 0 {
		line = p.DbgSourcePositions[len(p.DbgSourcePositions)-1]
	}
	return line
}

// settings are what a script's returned table says besides its handler.
type settings struct {
	fallback    int
	hasFallback bool
	deadline    time.Duration
}

// contract reads what a script's top level returned: a handler, or a table
// {handle = fn, fallback = layer, deadline = ms}.
func contract(s *Script, ret lua.LValue) (*lua.LFunction, settings, error) {
	var set settings
	fail := func(format string, args ...any) (*lua.LFunction, settings, error) {
		return nil, set, fmt.Errorf("%s:%d: %s", s.Path, returnLine(s.proto), fmt.Sprintf(format, args...))
	}
	switch v := ret.(type) {
	case *lua.LFunction:
		return v, set, nil
	case *lua.LTable:
		var handle *lua.LFunction
		var problem string
		v.ForEach(func(k, val lua.LValue) {
			if problem != "" {
				return
			}
			switch k.String() {
			case "handle":
				fn, ok := val.(*lua.LFunction)
				if !ok {
					problem = "handle must be a function, got " + val.Type().String()
				}
				handle = fn
			case "fallback":
				n, ok := val.(lua.LNumber)
				if !ok || n < 0 || n > 1<<31-1 || float64(n) != float64(int(n)) {
					problem = "fallback must be a layer number, got " + val.String()
					return
				}
				set.fallback, set.hasFallback = int(n), true
			case "deadline":
				n, ok := val.(lua.LNumber)
				d := time.Duration(float64(n) * float64(time.Millisecond))
				if !ok || n <= 0 || float64(n) != float64(int(n)) || d >= MaxDeadline {
					// Voicenter has given up by 5 s: an answer due then is late.
					problem = fmt.Sprintf("deadline must be whole milliseconds from 1 to %d (Voicenter waits %v), got %s", MaxDeadline.Milliseconds()-1, MaxDeadline, val.String())
					return
				}
				set.deadline = d
			default:
				problem = fmt.Sprintf("unknown key %q in the returned table (keys: handle, fallback, deadline)", k.String())
			}
		})
		if problem != "" {
			return fail("%s", problem)
		}
		if handle == nil {
			return fail("the returned table has no handle function")
		}
		return handle, set, nil
	}
	return fail("script must return a handler function or a table {handle = function(call) ... end}, got %s", ret.Type().String())
}
