//go:build race

package server

import "time"

// raceSlack is what the race detector adds to timing bounds.
const raceSlack = time.Second
