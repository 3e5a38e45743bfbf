package luavm

import (
	"errors"
	"fmt"

	lua "github.com/yuin/gopher-lua"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Set is one loaded generation of a scripts directory: its compiled scripts
// and the pool of VMs that run them. A reload builds a new Set and retires
// the old one once it is swapped out.
type Set struct {
	opts    Options
	dir     string
	version string
	scripts []*Script
	named   map[string]*Script
	layers  map[int]*Script
	libs    map[string]*Script
	def     *Script
	loaders []lua.LGFunction // by module, this load's (Module.Load)

	jobs    chan *job
	idle    chan *vm              // Options.Inline: the VMs free for a call
	running []atomic.Pointer[job] // Options.Inline: each VM slot's call, for Engine.Close
	quit    chan struct{}
	retire  sync.Once
	stuck   atomic.Int32 // workers abandoned mid-call, still running
	workers sync.WaitGroup
}

// Build compiles every script of dir, loads each in a fresh VM to check its
// contract, and starts the VM pool. It fails, listing every problem as
// "file:line: message", if any script does not compile, load or return a
// handler.
func Build(dir string, opts Options) (*Set, error) {
	opts = opts.withDefaults()
	scripts, version, err := compileDir(dir)
	loaders, lerr := loadModules(dir, opts.Modules)
	if err := errors.Join(err, lerr); err != nil {
		return nil, err
	}
	s := &Set{
		opts: opts, dir: dir, version: version, scripts: scripts, loaders: loaders,
		named: map[string]*Script{}, layers: map[int]*Script{}, libs: map[string]*Script{},
		jobs: make(chan *job), quit: make(chan struct{}),
	}
	if opts.Inline {
		s.idle = make(chan *vm, opts.VMs)
		s.running = make([]atomic.Pointer[job], opts.VMs)
	}
	for _, sc := range scripts {
		switch {
		case sc.lib:
			s.libs[sc.Name] = sc
		case sc.IsLayer:
			s.layers[sc.Layer] = sc
		default:
			s.named[sc.Name] = sc
		}
	}
	s.def = s.named["default"]
	if len(s.named)+len(s.layers)-s.countEvents() == 0 {
		// A directory emptied by a bad deploy would answer every call
		// with the fallback: refuse it like a broken script.
		return nil, fmt.Errorf("%s: no route scripts (NAME.lua, layers/N.lua or default.lua): refusing to answer every call with the fallback", dir)
	}
	first := newVM(s)
	first.validating = true
	err = first.preload(scripts, opts.LoadTimeout)
	first.validating = false
	if err != nil {
		first.close()
		return nil, err
	}
	for _, sc := range scripts {
		if sc.Deadline >= WarnDeadline {
			opts.Logger.Warn("script deadline leaves little slack before Voicenter's 5 s limit", "script", sc.Path, "deadline", sc.Deadline)
		}
	}
	s.start(first)
	return s, nil
}

// countEvents counts the events/ scripts, which are named but answer no
// route.
func (s *Set) countEvents() int {
	n := 0
	for _, sc := range s.scripts {
		if sc.event {
			n++
		}
	}
	return n
}

// loadModules runs each module's Load for this load of dir.
func loadModules(dir string, mods []Module) ([]lua.LGFunction, error) {
	loaders := make([]lua.LGFunction, len(mods))
	var errs []error
	for i, m := range mods {
		loaders[i] = m.Loader
		if m.Load == nil {
			continue
		}
		l, err := m.Load(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		loaders[i] = l
	}
	return loaders, errors.Join(errs...)
}

// start runs one worker per VM. The first, which validated the scripts,
// serves at once; the others load every script on their own goroutines and
// join as they are ready. A reload or start then waits for one VM's load,
// not one per VM, and no call waits for a script to load.
func (s *Set) start(first *vm) {
	if s.opts.Inline {
		s.idle <- first
		for i := 1; i < s.opts.VMs; i++ {
			s.workers.Add(1)
			go func() {
				defer s.workers.Done()
				s.refill(i)
			}()
		}
		return
	}
	s.spawn(first)
	for i := 1; i < s.opts.VMs; i++ {
		s.spawn(nil)
	}
}

// spawn starts a worker on v, or on a new VM when v is nil.
func (s *Set) spawn(v *vm) {
	s.workers.Add(1)
	go s.worker(v)
}

// Version identifies the scripts' contents.
func (s *Set) Version() string { return s.version }

// Dir is the scripts directory the set was built from.
func (s *Set) Dir() string { return s.dir }

// Scripts lists the set's scripts, modules included, by path.
func (s *Set) Scripts() []*Script { return append([]*Script(nil), s.scripts...) }

// Lookup finds the script for a route: the script called name, or when name
// is empty the script of layer, else "default". It returns nil if none.
// An event script is found by its name, "events/cdr".
func (s *Set) Lookup(name string, layer int) *Script {
	if name != "" {
		return s.named[name]
	}
	if sc := s.layers[layer]; sc != nil {
		return sc
	}
	return s.def
}

// DeadlineOf is the deadline a call of sc gets.
func (s *Set) DeadlineOf(sc *Script) time.Duration {
	if sc.Deadline > 0 {
		return sc.Deadline
	}
	return s.opts.Deadline
}

func (s *Set) moduleNames() string {
	names := make([]string, 0, len(s.opts.Modules))
	for _, m := range s.opts.Modules {
		names = append(names, m.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Close retires the set: workers finish the call they run and stop, and
// calls still waiting for a VM move to the set that replaced it.
func (s *Set) Close() {
	s.retire.Do(func() {
		close(s.quit)
		s.drainIdle()
	})
}

// Wait blocks until every worker of a closed set has stopped; a worker
// stuck in a long Go call stops when that call returns.
func (s *Set) Wait() { s.workers.Wait() }

func joinErrors(errs []error) error { return errors.Join(errs...) }
