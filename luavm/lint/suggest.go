package lint

import "sort"

// Closest is the candidate a misspelled name most likely meant, or "" when
// none is near enough to be worth suggesting. check uses it for module
// functions and options, the command line for flags.
func Closest(name string, candidates []string) string {
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted) // ties go to the same candidate every run
	best, bestD := "", maxDistance(name)+1
	for _, c := range sorted {
		if c == name {
			continue
		}
		if d := distance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// maxDistance grows with the name, so a short name is not "corrected" to
// an unrelated one.
func maxDistance(name string) int {
	return max(1, min(3, len(name)/3))
}

// distance is the optimal string alignment distance: edits, counting a
// swap of two neighbours as one, the commonest typo (caller_nmae).
func distance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
