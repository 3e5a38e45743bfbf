// Package scripttest runs script tests: the *.test.yaml (or *.test.yml)
// files of a scripts directory, each case a call answered by the real
// server (or a CDR its events script runs on), with its clock frozen, its
// HTTP requests stubbed and its cache and state seeded, and its answer,
// outcome, log lines and requests compared with what the case expects. It is `ivrouter test`; README.md
// describes the file format.
package scripttest

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ivrouter/ivrouter/luavm"
	"github.com/ivrouter/ivrouter/server"
)

// Options tune a run.
type Options struct {
	// Run, when set, selects the cases whose "file/case name" it matches,
	// file being the test file's path relative to the scripts directory
	// (id-entry.test.yaml/a known ID goes to layer 12), as go test -run.
	Run *regexp.Regexp
	// Verbose keeps every case's steps, log lines and requests in
	// Result.Output, passing ones too; otherwise only failures carry them.
	Verbose bool
	// Parallel bounds the cases run at once; 0 is GOMAXPROCS.
	Parallel int
}

// Suffix names test files; AltSuffix too. Either matches in any case
// (x.test.YAML): a test file that is not found is a test that never runs,
// and a CI that stays green.
const (
	Suffix    = ".test.yaml"
	AltSuffix = ".test.yml"
)

// isTestFile reports whether name is a test file's.
func isTestFile(name string) bool {
	lower := strings.ToLower(name)
	return strings.HasSuffix(lower, Suffix) || strings.HasSuffix(lower, AltSuffix)
}

// Run runs the test files under dir (hidden directories skipped) against
// the scripts of dir, each case on a server.New of its own built from
// base: base carries the serve settings that shape answers (fallback
// layer, language, deadline, allowed hosts, Go modules of an embedder),
// while the runner sets the scripts directory, one VM, the clock, the HTTP
// transport, the stores, the script environment and the logs. Results are
// in file order, cases in the order written, whatever order they ran in.
//
// A test file that cannot be read or parsed is one failed Result naming
// its file:line; the other files still run. The error is for a directory
// that cannot be walked, or ctx ending (cases not run by then fail).
func Run(ctx context.Context, dir string, base server.Config, o Options) (*Report, error) {
	paths, err := findFiles(dir)
	if err != nil {
		return nil, err
	}
	rep := &Report{Files: len(paths)}
	var jobs []job
	for _, p := range paths {
		f, err := readFile(p, relPath(dir, p))
		if err != nil {
			rep.Results = append(rep.Results, fileFailure(p, err))
			continue
		}
		for _, c := range f.cases {
			if o.Run != nil && !o.Run.MatchString(f.rel+"/"+c.name) {
				continue
			}
			jobs = append(jobs, job{index: len(rep.Results), file: f, c: c})
			rep.Results = append(rep.Results, Result{File: f.path, Line: c.line, Name: c.name, Failure: "not run: the run was stopped first"})
		}
	}
	workers := o.Parallel
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	parallel(ctx, len(jobs), workers, func(i int) {
		j := jobs[i]
		rep.Results[j.index] = runCase(base, dir, j.file, j.c, o.Verbose)
	})
	dedupeLoadErrors(rep.Results)
	return rep, ctx.Err()
}

type job struct {
	index int
	file  *testFile
	c     *testCase
}

// findFiles lists the test files under dir in lexical order, skipping
// hidden directories and files and types/ as the scripts loader does
// (luavm.Skipped).
func findFiles(dir string) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(dir, path); luavm.Skipped(filepath.ToSlash(rel), d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && isTestFile(d.Name()) {
			paths = append(paths, path)
		}
		return nil
	})
	return paths, err
}

func relPath(dir, path string) string {
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}

// parallel calls f(0..n-1) on at most workers goroutines; once ctx ends
// no more calls start.
func parallel(ctx context.Context, n, workers int, f func(i int)) {
	var wg sync.WaitGroup
	var next atomic.Int64
	for range min(workers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// dedupeLoadErrors keeps the first case's copy of a scripts directory
// that does not load and points the others to it: one broken script
// would otherwise print its error once per case.
func dedupeLoadErrors(results []Result) {
	first := map[string]string{}
	for i := range results {
		r := &results[i]
		if !r.loadErr {
			continue
		}
		if at, ok := first[r.Failure]; ok {
			r.Failure = "the scripts do not load: see " + at
			continue
		}
		first[r.Failure] = fmt.Sprintf("%s:%d", r.File, r.Line)
	}
}
