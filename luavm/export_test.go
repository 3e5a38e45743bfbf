package luavm

// StuckVMs is how many of s's workers are still inside a call they were
// abandoned in: it falls back to 0 only once those calls really return.
func StuckVMs(s *Set) int32 { return s.stuck.Load() }
