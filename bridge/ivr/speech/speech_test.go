package speech_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/bridge/ivr/speech"
)

// Sources each row cites. Forms a source spells differently (defective
// Hebrew spelling, مئة) are checked for the form, not the spelling; the
// README lists the spellings chosen.
//
//	[ISSUE]   issue 12 §2 examples: "one hundred and twelve", "מאה ושתים עשרה",
//	          "сто двенадцать", "مائة واثنا عشر", "ארבעה עשר בדצמבר אלפיים ותשע
//	          עשרה", "четырнадцатое декабря две тысячи девятнадцатого года".
//	[EN-LP]   linguapress.com/grammar/numbers.htm: 1-100 table, 101-999 in
//	          British usage ("two hundred and fifty-seven").
//	[EN-I2]   intermedio2ingles.blogspot.com/2012/10/numbers-and-figures.html:
//	          UK forms 100-110,000 ("one thousand and one", "one hundred and
//	          one thousand").
//	[EN-NB]   newbetuts.com/111765 (British usage answer): 111, 190, 191, 206,
//	          1,002, 15,726, 276,521, 1,000,001 "a million and one".
//	[EN-CN]   culturainatura.org/L_ENGLISH/MORPHOLOGY1/Comment03.htm: 425,
//	          5,076, 5,676, 1,031, 1,100, 1,689 in British English.
//	[EN-TR]   toeflresources.com/blog/writing-numbers-properly: "seven hundred
//	          and five", "two million and ten", "six thousand, five hundred and
//	          nine".
//	[EN-VX]   vocabulix.com/grammar/english-numbers.shtml: 0-19, tens, short
//	          scale million and billion.
//	[EN-FF]   fairfieldsfs.blogspot.com/2018/12/dates-years.html: "the fifth
//	          of October, two thousand and four"; 1965 "nineteen sixty-five",
//	          1801 "eighteen oh one", 1700 "seventeen hundred".
//	[N2W]     python num2words 0.5.10 (Debian python3-num2words), checked on
//	          401 numbers: EN agrees on all, RU on all but a leading "одна
//	          тысяча"/"один миллион" where this package says "тысяча".
//	[HE-LN]   linguanaut.com/learn-hebrew/numbers.php: feminine 0-19, tens,
//	          מאה, אלף, עשרת אלפים, מאה אלף, מיליון.
//	[HE-AO]   alfavit-online.in.ua/en/numbers-in-hebrew.html: full spelling
//	          שתיים, שלוש, שלושים, שישים; מאתיים, אלפיים, מיליארד.
//	[HE-UL]   ulpan.net/hebrew-numbers-hundreds-thousands-and-more: "ve-" on
//	          the last word (מאה ואחד, מאה עשרים ושלוש), שלוש/שבע/תשע מאות.
//	[HE-UC]   archive.ulpan.com/?p=7382: שלוש מאות, שלושת אלפים.
//	[HE-HV]   hebrewversity.com/the-numbers-in-hebrew-part-2: עשרים ושלוש,
//	          מאתיים, שלוש מאות, ארבע מאות.
//	[HE-WP]   he.wikipedia.org "שמות מספרים": אלף is masculine, so the count
//	          before it is too ("חמישה עשר אלף"); dates use the masculine
//	          ("אחד באפריל"); counting and phone numbers the feminine.
//	[HE-AHL]  ahl.org.il/2012/05/29 "שם המספר – רקע להחלטות האקדמיה": the
//	          feminine forms are the abstract ones (phone numbers, bus lines).
//	[HE-ML]   milog.co.il "מספרים בעברית": שלוש מאות, שלושת אלפים, שני מיליון,
//	          שלושה מיליארד.
//	[HE-HOP]  hop.wiki.co.il "שם המספר": hundreds always feminine, thousands
//	          and millions always masculine.
//	[HE-NW]   npm number-to-words-hebrew README: 1020 (feminine) "אלף ועשרים".
//	[RU-SL]   study-languages-online.com/russian-cardinal-numerals.html: units,
//	          teens, tens, hundreds; тысяча, миллион.
//	[RU-OR]   onlinerussianlanguageschool.blogspot.com/2012/02 (Part 13): 1-20,
//	          30-1000, 24, 55, 103 "сто три".
//	[RU-RG]   russiangrammar.info/numerals: 0 ноль; один/одна, два/две.
//	[RU-RV]   richardvalvona.uk/russian-lab/cardinal-numbers-with-nouns: the
//	          noun after 1 (not 11), 2-4 (not 12-14), 5-20 and 0.
//	[RU-EL]   elon.io/grammar/russian/numbers/cardinals/hundreds-thousands:
//	          тысяча, миллион, миллиард are nouns counted by 1 / 2-4 / 5+
//	          ("два миллиона").
//	[RU-BK]   booksonline.com.ua/view.php?book=106953&page=46: 10^6 миллион,
//	          10^9 миллиард; одна, две for feminine nouns.
//	[RU-RS]   ruspeach.com/learning/course125/lesson11368: "Четырнадцатое
//	          июня", "Тридцатое сентября две тысячи шестнадцатого (года)",
//	          "Тысяча девятьсот девяноста девятый год".
//	[RU-RT]   rt-online.ru/p-rubr-nau-32438: "две тысячи девятого года", only
//	          the last word is ordinal.
//	[RU-MB]   mybiblioteka.su/tom2/2-14376.html: the norm is "две тысячи
//	          первом", "двухтысячном" (not "двухтысячепервом").
//	[AR-BK]   bangsakubangkit.blogspot.com/2024: masculine and feminine
//	          cardinals 0-21 (واحد وعشرون).
//	[AR-TQ]   github.com/MohsenAlyafei/tafqit README and rules (checked on 401
//	          numbers with its Legal option: agrees on all but 201000, where
//	          it keeps مائتان before ألف): 2000 ألفان, 2020 ألفان وعشرون, 350,
//	          2700, 13013, 122500, 200011 مائتا ألف وأحد عشر, 15000120,
//	          100100100, 2002002000, 2452452000, 101000 مائة ألف وألف, and the
//	          genitive (AG) 122 مائة واثنين وعشرين.
//	[AR-TM]   etudesaumaroc.com "تمييز العدد": plural genitive after 3-10,
//	          singular accusative after 11-99, singular genitive after مائة and
//	          ألف.
//	[AR-IS]   issuhub.com (Arabic grammar, §34.11-34.13): تسعمائة, ألف/ألفان/
//	          آلاف, مليون/مليونان/ملايين.
//	[AR-LG]   liganda.ch/ligling/ARB_ling.html: مائة, مائتان, ألف, ألفان, آلاف.
//	[AR-OR]   imanupdates.com/ordinal-numbers-in-arabic and
//	          abuarabacademy.com/what-are-ordinal-numbers-in-arabic: الأول ...
//	          العاشر, الحادي عشر, compound ordinals with حادي.
//	[AR-TM2]  fasiharapca.com "Telling Time in Arabic" (lesson 60): الساعة and
//	          the feminine ordinal, الواحدة for one o'clock; sayaarab.com:
//	          صباحًا, مساءً.
type row struct {
	n    int64
	want string
}

var english = []row{
	{0, "zero"},                                              // [EN-VX]
	{1, "one"},                                               // [EN-VX]
	{2, "two"},                                               // [EN-VX]
	{11, "eleven"},                                           // [EN-VX]
	{12, "twelve"},                                           // [EN-VX]
	{19, "nineteen"},                                         // [EN-VX]
	{20, "twenty"},                                           // [EN-LP]
	{21, "twenty-one"},                                       // [EN-LP]
	{22, "twenty-two"},                                       // [EN-LP]
	{40, "forty"},                                            // [EN-LP] "fourteen but forty"
	{99, "ninety-nine"},                                      // [EN-LP] (799)
	{100, "one hundred"},                                     // [EN-I2]
	{101, "one hundred and one"},                             // [EN-I2]
	{110, "one hundred and ten"},                             // [EN-I2]
	{111, "one hundred and eleven"},                          // [EN-NB]
	{112, "one hundred and twelve"},                          // [ISSUE]
	{190, "one hundred and ninety"},                          // [EN-NB]
	{191, "one hundred and ninety-one"},                      // [EN-NB]
	{200, "two hundred"},                                     // [EN-I2]
	{201, "two hundred and one"},                             // [EN-I2]
	{206, "two hundred and six"},                             // [EN-NB]
	{257, "two hundred and fifty-seven"},                     // [EN-LP]
	{365, "three hundred and sixty-five"},                    // [EN-LP]
	{425, "four hundred and twenty-five"},                    // [EN-CN]
	{705, "seven hundred and five"},                          // [EN-TR]
	{1000, "one thousand"},                                   // [EN-I2]
	{1001, "one thousand and one"},                           // [EN-I2]
	{1002, "one thousand and two"},                           // [EN-NB]
	{1010, "one thousand and ten"},                           // [EN-I2]
	{1031, "one thousand and thirty-one"},                    // [EN-CN]
	{1100, "one thousand one hundred"},                       // [EN-I2], [EN-CN]
	{1110, "one thousand one hundred and ten"},               // [EN-I2]
	{1689, "one thousand six hundred and eighty-nine"},       // [EN-CN]
	{2000, "two thousand"},                                   // [EN-I2]
	{5076, "five thousand and seventy-six"},                  // [EN-CN]
	{5676, "five thousand six hundred and seventy-six"},      // [EN-CN]
	{6509, "six thousand five hundred and nine"},             // [EN-TR]
	{10001, "ten thousand and one"},                          // [EN-I2]
	{10110, "ten thousand one hundred and ten"},              // [EN-I2]
	{15726, "fifteen thousand seven hundred and twenty-six"}, // [EN-NB]
	{100000, "one hundred thousand"},                         // [EN-I2]
	{100001, "one hundred thousand and one"},                 // [EN-I2]
	{101000, "one hundred and one thousand"},                 // [EN-I2]
	{110000, "one hundred and ten thousand"},                 // [EN-I2]
	{276521, "two hundred and seventy-six thousand five hundred and twenty-one"}, // [EN-NB]
	{1000000, "one million"},         // [EN-VX]
	{1000001, "one million and one"}, // [EN-NB]
	{2000010, "two million and ten"}, // [EN-TR]
	{999999999, "nine hundred and ninety-nine million nine hundred and ninety-nine thousand nine hundred and ninety-nine"}, // [EN-LP] rules, [N2W]
	{1000000000, "one billion"}, // [EN-VX]
}

var hebrew = []row{
	{0, "אפס"},                        // [HE-LN]
	{1, "אחת"},                        // [HE-LN], [HE-AHL] feminine for counting
	{2, "שתיים"},                      // [HE-AO]
	{3, "שלוש"},                       // [HE-AO]
	{8, "שמונה"},                      // [HE-LN]
	{10, "עשר"},                       // [HE-LN]
	{11, "אחת עשרה"},                  // [HE-LN]
	{12, "שתים עשרה"},                 // [HE-LN], [ISSUE]
	{13, "שלוש עשרה"},                 // [HE-AO]
	{15, "חמש עשרה"},                  // [HE-LN]
	{18, "שמונה עשרה"},                // [HE-LN]
	{19, "תשע עשרה"},                  // [HE-LN]
	{20, "עשרים"},                     // [HE-LN]
	{21, "עשרים ואחת"},                // [HE-HV] (עשרים ושלוש), [HE-UL]
	{23, "עשרים ושלוש"},               // [HE-HV]
	{30, "שלושים"},                    // [HE-AO]
	{60, "שישים"},                     // [HE-AO]
	{90, "תשעים"},                     // [HE-LN]
	{100, "מאה"},                      // [HE-LN]
	{101, "מאה ואחת"},                 // [HE-UL]
	{112, "מאה ושתים עשרה"},           // [ISSUE]
	{123, "מאה עשרים ושלוש"},          // [HE-UL]
	{200, "מאתיים"},                   // [HE-AO], [HE-HV]
	{300, "שלוש מאות"},                // [HE-UL], [HE-UC], [HE-ML]
	{400, "ארבע מאות"},                // [HE-HV]
	{900, "תשע מאות"},                 // [HE-UL]
	{1000, "אלף"},                     // [HE-LN]
	{1001, "אלף ואחת"},                // [HE-UL]
	{1020, "אלף ועשרים"},              // [HE-NW]
	{1999, "אלף תשע מאות תשעים ותשע"}, // [HE-UL], [HE-HOP]
	{2000, "אלפיים"},                  // [HE-AO]
	{2019, "אלפיים ותשע עשרה"},        // [ISSUE]
	{2500, "אלפיים וחמש מאות"},        // [HE-UL], [HE-HOP]
	{3000, "שלושת אלפים"},             // [HE-UC], [HE-ML]
	{8000, "שמונת אלפים"},             // [HE-HOP], [HE-UC]
	{10000, "עשרת אלפים"},             // [HE-LN]
	{11000, "אחד עשר אלף"},            // [HE-WP], [HE-HOP]
	{15000, "חמישה עשר אלף"},          // [HE-WP]
	{21000, "עשרים ואחד אלף"},         // [HE-WP], [HE-HOP]
	{100000, "מאה אלף"},               // [HE-LN]
	{300000, "שלוש מאות אלף"},         // [HE-HOP]
	{1000000, "מיליון"},               // [HE-LN]
	{2000000, "שני מיליון"},           // [HE-ML], [ISSUE]
	{3000000, "שלושה מיליון"},         // [HE-ML], [HE-HOP]
	{999999999, "תשע מאות תשעים ותשעה מיליון תשע מאות תשעים ותשעה אלף תשע מאות תשעים ותשע"}, // [HE-HOP], [HE-UL]
	{1000000000, "מיליארד"},       // [HE-AO]
	{3000000000, "שלושה מיליארד"}, // [HE-ML]
}

var russian = []row{
	{0, "ноль"},             // [RU-RG]
	{1, "один"},             // [RU-SL]
	{2, "два"},              // [RU-SL]
	{3, "три"},              // [RU-SL]
	{8, "восемь"},           // [RU-SL]
	{11, "одиннадцать"},     // [RU-SL]
	{12, "двенадцать"},      // [RU-SL], [ISSUE]
	{14, "четырнадцать"},    // [RU-SL]
	{19, "девятнадцать"},    // [RU-SL]
	{20, "двадцать"},        // [RU-SL]
	{21, "двадцать один"},   // [RU-OR]
	{24, "двадцать четыре"}, // [RU-OR]
	{40, "сорок"},           // [RU-SL]
	{55, "пятьдесят пять"},  // [RU-OR]
	{90, "девяносто"},       // [RU-SL]
	{100, "сто"},            // [RU-SL]
	{101, "сто один"},       // [RU-OR] (103)
	{103, "сто три"},        // [RU-OR]
	{112, "сто двенадцать"}, // [ISSUE]
	{200, "двести"},         // [RU-SL]
	{300, "триста"},         // [RU-SL]
	{400, "четыреста"},      // [RU-SL]
	{500, "пятьсот"},        // [RU-SL]
	{900, "девятьсот"},      // [RU-SL]
	{1000, "тысяча"},        // [RU-OR], [RU-SL]
	{1001, "тысяча один"},   // [N2W]
	{1999, "тысяча девятьсот девяносто девять"}, // [RU-RS]
	{2000, "две тысячи"},                      // [RU-EL], [RU-BK]
	{2019, "две тысячи девятнадцать"},         // [RU-RT]
	{4137, "четыре тысячи сто тридцать семь"}, // [RU-SL]
	{5000, "пять тысяч"},                      // [RU-RV]
	{11000, "одиннадцать тысяч"},              // [RU-RV]
	{21000, "двадцать одна тысяча"},           // [RU-RV], [RU-BK]
	{22000, "двадцать две тысячи"},            // [RU-RV], [RU-BK]
	{100000, "сто тысяч"},                     // [RU-RV]
	{1000000, "миллион"},                      // [RU-SL], [RU-BK]
	{2000000, "два миллиона"},                 // [RU-EL]
	{5000000, "пять миллионов"},               // [RU-RV], [RU-EL]
	{11000000, "одиннадцать миллионов"},       // [RU-RV]
	{21000000, "двадцать один миллион"},       // [RU-RV]
	{999999999, "девятьсот девяносто девять миллионов девятьсот девяносто девять тысяч девятьсот девяносто девять"}, // [N2W]
	{1000000000, "миллиард"},      // [RU-BK]
	{3000000000, "три миллиарда"}, // [RU-EL]
}

var arabic = []row{
	{0, "صفر"},                            // [AR-BK]
	{1, "واحد"},                           // [AR-BK]
	{2, "اثنان"},                          // [AR-BK]
	{3, "ثلاثة"},                          // [AR-BK]
	{8, "ثمانية"},                         // [AR-BK]
	{10, "عشرة"},                          // [AR-BK]
	{11, "أحد عشر"},                       // [AR-BK]
	{12, "اثنا عشر"},                      // [AR-BK], [AR-TQ]
	{13, "ثلاثة عشر"},                     // [AR-BK]
	{19, "تسعة عشر"},                      // [AR-BK]
	{20, "عشرون"},                         // [AR-BK]
	{21, "واحد وعشرون"},                   // [AR-BK]
	{23, "ثلاثة وعشرون"},                  // [AR-TQ]
	{91, "واحد وتسعون"},                   // [AR-TQ]
	{100, "مائة"},                         // [AR-TQ], [AR-LG]
	{101, "مائة وواحد"},                   // [AR-TQ]
	{112, "مائة واثنا عشر"},               // [ISSUE]
	{122, "مائة واثنان وعشرون"},           // [AR-TQ]
	{200, "مائتان"},                       // [AR-TQ], [AR-LG]
	{300, "ثلاثمائة"},                     // [AR-TQ]
	{350, "ثلاثمائة وخمسون"},              // [AR-TQ]
	{600, "ستمائة"},                       // [AR-TQ]
	{1000, "ألف"},                         // [AR-LG], [AR-IS]
	{1001, "ألف وواحد"},                   // [AR-TQ]
	{2000, "ألفان"},                       // [AR-TQ], [AR-IS]
	{2020, "ألفان وعشرون"},                // [AR-TQ]
	{2700, "ألفان وسبعمائة"},              // [AR-TQ]
	{3000, "ثلاثة آلاف"},                  // [AR-TM], [AR-IS]
	{10000, "عشرة آلاف"},                  // [AR-TM]
	{11000, "أحد عشر ألفًا"},              // [AR-TM], [AR-TQ]
	{13013, "ثلاثة عشر ألفًا وثلاثة عشر"}, // [AR-TQ]
	{20000, "عشرون ألفًا"},                // [AR-TQ]
	{100000, "مائة ألف"},                  // [AR-TM]
	{101000, "مائة ألف وألف"},             // [AR-TQ] Legal
	{122500, "مائة واثنان وعشرون ألفًا وخمسمائة"}, // [AR-TQ]
	{200000, "مائتا ألف"},                       // [AR-TQ]
	{200011, "مائتا ألف وأحد عشر"},              // [AR-TQ]
	{1000000, "مليون"},                          // [AR-IS]
	{2000000, "مليونان"},                        // [AR-IS], [AR-TQ]
	{3000000, "ثلاثة ملايين"},                   // [AR-IS]
	{15000120, "خمسة عشر مليونًا ومائة وعشرون"}, // [AR-TQ]
	{100100100, "مائة مليون ومائة ألف ومائة"},   // [AR-TQ]
	{999999999, "تسعمائة وتسعة وتسعون مليونًا وتسعمائة وتسعة وتسعون ألفًا وتسعمائة وتسعة وتسعون"}, // [AR-TQ]
	{1000000000, "مليار"},                   // [AR-TQ]
	{2002002000, "ملياران ومليونان وألفان"}, // [AR-TQ]
	{2452452000, "ملياران وأربعمائة واثنان وخمسون مليونًا وأربعمائة واثنان وخمسون ألفًا"}, // [AR-TQ]
}

func TestNumber(t *testing.T) {
	tables := map[string][]row{"EN": english, "HE": hebrew, "RU": russian, "AR": arabic}
	must := []int64{0, 1, 2, 11, 12, 19, 20, 21, 100, 101, 200, 1000, 1001, 2000, 1_000_000, 999_999_999}
	for lang, rows := range tables {
		if len(rows) < 40 {
			t.Errorf("%s: %d rows, want at least 40", lang, len(rows))
		}
		have := map[int64]bool{}
		for _, r := range rows {
			have[r.n] = true
			got, err := speech.Number(r.n, lang)
			if err != nil || got != r.want {
				t.Errorf("Number(%d, %s) = %q, %v; want %q", r.n, lang, got, err, r.want)
			}
		}
		for _, n := range must {
			if !have[n] {
				t.Errorf("%s: no row for %d", lang, n)
			}
		}
	}
}

func TestDigits(t *testing.T) {
	cases := []struct{ lang, want string }{
		// [EN-VX] digit names; [HE-AHL] phone numbers in the feminine;
		// [RU-RG] ноль; [AR-BK] صفر and the masculine units.
		{"EN", "zero five zero one two three four five six seven eight nine"},
		{"HE", "אפס חמש אפס אחת שתיים שלוש ארבע חמש שש שבע שמונה תשע"},
		{"RU", "ноль пять ноль один два три четыре пять шесть семь восемь девять"},
		{"AR", "صفر خمسة صفر واحد اثنان ثلاثة أربعة خمسة ستة سبعة ثمانية تسعة"},
	}
	for _, c := range cases {
		got, err := speech.Digits("050123456789", c.lang)
		if err != nil || got != c.want {
			t.Errorf("Digits(%s) = %q, %v; want %q", c.lang, got, err, c.want)
		}
	}
}

func TestDate(t *testing.T) {
	cases := []struct{ iso, lang, want string }{
		// [EN-FF] day first with "the ... of", years as people say them.
		{"2019-12-14", "EN", "the fourteenth of December, two thousand and nineteen"},
		{"2004-10-05", "EN", "the fifth of October, two thousand and four"},
		{"1965-01-01", "EN", "the first of January, nineteen sixty-five"},
		{"1801-03-22", "EN", "the twenty-second of March, eighteen oh one"},
		{"1700-05-31", "EN", "the thirty-first of May, seventeen hundred"},
		{"2019-12-14T10:12:59", "EN", "the fourteenth of December, two thousand and nineteen, at ten twelve a.m."},
		{"2019-12-14T13:05:00", "EN", "the fourteenth of December, two thousand and nineteen, at one oh five p.m."},
		{"2019-12-14T00:00:00", "EN", "the fourteenth of December, two thousand and nineteen, at twelve a.m."},

		// [ISSUE]; [HE-WP] a date's day in the masculine ("אחד באפריל").
		{"2019-12-14", "HE", "ארבעה עשר בדצמבר אלפיים ותשע עשרה"},
		{"2021-04-01", "HE", "אחד באפריל אלפיים עשרים ואחת"},
		{"1999-03-02", "HE", "שניים במרץ אלף תשע מאות תשעים ותשע"},
		{"2000-08-31", "HE", "שלושים ואחד באוגוסט אלפיים"},
		{"2019-12-14T10:12:59", "HE", "ארבעה עשר בדצמבר אלפיים ותשע עשרה בשעה עשר ושתים עשרה דקות"},
		{"2019-12-14T21:01:00", "HE", "ארבעה עשר בדצמבר אלפיים ותשע עשרה בשעה עשרים ואחת ודקה אחת"},
		{"2019-12-14T00:02:00", "HE", "ארבעה עשר בדצמבר אלפיים ותשע עשרה בחצות ושתי דקות"},

		// [ISSUE]; [RU-RS] neuter ordinal day, genitive month, genitive
		// ordinal year; [RU-RT], [RU-MB] only the last word is ordinal.
		{"2019-12-14", "RU", "четырнадцатое декабря две тысячи девятнадцатого года"},
		{"2016-09-30", "RU", "тридцатое сентября две тысячи шестнадцатого года"},
		{"2001-08-01", "RU", "первое августа две тысячи первого года"},
		{"2000-01-03", "RU", "третье января двухтысячного года"},
		{"1999-01-25", "RU", "двадцать пятое января тысяча девятьсот девяносто девятого года"},
		{"2019-12-14T10:12:59", "RU", "четырнадцатое декабря две тысячи девятнадцатого года в десять часов двенадцать минут"},
		{"2019-12-14T21:01:00", "RU", "четырнадцатое декабря две тысячи девятнадцатого года в двадцать один час одну минуту"},
		{"2019-12-14T00:00:00", "RU", "четырнадцатое декабря две тысячи девятнадцатого года в ноль часов"},

		// [AR-OR] the day as a masculine ordinal; [AR-TQ] the year in the
		// genitive after عام (AG option: ألفين, تسعة وتسعين).
		{"2019-12-14", "AR", "الرابع عشر من ديسمبر عام ألفين وتسعة عشر"},
		{"2000-01-01", "AR", "الأول من يناير عام ألفين"},
		{"1999-03-21", "AR", "الحادي والعشرون من مارس عام ألف وتسعمائة وتسعة وتسعين"},
		{"2022-05-22", "AR", "الثاني والعشرون من مايو عام ألفين واثنين وعشرين"},
		// [AR-TM2] الساعة, a feminine ordinal hour, صباحًا/مساءً; minutes
		// counting دقيقة by [AR-TM] (3-10 plural, 11-99 singular).
		{"2019-12-14T10:12:59", "AR", "الرابع عشر من ديسمبر عام ألفين وتسعة عشر الساعة العاشرة واثنتا عشرة دقيقة صباحًا"},
		{"2019-12-14T13:08:00", "AR", "الرابع عشر من ديسمبر عام ألفين وتسعة عشر الساعة الواحدة وثماني دقائق مساءً"},
		{"2019-12-14T23:00:00", "AR", "الرابع عشر من ديسمبر عام ألفين وتسعة عشر الساعة الحادية عشرة مساءً"},
	}
	for _, c := range cases {
		got, err := speech.Date(c.iso, c.lang)
		if err != nil || got != c.want {
			t.Errorf("Date(%s, %s) = %q, %v\n want %q", c.iso, c.lang, got, err, c.want)
		}
	}
}

func TestSay(t *testing.T) {
	a := ivr.Action{Kind: ivr.SayDigits, Language: "en", Layer: 2, Items: []ivr.Item{
		{Type: "Recording", Content: "clinic-closed.mp3"},
		{Type: "Digits", Content: "0501"},
		{Type: "Number", Content: "112"},
		{Type: "Date", Content: "2019-12-14"},
		{Type: "DateTime", Content: "2019-12-14T10:12:59"},
	}}
	got, err := speech.Say(&a)
	want := "[recording: clinic-closed.mp3], zero five zero one, one hundred and twelve, " +
		"the fourteenth of December, two thousand and nineteen, " +
		"the fourteenth of December, two thousand and nineteen, at ten twelve a.m."
	if err != nil || got != want {
		t.Errorf("Say = %q, %v\nwant %q", got, err, want)
	}
	a.Language = "AR"
	a.Items = a.Items[1:3]
	if got, _ := speech.Say(&a); got != "صفر خمسة صفر واحد، مائة واثنا عشر" {
		t.Errorf("Say AR = %q", got)
	}
}

func TestErrors(t *testing.T) {
	bad := []struct {
		name string
		err  func() error
	}{
		{"language", func() error { _, err := speech.Number(1, "FR"); return err }},
		{"negative", func() error { _, err := speech.Number(-1, "EN"); return err }},
		{"too large", func() error { _, err := speech.Number(speech.MaxNumber+1, "EN"); return err }},
		{"digits", func() error { _, err := speech.Digits("05-1", "EN"); return err }},
		{"no digits", func() error { _, err := speech.Digits("", "EN"); return err }},
		{"date", func() error { _, err := speech.Date("2019-02-30", "EN"); return err }},
		{"datetime", func() error { _, err := speech.Date("2019-12-14T25:00:00", "EN"); return err }},
		{"number item", func() error { _, err := speech.Render([]ivr.Item{{Type: "Number", Content: "1e3"}}, "EN"); return err }},
		{"signed item", func() error { _, err := speech.Render([]ivr.Item{{Type: "Number", Content: "+5"}}, "EN"); return err }},
		{"type", func() error { _, err := speech.Render([]ivr.Item{{Type: "Music", Content: "x"}}, "EN"); return err }},
		{"not said", func() error { a := ivr.GoTo(3); _, err := speech.Say(&a); return err }},
	}
	for _, b := range bad {
		if b.err() == nil {
			t.Errorf("%s: no error", b.name)
		}
	}
	if got, err := speech.Number(speech.MaxNumber, "EN"); err != nil || !strings.HasPrefix(got, "nine hundred and ninety-nine trillion") {
		t.Errorf("Number(MaxNumber) = %q, %v", got, err)
	}
}

func TestDescribe(t *testing.T) {
	say := ivr.Action{Kind: ivr.SayDigits, Language: "EN", Layer: 2, FailLayer: 1, HasFailLayer: true,
		Items: []ivr.Item{{Type: "Number", Content: "112"}}}
	cases := []struct {
		a    ivr.Action
		want string
	}{
		{ivr.GoTo(12), "goes to layer 12"},
		{ivr.Action{Kind: ivr.Dial, Targets: []ivr.Target{{Type: "PHONE", Target: "0501234567"}, {Type: "EXTENSION", Target: "sip201"}}},
			"dials 0501234567, extension sip201"},
		{ivr.Failure("script error"), "falls to the layer's failover"},
		{say, `says "one hundred and twelve", then goes to layer 2 (layer 1 if it fails)`},
		{ivr.Action{Kind: ivr.SayDigits, Language: "XX", Layer: 4, Items: []ivr.Item{{Type: "Number", Content: "7"}}},
			`says "Number 7", then goes to layer 4`},
	}
	for _, c := range cases {
		if got := speech.Describe(&c.a); got != c.want {
			t.Errorf("Describe = %q, want %q", got, c.want)
		}
	}
}

// TestShape reads random numbers in every language and checks what any
// reading must be: non-empty, single-spaced, and different for different
// numbers.
func TestShape(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, lang := range ivr.Languages {
		seen := map[string]int64{}
		for i := 0; i < 5000; i++ {
			n := r.Int64N(speech.MaxNumber + 1)
			if i%2 == 0 {
				n %= 1_000_000
			}
			s, err := speech.Number(n, lang)
			if err != nil || s == "" || strings.Contains(s, "  ") || strings.TrimSpace(s) != s {
				t.Fatalf("Number(%d, %s) = %q, %v", n, lang, s, err)
			}
			if m, ok := seen[s]; ok && m != n {
				t.Fatalf("%s: %d and %d both read %q", lang, m, n, s)
			}
			seen[s] = n
		}
	}
}
