package scripttest

import (
	"encoding/json"
	"maps"
	"strconv"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/bridge/ivr/speech"
)

// spoken follows an answer's diff with what the caller hears, when either
// side is a SAY_DIGITS: "- says ..." as expected, "+ says ..." as
// answered, or one "  says ..." when both say the same (the difference is
// elsewhere: a layer, the language's code). An expectation that gives only
// some keys is heard with the answer's others (its LANGUAGE, say), as it
// would be if it passed. It is empty when neither side says anything.
func spoken(want map[string]any, got any, exact bool) string {
	g, _ := got.(map[string]any)
	w := want
	if !exact && g != nil {
		w = maps.Clone(g)
		for k, v := range want {
			if v == nil {
				delete(w, k)
			} else {
				w[k] = v
			}
		}
	}
	ws, wok := words(withoutNulls(w))
	gs, gok := words(got)
	switch {
	case wok && gok && ws == gs:
		return "\n  says " + ws
	case wok && gok:
		return "\n- says " + ws + "\n+ says " + gs
	case wok:
		return "\n- says " + ws
	case gok:
		return "\n+ says " + gs
	}
	return ""
}

// words is a SAY_DIGITS answer's words, quoted, or false for any other
// answer; an item speech cannot read shows its error instead.
func words(answer any) (string, bool) {
	b, err := json.Marshal(answer)
	if err != nil {
		return "", false
	}
	a, err := ivr.ParseAnswer(b)
	if err != nil || a.Kind != ivr.SayDigits {
		return "", false
	}
	text, err := speech.Say(a)
	if err != nil {
		return "(" + err.Error() + ")", true
	}
	return strconv.Quote(text), true
}
