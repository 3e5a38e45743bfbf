package speech_test

import (
	"fmt"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/bridge/ivr/speech"
)

func ExampleSay() {
	a := ivr.Action{Kind: ivr.SayDigits, Language: "EN", Layer: 2, Items: []ivr.Item{
		{Type: "Recording", Content: "clinic-closed.mp3"},
		{Type: "Number", Content: "112"},
		{Type: "Date", Content: "2019-12-14"},
	}}
	text, err := speech.Say(&a)
	fmt.Println(text, err)
	fmt.Println(speech.Describe(&a))
	// Output:
	// [recording: clinic-closed.mp3], one hundred and twelve, the fourteenth of December, two thousand and nineteen <nil>
	// says "[recording: clinic-closed.mp3], one hundred and twelve, the fourteenth of December, two thousand and nineteen", then goes to layer 2
}

func ExampleNumber() {
	for _, lang := range []string{"EN", "HE", "RU", "AR"} {
		s, _ := speech.Number(112, lang)
		fmt.Println(lang, s)
	}
	// Output:
	// EN one hundred and twelve
	// HE מאה ושתים עשרה
	// RU сто двенадцать
	// AR مائة واثنا عشر
}

func ExampleDate() {
	s, _ := speech.Date("2019-12-14T10:12:59", "RU")
	fmt.Println(s)
	// Output:
	// четырнадцатое декабря две тысячи девятнадцатого года в десять часов двенадцать минут
}

func ExampleDescribe() {
	a := ivr.Action{Kind: ivr.Dial, Targets: []ivr.Target{
		{Type: "PHONE", Target: "0501234567"},
		{Type: "EXTENSION", Target: "sip201"},
	}}
	fmt.Println(speech.Describe(&a))
	fail := ivr.Failure("no answer")
	fmt.Println(speech.Describe(&fail))
	// Output:
	// dials 0501234567, extension sip201
	// falls to the layer's failover
}
