//go:build !race

package server

// raceSlack is what the race detector adds to timing bounds.
const raceSlack = 0
