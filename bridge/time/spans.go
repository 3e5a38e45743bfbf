package time

import (
	"slices"
	"sort"
)

// interval is one occurrence of an event: [start, end) in unix seconds
// or, for wall-clock events, civil seconds.
type interval struct {
	start, end int64
	ev         int32 // index into the calendar's events
}

// spans is a set of intervals, sorted by start, that answers "what is in
// progress at t" by binary search. maxEnd[i] is the latest end among the
// first i+1 intervals, so a search walking back from t can stop as soon as
// nothing before can still be running, however the intervals overlap.
type spans struct {
	list   []interval
	maxEnd []int64
}

func newSpans(list []interval) *spans {
	list = slices.Clone(list)
	slices.SortFunc(list, func(a, b interval) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return int(a.ev - b.ev)
	})
	s := &spans{list: list, maxEnd: make([]int64, len(list))}
	var m int64
	for i, iv := range list {
		if i == 0 || iv.end > m {
			m = iv.end
		}
		s.maxEnd[i] = m
	}
	return s
}

// overlapping calls f, latest start first, for each interval that overlaps
// [lo, hi), until f returns false.
func (s *spans) overlapping(lo, hi int64, f func(interval) bool) {
	i := sort.Search(len(s.list), func(i int) bool { return s.list[i].start >= hi }) - 1
	for ; i >= 0 && s.maxEnd[i] > lo; i-- {
		if iv := s.list[i]; iv.end > lo && iv.end > iv.start && !f(iv) {
			return
		}
	}
}

// at returns the interval in progress at u that started last.
func (s *spans) at(u int64) (interval, bool) {
	var found interval
	ok := false
	s.overlapping(u, u+1, func(iv interval) bool {
		found, ok = iv, true
		return false
	})
	return found, ok
}

// until returns the latest end among the intervals in progress at u.
func (s *spans) until(u int64) (int64, bool) {
	end, ok := u, false
	s.overlapping(u, u+1, func(iv interval) bool {
		end, ok = max(end, iv.end), true
		return true
	})
	return end, ok
}

// firstStart returns the earliest start in [lo, hi).
func (s *spans) firstStart(lo, hi int64) (int64, bool) {
	i := sort.Search(len(s.list), func(i int) bool { return s.list[i].start >= lo })
	for ; i < len(s.list) && s.list[i].start < hi; i++ {
		if s.list[i].end > s.list[i].start {
			return s.list[i].start, true
		}
	}
	return 0, false
}
