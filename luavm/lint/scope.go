package lint

// varKey names one variable: a local by the node that declares it and its
// place there, a global by its name alone. The keys of one file are the
// same in both passes, since they come from the tree, not from the walk.
type varKey struct {
	decl any // *ast.LocalAssignStmt, *ast.FunctionExpr, ...; nil for a global
	i    int
	name string
}

func (k varKey) global() bool { return k.decl == nil }

// value is what one assignment gives a variable, as far as module checks
// care: a Go module required by name, another variable's value, or
// anything else (the zero value).
type value struct {
	mod   string
	req   bool // mod came from require(), which a script could replace
	alias *varKey
}

// scope is a block's locals. Lua resolves names lexically, so a name not
// found in the chain is a global.
type scope struct {
	parent *scope
	vars   map[string]varKey
}

func (s *scope) child() *scope { return &scope{parent: s} }

func (s *scope) declare(name string, k varKey) {
	if s.vars == nil {
		s.vars = map[string]varKey{}
	}
	s.vars[name] = k
}

func (s *scope) lookup(name string) varKey {
	for sc := s; sc != nil; sc = sc.parent {
		if k, ok := sc.vars[name]; ok {
			return k
		}
	}
	return varKey{name: name}
}

// names are the locals visible here, for suggestions.
func (s *scope) names() []string {
	var names []string
	for sc := s; sc != nil; sc = sc.parent {
		for name := range sc.vars {
			names = append(names, name)
		}
	}
	return names
}
