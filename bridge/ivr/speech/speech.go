// Package speech renders a SAY_DIGITS answer as the words the caller hears,
// in the four languages Voicenter speaks (HE, EN, AR, RU), so a script author
// can read an announcement instead of imagining it from its JSON.
//
// Numbers are read as words (EN "one hundred and twelve", HE "מאה ושתים
// עשרה", RU "сто двенадцать", AR "مائة واثنا عشر"), digits one by one, dates
// and date-times as a person says them, and a recording as its file name:
//
//	a := ivr.Action{Kind: ivr.SayDigits, Language: "EN", Layer: 2, Items: []ivr.Item{
//		{Type: "Recording", Content: "clinic-closed.mp3"},
//		{Type: "Number", Content: "112"},
//		{Type: "Date", Content: "2019-12-14"},
//	}}
//	text, err := speech.Say(&a)
//	// [recording: clinic-closed.mp3], one hundred and twelve,
//	// the fourteenth of December, two thousand and nineteen
//
//	speech.Number(112, "HE")          // מאה ושתים עשרה
//	speech.Digits("0501234567", "RU") // ноль пять ноль один ...
//	speech.Describe(&a)               // says "...", then goes to layer 2
//
// The forms chosen for each language, and the tables they were checked
// against, are listed in the package README.
package speech

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ivrouter/ivrouter/bridge/ivr"
)

// MaxNumber is the largest number Number reads: fifteen digits, the most
// ivr.number accepts.
const MaxNumber = 999_999_999_999_999

// tongue is what one language needs to read every kind of item.
type tongue struct {
	cardinal func(n int64) string
	digits   [10]string
	date     func(t time.Time) string
	clock    func(hour, minute int) string // the time of day, with its preposition
	dateTime string                        // between a date and its clock
	list     string                        // between items
}

var tongues = map[string]*tongue{
	"EN": &english,
	"HE": &hebrew,
	"RU": &russian,
	"AR": &arabic,
}

func lookup(lang string) (*tongue, error) {
	t, ok := tongues[strings.ToUpper(strings.TrimSpace(lang))]
	if !ok {
		return nil, fmt.Errorf("speech: unknown language %q, want one of %s", lang, strings.Join(ivr.Languages, ", "))
	}
	return t, nil
}

// Say renders a SAY_DIGITS action as the words its caller hears, in the
// action's Language. Any other kind of action is an error: use Describe.
func Say(a *ivr.Action) (string, error) {
	if a.Kind != ivr.SayDigits {
		return "", fmt.Errorf("speech: %s says nothing; only SAY_DIGITS is spoken", a.Kind)
	}
	return Render(a.Items, a.Language)
}

// Render reads items in lang (HE, EN, AR or RU), in order, separated by
// commas. It fails on the first item it cannot read.
func Render(items []ivr.Item, lang string) (string, error) {
	t, err := lookup(lang)
	if err != nil {
		return "", err
	}
	words := make([]string, 0, len(items))
	for i, it := range items {
		w, err := t.item(it)
		if err != nil {
			return "", fmt.Errorf("speech: item %d: %w", i+1, err)
		}
		words = append(words, w)
	}
	return strings.Join(words, t.list), nil
}

func (t *tongue) item(it ivr.Item) (string, error) {
	switch strings.ToLower(it.Type) {
	case "recording":
		return "[recording: " + it.Content + "]", nil
	case "digits":
		return t.digitWords(it.Content)
	case "number":
		n, err := parseNumber(it.Content)
		if err != nil {
			return "", err
		}
		return t.cardinal(n), nil
	case "date":
		d, err := time.Parse(time.DateOnly, it.Content)
		if err != nil {
			return "", fmt.Errorf("date %q is not YYYY-MM-DD", it.Content)
		}
		return t.date(d), nil
	case "datetime":
		d, err := time.Parse("2006-01-02T15:04:05", it.Content)
		if err != nil {
			return "", fmt.Errorf("datetime %q is not YYYY-MM-DDTHH:MM:SS", it.Content)
		}
		return t.date(d) + t.dateTime + t.clock(d.Hour(), d.Minute()), nil
	}
	return "", fmt.Errorf("unknown record type %q", it.Type)
}

// Number reads n, from 0 to MaxNumber, as a cardinal in lang.
func Number(n int64, lang string) (string, error) {
	t, err := lookup(lang)
	if err != nil {
		return "", err
	}
	if n < 0 || n > MaxNumber {
		return "", fmt.Errorf("speech: number %d is outside 0..%d", n, int64(MaxNumber))
	}
	return t.cardinal(n), nil
}

// Digits reads a string of 0-9 digit by digit in lang, as Voicenter reads a
// Digits item such as a phone number.
func Digits(digits, lang string) (string, error) {
	t, err := lookup(lang)
	if err != nil {
		return "", err
	}
	return t.digitWords(digits)
}

// Date reads an ISO 8601 date ("2019-12-14") or date-time
// ("2019-12-14T10:12:59") in lang. Seconds are not spoken.
func Date(iso, lang string) (string, error) {
	typ := "Date"
	if strings.Contains(iso, "T") {
		typ = "DateTime"
	}
	return Render([]ivr.Item{{Type: typ, Content: iso}}, lang)
}

func (t *tongue) digitWords(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("digits are empty")
	}
	words := make([]string, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", fmt.Errorf("digits %q hold %q, not 0-9", s, s[i])
		}
		words[i] = t.digits[s[i]-'0']
	}
	return strings.Join(words, " "), nil
}

func parseNumber(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > MaxNumber || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("number %q is not a whole number from 0 to %d", s, int64(MaxNumber))
	}
	return n, nil
}

// Describe says in one plain English line what an action does to the call,
// for a transcript: "goes to layer 12", "dials 0501234567, extension
// sip201", "falls to the layer's failover", or for SAY_DIGITS what is said
// and where the call goes next.
func Describe(a *ivr.Action) string {
	switch a.Kind {
	case ivr.GoToLayer:
		return "goes to layer " + strconv.Itoa(a.Layer)
	case ivr.SayDigits:
		return describeSay(a)
	case ivr.Dial:
		return "dials " + describeTargets(a.Targets)
	case ivr.Fail:
		return "falls to the layer's failover"
	}
	return "answers an action Voicenter does not know"
}

func describeSay(a *ivr.Action) string {
	text, err := Say(a)
	if err != nil {
		raw := make([]string, len(a.Items))
		for i, it := range a.Items {
			raw[i] = it.Type + " " + it.Content
		}
		text = strings.Join(raw, ", ")
	}
	s := fmt.Sprintf("says %q, then goes to layer %d", text, a.Layer)
	if a.HasFailLayer {
		s += fmt.Sprintf(" (layer %d if it fails)", a.FailLayer)
	}
	return s
}

func describeTargets(targets []ivr.Target) string {
	if len(targets) == 0 {
		return "no one"
	}
	parts := make([]string, len(targets))
	for i, t := range targets {
		switch strings.ToUpper(t.Type) {
		case "PHONE":
			parts[i] = t.Target
		default:
			parts[i] = strings.ToLower(t.Type) + " " + t.Target
		}
	}
	return strings.Join(parts, ", ")
}

// groups splits n into groups of three digits, least significant first:
// 1234567 is [567 234 1].
func groups(n int64) []int {
	var g []int
	for ; n > 0; n /= 1000 {
		g = append(g, int(n%1000))
	}
	return g
}
