package lint

import (
	"sort"
	"strings"

	"github.com/ivrouter/ivrouter/luavm"
	lua "github.com/yuin/gopher-lua"
)

// module is what the checker knows of a Go module.
type module struct {
	name   string
	global bool // also bound to the global of its name
	// members are the keys of the module's table; nil when the table could
	// not be built or may answer more keys than it holds (a metatable), so
	// no name is reported unknown.
	members map[string]bool
	sigs    map[string]luavm.Signature
	// actions: the module declares which of its functions build an
	// action, so a value of any other is certainly not one.
	actions bool
}

// checker holds what every file of a directory is checked against.
type checker struct {
	mods    map[string]*module
	modList string // for messages
	globals map[string]bool
	libs    map[string]bool
	// actionNames name the action builders, for messages.
	actionNames string
}

func newChecker(dir string, mods []luavm.Module, libs []string) *checker {
	c := &checker{mods: map[string]*module{}, globals: map[string]bool{}, libs: map[string]bool{}}
	for _, name := range luavm.Globals() {
		c.globals[name] = true
	}
	var names, actions []string
	for _, m := range mods {
		c.mods[m.Name] = newModule(dir, m)
		names = append(names, m.Name)
		for fn, sig := range m.Signatures {
			if sig.Action {
				actions = append(actions, m.Name+"."+fn)
			}
		}
	}
	for _, l := range libs {
		c.libs[l] = true
	}
	sort.Strings(names)
	sort.Strings(actions)
	c.modList = strings.Join(names, ", ")
	c.actionNames = orList(actions)
	return c
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func newModule(dir string, m luavm.Module) *module {
	mod := &module{name: m.Name, global: m.Global, sigs: m.Signatures, members: members(dir, m)}
	for _, sig := range m.Signatures {
		mod.actions = mod.actions || sig.Action
	}
	return mod
}

// members builds the module's table the way a VM does, in a scratch state,
// and lists its keys: any embedder's module is checked without a list of
// its functions written by hand.
func members(dir string, m luavm.Module) (keys map[string]bool) {
	loader := m.Loader
	if m.Load != nil {
		l, err := m.Load(dir)
		if err != nil {
			return nil // the load of the directory reports it
		}
		loader = l
	}
	if loader == nil {
		return nil
	}
	defer func() {
		if recover() != nil {
			keys = nil
		}
	}()
	L := lua.NewState()
	defer L.Close()
	L.Push(L.NewFunction(loader))
	if err := L.PCall(0, 1, nil); err != nil {
		return nil
	}
	t, ok := L.Get(-1).(*lua.LTable)
	if !ok || t.Metatable != lua.LNil {
		return nil
	}
	keys = map[string]bool{}
	t.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); ok {
			keys[string(s)] = true
		}
	})
	return keys
}

// memberNames lists a module's keys, for messages.
func (m *module) memberNames() []string {
	var names []string
	for k := range m.members {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
