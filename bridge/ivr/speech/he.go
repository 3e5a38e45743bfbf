package speech

import (
	"strings"
	"time"
)

// Hebrew reads a bare number in the feminine counting form, as the Academy
// of the Hebrew Language sets for abstract numbers and phone numbers; the
// count before אלף, מיליון and מיליארד is masculine (שלושת אלפים, אחד עשר
// אלף, שני מיליון), hundreds are feminine (שלוש מאות), and "ו" joins the
// last part ("מאה ושתים עשרה"). A date's day is masculine ("ארבעה עשר
// בדצמבר"), its year a feminine count ("אלפיים ותשע עשרה"). Spelling is
// the Academy's full spelling (שתיים, שלוש, שישים).
var hebrew = tongue{
	cardinal: func(n int64) string { return heCardinal(n, false) },
	digits:   [10]string{"אפס", "אחת", "שתיים", "שלוש", "ארבע", "חמש", "שש", "שבע", "שמונה", "תשע"},
	date:     heDate,
	clock:    heClock,
	dateTime: " ",
	list:     ", ",
}

var (
	heFeminine = [20]string{"אפס", "אחת", "שתיים", "שלוש", "ארבע", "חמש", "שש", "שבע", "שמונה", "תשע",
		"עשר", "אחת עשרה", "שתים עשרה", "שלוש עשרה", "ארבע עשרה", "חמש עשרה", "שש עשרה", "שבע עשרה", "שמונה עשרה", "תשע עשרה"}
	heMasculine = [20]string{"אפס", "אחד", "שניים", "שלושה", "ארבעה", "חמישה", "שישה", "שבעה", "שמונה", "תשעה",
		"עשרה", "אחד עשר", "שנים עשר", "שלושה עשר", "ארבעה עשר", "חמישה עשר", "שישה עשר", "שבעה עשר", "שמונה עשר", "תשעה עשר"}
	heTens     = [10]string{"", "", "עשרים", "שלושים", "ארבעים", "חמישים", "שישים", "שבעים", "שמונים", "תשעים"}
	heHundreds = [10]string{"", "מאה", "מאתיים", "שלוש מאות", "ארבע מאות", "חמש מאות", "שש מאות", "שבע מאות", "שמונה מאות", "תשע מאות"}
	// 1000-10000: the construct of the masculine count before אלפים.
	heThousands = [11]string{"", "אלף", "אלפיים", "שלושת אלפים", "ארבעת אלפים", "חמשת אלפים", "ששת אלפים",
		"שבעת אלפים", "שמונת אלפים", "תשעת אלפים", "עשרת אלפים"}
	heScales = [5]string{"", "אלף", "מיליון", "מיליארד", "טריליון"}
	heMonths = [13]string{"", "ינואר", "פברואר", "מרץ", "אפריל", "מאי", "יוני", "יולי", "אוגוסט", "ספטמבר", "אוקטובר", "נובמבר", "דצמבר"}
)

// heCardinal reads n; masculine picks the masculine units and teens.
func heCardinal(n int64, masculine bool) string {
	if n == 0 {
		return heFeminine[0]
	}
	g := groups(n)
	var parts []string
	compound := false // the last part already holds its own "ו"
	for i := len(g) - 1; i > 0; i-- {
		if g[i] != 0 {
			var p string
			p, compound = heScale(g[i], i)
			parts = append(parts, p)
		}
	}
	if small := heParts(g[0], masculine); len(small) > 0 {
		parts, compound = append(parts, small...), false
	}
	if compound {
		return strings.Join(parts, " ")
	}
	return heJoin(parts)
}

// heScale reads count thousands (i=1), millions (2) and so on, and says
// whether the count is itself joined by "ו".
func heScale(count, i int) (string, bool) {
	switch {
	case i == 1 && count <= 10:
		return heThousands[count], false
	case count == 1:
		return heScales[i], false
	case count == 2:
		return "שני " + heScales[i], false
	}
	p := heParts(count, true)
	return heJoin(p) + " " + heScales[i], len(p) > 1
}

// heParts splits n below 1000 into the parts "ו" may join: hundreds, tens,
// and units or a teen.
func heParts(n int, masculine bool) []string {
	small := &heFeminine
	if masculine {
		small = &heMasculine
	}
	var p []string
	if h := n / 100; h > 0 {
		p = append(p, heHundreds[h])
	}
	switch r := n % 100; {
	case r == 0:
	case r < 20:
		p = append(p, small[r])
	default:
		p = append(p, heTens[r/10])
		if r%10 != 0 {
			p = append(p, small[r%10])
		}
	}
	return p
}

// heJoin puts "ו" on the last of two or more parts.
func heJoin(p []string) string {
	if len(p) > 1 {
		p[len(p)-1] = "ו" + p[len(p)-1]
	}
	return strings.Join(p, " ")
}

func heDate(t time.Time) string {
	return heCardinal(int64(t.Day()), true) + " ב" + heMonths[t.Month()] + " " + heCardinal(int64(t.Year()), false)
}

// heClock reads a 24-hour clock with feminine counts (שעה and דקה are
// feminine): "בשעה עשר ושתים עשרה דקות", "בשעה שתיים ודקה אחת"; hour 0
// is חצות.
func heClock(hour, minute int) string {
	s := "בשעה " + heCardinal(int64(hour), false)
	if hour == 0 {
		s = "בחצות"
	}
	switch {
	case minute == 0:
		return s
	case minute == 1:
		return s + " ודקה אחת"
	case minute == 2:
		return s + " ושתי דקות"
	}
	return s + " ו" + heCardinal(int64(minute), false) + " דקות"
}
