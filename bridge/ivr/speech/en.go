package speech

import (
	"strings"
	"time"
)

// English is British: "and" before the tens and units after a hundred or a
// larger group ("one hundred and twelve", "one thousand and one"), hyphens
// in 21-99, the short scale, and dates day first ("the fourteenth of
// December, two thousand and nineteen").
var english = tongue{
	cardinal: enCardinal,
	digits:   [10]string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"},
	date:     enDate,
	clock:    enClock,
	dateTime: ", ",
	list:     ", ",
}

var (
	enSmall = [20]string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
		"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	enTens          = [10]string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
	enScales        = [5]string{"", "thousand", "million", "billion", "trillion"}
	enSmallOrdinals = [20]string{"", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
		"tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth"}
	enTensOrdinals = [10]string{"", "", "twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth", "seventieth", "eightieth", "ninetieth"}
)

func enCardinal(n int64) string {
	if n == 0 {
		return enSmall[0]
	}
	g := groups(n)
	var parts []string
	for i := len(g) - 1; i >= 0; i-- {
		switch {
		case g[i] == 0:
		case i > 0:
			parts = append(parts, enBelow1000(g[i])+" "+enScales[i])
		case g[i] < 100 && len(parts) > 0:
			parts = append(parts, "and "+enBelow100(g[i]))
		default:
			parts = append(parts, enBelow1000(g[i]))
		}
	}
	return strings.Join(parts, " ")
}

func enBelow1000(n int) string {
	h, r := n/100, n%100
	switch {
	case h == 0:
		return enBelow100(r)
	case r == 0:
		return enSmall[h] + " hundred"
	}
	return enSmall[h] + " hundred and " + enBelow100(r)
}

func enBelow100(n int) string {
	if n < 20 {
		return enSmall[n]
	}
	if n%10 == 0 {
		return enTens[n/10]
	}
	return enTens[n/10] + "-" + enSmall[n%10]
}

func enOrdinal(n int) string { // 1..99
	switch {
	case n < 20:
		return enSmallOrdinals[n]
	case n%10 == 0:
		return enTensOrdinals[n/10]
	}
	return enTens[n/10] + "-" + enSmallOrdinals[n%10]
}

func enDate(t time.Time) string {
	return "the " + enOrdinal(t.Day()) + " of " + t.Month().String() + ", " + enYear(t.Year())
}

// enYear reads 2000-2099, whole thousands and years before 1000 as
// cardinals, "two thousand and nineteen"; other years in pairs, "nineteen
// ninety-nine", "nineteen oh eight", "seventeen hundred", "ten sixty-six".
func enYear(y int) string {
	hi, lo := y/100, y%100
	if hi == 20 || y < 1000 || y%1000 == 0 {
		return enCardinal(int64(y))
	}
	switch {
	case lo == 0:
		return enBelow100(hi) + " hundred"
	case lo < 10:
		return enBelow100(hi) + " oh " + enSmall[lo]
	}
	return enBelow100(hi) + " " + enBelow100(lo)
}

// enClock reads a 12-hour clock: "at ten a.m.", "at two oh five p.m.",
// "at ten twelve a.m.".
func enClock(hour, minute int) string {
	h, suffix := hour%12, " a.m."
	if h == 0 {
		h = 12
	}
	if hour >= 12 {
		suffix = " p.m."
	}
	s := "at " + enSmall[h]
	switch {
	case minute == 0:
	case minute < 10:
		s += " oh " + enSmall[minute]
	default:
		s += " " + enBelow100(minute)
	}
	return s + suffix
}
