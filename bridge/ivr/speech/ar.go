package speech

import (
	"strings"
	"time"
)

// Arabic reads a bare number as a masculine nominative cardinal, units
// before tens and every part joined by "و" ("مائة واثنا عشر", "واحد
// وعشرون"). The counted ألف/مليون/مليار follows the numbered-noun rules:
// singular after 1, dual after 2 (ألفان), genitive plural after 3-10
// (ثلاثة آلاف), accusative singular after 11-99 (أحد عشر ألفًا), genitive
// singular after a round hundred (مائة ألف, مائتا ألف). A count ending in
// 01 or 02 above 100 is said unambiguously: 101000 is "مائة ألف وألف".
// Hundreds are spelled مائة and joined (ثلاثمائة). A date is the day as a
// masculine ordinal and the year as a genitive after عام: "الرابع عشر من
// ديسمبر عام ألفين وتسعة عشر".
var arabic = tongue{
	cardinal: arCardinal,
	digits:   [10]string{"صفر", "واحد", "اثنان", "ثلاثة", "أربعة", "خمسة", "ستة", "سبعة", "ثمانية", "تسعة"},
	date:     arDate,
	clock:    arClock,
	dateTime: " ",
	list:     "، ",
}

// arNoun is a counted scale word: singular, dual, plural and accusative
// singular (after 11-99).
type arNoun struct{ one, two, plural, accusative string }

var (
	arSmall = [20]string{"صفر", "واحد", "اثنان", "ثلاثة", "أربعة", "خمسة", "ستة", "سبعة", "ثمانية", "تسعة",
		"عشرة", "أحد عشر", "اثنا عشر", "ثلاثة عشر", "أربعة عشر", "خمسة عشر", "ستة عشر", "سبعة عشر", "ثمانية عشر", "تسعة عشر"}
	arTens     = [10]string{"", "", "عشرون", "ثلاثون", "أربعون", "خمسون", "ستون", "سبعون", "ثمانون", "تسعون"}
	arHundreds = [10]string{"", "مائة", "مائتان", "ثلاثمائة", "أربعمائة", "خمسمائة", "ستمائة", "سبعمائة", "ثمانمائة", "تسعمائة"}
	arScales   = [5]arNoun{{}, {"ألف", "ألفان", "آلاف", "ألفًا"}, {"مليون", "مليونان", "ملايين", "مليونًا"},
		{"مليار", "ملياران", "مليارات", "مليارًا"}, {"تريليون", "تريليونان", "تريليونات", "تريليونًا"}}

	// Feminine counts, for دقيقة: 8 is ثماني before its noun and in 18,
	// ثمان in 28; 1 is إحدى in 11 and 21.
	arFeminine = [20]string{"", "واحدة", "اثنتان", "ثلاث", "أربع", "خمس", "ست", "سبع", "ثماني", "تسع",
		"عشر", "إحدى عشرة", "اثنتا عشرة", "ثلاث عشرة", "أربع عشرة", "خمس عشرة", "ست عشرة", "سبع عشرة", "ثماني عشرة", "تسع عشرة"}
	arFeminineUnits = [10]string{"", "إحدى", "اثنتان", "ثلاث", "أربع", "خمس", "ست", "سبع", "ثمان", "تسع"}

	arOrdinals = [20]string{"", "الأول", "الثاني", "الثالث", "الرابع", "الخامس", "السادس", "السابع", "الثامن", "التاسع",
		"العاشر", "الحادي عشر", "الثاني عشر", "الثالث عشر", "الرابع عشر", "الخامس عشر", "السادس عشر", "السابع عشر", "الثامن عشر", "التاسع عشر"}
	arHours = [13]string{"", "الواحدة", "الثانية", "الثالثة", "الرابعة", "الخامسة", "السادسة", "السابعة", "الثامنة", "التاسعة",
		"العاشرة", "الحادية عشرة", "الثانية عشرة"}
	arMonths = [13]string{"", "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"}

	// arGenitive maps each nominative word that changes in the genitive (in
	// unvowelled writing) to its genitive.
	arGenitive = map[string]string{
		"اثنان": "اثنين", "اثنا": "اثني", "مائتان": "مائتين", "مائتا": "مائتي",
		"عشرون": "عشرين", "ثلاثون": "ثلاثين", "أربعون": "أربعين", "خمسون": "خمسين",
		"ستون": "ستين", "سبعون": "سبعين", "ثمانون": "ثمانين", "تسعون": "تسعين",
		"ألفان": "ألفين", "مليونان": "مليونين", "ملياران": "مليارين", "تريليونان": "تريليونين",
	}
)

func arCardinal(n int64) string {
	if n == 0 {
		return arSmall[0]
	}
	g := groups(n)
	var parts []string
	for i := len(g) - 1; i > 0; i-- {
		if g[i] != 0 {
			parts = append(parts, arScale(g[i], arScales[i]))
		}
	}
	if g[0] != 0 {
		parts = append(parts, arBelow1000(g[0]))
	}
	return strings.Join(parts, " و")
}

// arScale reads count (1-999) of noun.
func arScale(count int, noun arNoun) string {
	r := count % 100
	switch {
	case count == 1:
		return noun.one
	case count == 2:
		return noun.two
	case r == 0:
		return arConstruct(count) + " " + noun.one
	case r <= 2:
		// 101000 is "مائة ألف وألف": "مائة وألف" would read as 1100.
		return arConstruct(count-r) + " " + noun.one + " و" + arScale(r, noun)
	case r <= 10:
		return arBelow1000(count) + " " + noun.plural
	}
	return arBelow1000(count) + " " + noun.accusative
}

// arConstruct reads a round hundred before the noun it counts: مائتان
// loses its ن (مائتا ألف).
func arConstruct(n int) string {
	if n == 200 {
		return "مائتا"
	}
	return arBelow1000(n)
}

func arBelow1000(n int) string {
	var p []string
	if h := n / 100; h > 0 {
		p = append(p, arHundreds[h])
	}
	switch r := n % 100; {
	case r == 0:
	case r < 20:
		p = append(p, arSmall[r])
	case r%10 == 0:
		p = append(p, arTens[r/10])
	default:
		p = append(p, arSmall[r%10], arTens[r/10])
	}
	return strings.Join(p, " و")
}

// arToGenitive turns a nominative reading into the genitive, word by word.
func arToGenitive(s string) string {
	words := strings.Split(s, " ")
	for i, w := range words {
		prefix := ""
		if strings.HasPrefix(w, "و") && arGenitive[strings.TrimPrefix(w, "و")] != "" {
			prefix, w = "و", strings.TrimPrefix(w, "و")
		}
		if g, ok := arGenitive[w]; ok {
			words[i] = prefix + g
		}
	}
	return strings.Join(words, " ")
}

// arOrdinal reads 1-99 as a definite masculine ordinal: الرابع عشر,
// العشرون, الحادي والعشرون.
func arOrdinal(n int) string {
	switch {
	case n < 20:
		return arOrdinals[n]
	case n%10 == 0:
		return "ال" + arTens[n/10]
	case n%10 == 1:
		return "الحادي وال" + arTens[n/10]
	}
	return arOrdinals[n%10] + " وال" + arTens[n/10]
}

func arDate(t time.Time) string {
	return arOrdinal(t.Day()) + " من " + arMonths[t.Month()] + " عام " + arToGenitive(arCardinal(int64(t.Year())))
}

// arClock reads a 12-hour clock: the hour as a feminine ordinal (الساعة is
// feminine), the minutes counting دقيقة, then صباحًا or مساءً:
// "الساعة العاشرة واثنتا عشرة دقيقة صباحًا".
func arClock(hour, minute int) string {
	h := hour % 12
	if h == 0 {
		h = 12
	}
	s := "الساعة " + arHours[h]
	switch {
	case minute == 0:
	case minute == 1:
		s += " ودقيقة واحدة"
	case minute == 2:
		s += " ودقيقتان"
	case minute <= 10:
		s += " و" + arFeminine[minute] + " دقائق"
	default:
		s += " و" + arFeminineCount(minute) + " دقيقة"
	}
	if hour < 12 {
		return s + " صباحًا"
	}
	return s + " مساءً"
}

func arFeminineCount(n int) string { // 11..99
	switch {
	case n < 20:
		return arFeminine[n]
	case n%10 == 0:
		return arTens[n/10]
	}
	return arFeminineUnits[n%10] + " و" + arTens[n/10]
}
