package luavm

import "slices"

// Globals returns the names every script's globals start with (sandbox
// builds them), Go modules aside: ivrouter check reads a script's unknown
// globals against this list, so the list and the sandbox cannot differ.
func Globals() []string {
	return append(slices.Clone(baseNames), "rawset", "print", "require", "string", "table", "math", "_G")
}
