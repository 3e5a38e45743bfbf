package speech

import (
	"strings"
	"time"
)

// Russian reads numbers in the nominative with no joining word: тысяча is
// feminine (одна тысяча, две тысячи), and тысяча, миллион and миллиард take
// the form their count asks for (1, 2-4, 5-20: тысяча/тысячи/тысяч,
// миллион/миллиона/миллионов). A leading count of one is left unsaid
// (тысяча, миллион). A date is a neuter ordinal day, the month in the
// genitive and the year as a genitive ordinal: "четырнадцатое декабря две
// тысячи девятнадцатого года".
var russian = tongue{
	cardinal: ruCardinal,
	digits:   [10]string{"ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"},
	date:     ruDate,
	clock:    ruClock,
	dateTime: " ",
	list:     ", ",
}

// ruNoun is a noun counted by a number: its forms after 1, after 2-4 and
// after 5-20, and the words for 1 and 2 that agree with it.
type ruNoun struct {
	one, few, many   string
	oneWord, twoWord string
}

var (
	ruSmall = [20]string{"ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять",
		"десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать", "шестнадцать", "семнадцать", "восемнадцать", "девятнадцать"}
	ruTens     = [10]string{"", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят", "восемьдесят", "девяносто"}
	ruHundreds = [10]string{"", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот", "восемьсот", "девятьсот"}
	ruScales   = [5]ruNoun{{}, {"тысяча", "тысячи", "тысяч", "одна", "две"}, {"миллион", "миллиона", "миллионов", "один", "два"},
		{"миллиард", "миллиарда", "миллиардов", "один", "два"}, {"триллион", "триллиона", "триллионов", "один", "два"}}
	// After "в" a clock is in the accusative: "в час одну минуту".
	ruHours   = ruNoun{"час", "часа", "часов", "один", "два"}
	ruMinutes = ruNoun{"минуту", "минуты", "минут", "одну", "две"}

	// Ordinal stems; ruOrdinal adds the ending.
	ruOrdUnits     = [10]string{"нулев", "перв", "втор", "трет", "четвёрт", "пят", "шест", "седьм", "восьм", "девят"}
	ruOrdTeens     = [10]string{"десят", "одиннадцат", "двенадцат", "тринадцат", "четырнадцат", "пятнадцат", "шестнадцат", "семнадцат", "восемнадцат", "девятнадцат"}
	ruOrdTens      = [10]string{"", "", "двадцат", "тридцат", "сороков", "пятидесят", "шестидесят", "семидесят", "восьмидесят", "девяност"}
	ruOrdHundreds  = [10]string{"", "сот", "двухсот", "трёхсот", "четырёхсот", "пятисот", "шестисот", "семисот", "восьмисот", "девятисот"}
	ruOrdThousands = [10]string{"", "тысячн", "двухтысячн", "трёхтысячн", "четырёхтысячн", "пятитысячн", "шеститысячн", "семитысячн", "восьмитысячн", "девятитысячн"}

	ruMonths = [13]string{"", "января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}
)

func ruCardinal(n int64) string {
	if n == 0 {
		return ruSmall[0]
	}
	g := groups(n)
	var words []string
	for i := len(g) - 1; i > 0; i-- {
		switch {
		case g[i] == 0:
		case g[i] == 1 && len(words) == 0:
			words = append(words, ruScales[i].one)
		default:
			words = append(words, ruCount(g[i], ruScales[i])...)
		}
	}
	return strings.Join(append(words, ruBelow1000(g[0], "один", "два")...), " ")
}

// ruCount reads n (1-999) followed by noun in the form n asks for.
func ruCount(n int, noun ruNoun) []string {
	return append(ruBelow1000(n, noun.oneWord, noun.twoWord), ruForm(n, noun))
}

func ruForm(n int, noun ruNoun) string {
	switch {
	case n%100 >= 11 && n%100 <= 14:
		return noun.many
	case n%10 == 1:
		return noun.one
	case n%10 >= 2 && n%10 <= 4:
		return noun.few
	}
	return noun.many
}

// ruBelow1000 reads n (0-999), with one and two for the 1 and 2 that
// agree with what n counts.
func ruBelow1000(n int, one, two string) []string {
	var w []string
	if h := n / 100; h > 0 {
		w = append(w, ruHundreds[h])
	}
	r := n % 100
	if r >= 20 {
		w = append(w, ruTens[r/10])
		r %= 10
	}
	switch r {
	case 0:
	case 1:
		w = append(w, one)
	case 2:
		w = append(w, two)
	default:
		w = append(w, ruSmall[r])
	}
	return w
}

// ruOrdinal reads n (0-9999) as an ordinal: only the last word is ordinal,
// "две тысячи девятнадцатый". genitive picks the masculine genitive
// (девятнадцатого), else the neuter nominative (девятнадцатое).
func ruOrdinal(n int, genitive bool) string {
	var head, stem string
	th, h, r := n/1000, n/100%10, n%100
	switch {
	case r > 0:
		if n > r {
			head = ruCardinal(int64(n - r))
		}
		switch {
		case r < 10:
			stem = ruOrdUnits[r]
		case r < 20:
			stem = ruOrdTeens[r-10]
		case r%10 == 0:
			stem = ruOrdTens[r/10]
		default:
			head = strings.TrimSpace(head + " " + ruTens[r/10])
			stem = ruOrdUnits[r%10]
		}
	case h > 0:
		head, stem = ruCardinal(int64(th*1000)), ruOrdHundreds[h]
	case th > 0:
		stem = ruOrdThousands[th]
	default:
		stem = ruOrdUnits[0]
	}
	word := stem + ruOrdEnding(stem, genitive)
	if head == "" {
		return word
	}
	return head + " " + word
}

// ruOrdEnding: третий is soft (третье, третьего); every other ordinal here
// is hard (-ое, -ого).
func ruOrdEnding(stem string, genitive bool) string {
	switch {
	case stem == "трет" && genitive:
		return "ьего"
	case stem == "трет":
		return "ье"
	case genitive:
		return "ого"
	}
	return "ое"
}

func ruDate(t time.Time) string {
	return ruOrdinal(t.Day(), false) + " " + ruMonths[t.Month()] + " " + ruOrdinal(t.Year(), true) + " года"
}

// ruClock reads a 24-hour clock: "в десять часов двенадцать минут",
// "в ноль часов", "в двадцать один час одну минуту".
func ruClock(hour, minute int) string {
	s := "в " + ruCount0(hour, ruHours)
	if minute == 0 {
		return s
	}
	return s + " " + ruCount0(minute, ruMinutes)
}

func ruCount0(n int, noun ruNoun) string {
	if n == 0 {
		return ruSmall[0] + " " + noun.many
	}
	return strings.Join(ruCount(n, noun), " ")
}
