// Package simulate answers one request, or walks a whole call, with the
// scripts of a directory, answered as serve would answer them: the JSON
// Voicenter would get, what the caller hears, and along a call the script
// each layer ran, its log lines and its CRM requests. It is `ivrouter
// simulate`.
//
// A walk (Options.Follow) starts with one request and, after each
// GO_TO_LAYER or SAY_DIGITS, sends the layer it names the next request of
// the same call: POST / with LAYER_ID that layer (or POST /NAME for a
// layer Options.LayerRoutes maps to NAME, as a layer's MiniExternalUrl
// would), with the same IVR_UNIQUE_ID, PREVIOUS_LAYER_ID the layer before,
// the caller's next digits and the CUSTOM_DATA the call carries. It stops
// at a DIAL, a STATUS 1, a layer without a script (the fallback answer),
// an answer that is not 200, or Options.MaxSteps.
//
// Each request goes through a scripttest.Harness: the server's own
// handler, in memory, with one VM, the clock frozen at Options.At (or the
// real one) and the scripts' HTTP requests sent to the network or
// answered by a test case's stubs. The state and cache modules keep their
// entries from one step to the next, as serve keeps them across the
// layers of a call.
package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/bridge/ivr/speech"
	"github.com/ivrouter/ivrouter/server"
	"github.com/ivrouter/ivrouter/server/scripttest"
)

// DefaultMaxSteps bounds a walk when Options.MaxSteps is 0: a call that
// loops between layers ends there.
const DefaultMaxSteps = 20

// DefaultUniqueID is the call's IVR_UNIQUE_ID when Options gives none.
const DefaultUniqueID = "ivrouter-simulate"

// Options are one simulation: the settings it is answered under, the
// first request, and how far to follow the call.
type Options struct {
	// Config is serve's settings, as serve would use them: scripts
	// directory, fallback layer, language, deadline, Timezone (nil: the
	// machine's zone), ScriptEnv.
	Config server.Config
	// Route posts the first request to /Route; empty posts it to / (then
	// HasLayer is required).
	Route string
	// Layer is the first request's LAYER_ID, when HasLayer; else "0".
	Layer    int
	HasLayer bool
	// DID, CallerID and UniqueID are the call's; empty ones take the API
	// documentation's example call (scripttest's defaults) and
	// DefaultUniqueID.
	DID, CallerID, UniqueID string
	// DTMF are the digits the caller presses, one entry per request, in
	// order; an empty entry, or none left, sends no DTMF (the script sees
	// "0"), unless Prompt asks.
	DTMF []string
	// Prompt, when set, asks for the caller's digits at a request DTMF has
	// none left for; false ends the walk (the caller hung up). It is asked
	// along a walk only, not for a single request.
	Prompt func(step int, layer int, path string) (string, bool)
	// CustomData is the first request's CUSTOM_DATA, in order; nil sends
	// none.
	CustomData []ivr.Field
	// At freezes the clock every request sees; zero is the real clock.
	At time.Time
	// Stubs answer the scripts' HTTP requests (and Stubs.Env replaces the
	// values of the names Config.ScriptEnv allows, as in a test); nil sends
	// them to Transport, else the network.
	Stubs     *scripttest.Stubs
	Transport http.RoundTripper
	// Follow walks the call; MaxSteps bounds it (0 is DefaultMaxSteps).
	Follow   bool
	MaxSteps int
	// LayerRoutes maps a layer to the route its requests go to (the name
	// of its MiniExternalUrl's script); a layer not mapped is POST /.
	// Route with HasLayer maps Layer to Route, unless LayerRoutes says.
	LayerRoutes map[int]string
}

// Step is one request of a walk and what it did.
type Step struct {
	// N counts from 1.
	N int
	// Path is where the request went, Call what it carried and Request its
	// body.
	Path    string
	Call    scripttest.Call
	Request []byte
	// Exchange is what it did: the answer (Body, exactly as serve answers
	// it), the call line's outcome, error and script, the script's log
	// lines, its HTTP requests.
	*scripttest.Exchange
	// Action is the answer read back, nil for one that is not an action
	// (an HTTP error's body).
	Action *ivr.Action
	// Heard says in plain words what the answer does to the call: the
	// words a SAY_DIGITS says (speech.Describe).
	Heard string
}

// Journey is a walk: its steps, and why it ended.
type Journey struct {
	Steps []*Step
	// End says why the walk stopped; empty for a single request.
	End string
	// Dialled is true when the walk ended in a DIAL.
	Dialled bool
}

// Run answers the first request and, with Follow, the rest of the call;
// each step is handed to onStep (if not nil) as soon as it is answered,
// before the next is asked for. The error is for scripts that do not load
// or options that cannot be simulated.
func Run(ctx context.Context, o Options, onStep func(*Step)) (*Journey, error) {
	if o.Route == "" && !o.HasLayer {
		return nil, errors.New("simulate: no route or layer: say where the request goes (a route for POST /NAME, a layer for POST / with LAYER_ID)")
	}
	cfg := o.Config
	if o.Stubs != nil {
		env := map[string]string{}
		for name := range cfg.ScriptEnv {
			env[name] = ""
		}
		for name, v := range o.Stubs.Env {
			env[name] = v
		}
		cfg.ScriptEnv = env
	}
	h, err := scripttest.NewHarness(scripttest.Setup{Config: cfg, At: o.At, Stubs: o.Stubs, Transport: o.Transport})
	if err != nil {
		return nil, err
	}
	defer h.Close()

	routes := map[int]string{}
	if o.Route != "" && o.HasLayer {
		routes[o.Layer] = o.Route
	}
	for layer, name := range o.LayerRoutes {
		routes[layer] = name
	}
	maxSteps := o.MaxSteps
	if maxSteps <= 0 {
		maxSteps = DefaultMaxSteps
	}
	call := scripttest.Call{
		DID:      or(o.DID, scripttest.DefaultDID),
		CallerID: or(o.CallerID, scripttest.DefaultCallerID),
		UniqueID: or(o.UniqueID, DefaultUniqueID),
		LayerID:  o.Layer,
	}
	if o.CustomData != nil {
		call.CustomData = customJSON(o.CustomData)
	}
	path := "/" + o.Route
	hasLayer := o.HasLayer
	j := &Journey{}
	for n := 1; ; n++ {
		digits, ok := o.digits(n, call.LayerID, path)
		if !ok {
			j.End = "no more digits: the caller hung up"
			return j, nil
		}
		call.DTMF = digits
		st := &Step{N: n, Path: path, Call: call, Request: call.Body()}
		st.Exchange = h.Do(scripttest.Request{Path: path, Body: st.Request})
		st.Action, st.Heard = heard(st.Exchange)
		j.Steps = append(j.Steps, st)
		if onStep != nil {
			onStep(st)
		}
		if !o.Follow {
			return j, nil
		}
		next, end := nextLayer(st, hasLayer)
		switch {
		case end != "":
			j.End, j.Dialled = end, st.Action != nil && st.Action.Kind == ivr.Dial
			return j, nil
		case n >= maxSteps:
			j.End = fmt.Sprintf("stopped after %d steps (the walk's limit): the call goes on to layer %d", n, next)
			return j, nil
		case ctx.Err() != nil:
			j.End = "interrupted"
			return j, nil
		}
		// The next layer's request: the same call, from this layer, with
		// the CUSTOM_DATA this answer set, else what the call carried.
		if hasLayer {
			call.PreviousLayerID, call.HasPrevious = call.LayerID, true
		}
		call.LayerID, hasLayer = next, true
		if st.Action.HasCustomData {
			call.CustomData = customJSON(st.Action.CustomData)
		}
		path = "/" + routes[next]
	}
}

// digits are the caller's digits for step n: the next DTMF entry, else
// what Prompt asks for along a walk, else none.
func (o *Options) digits(n, layer int, path string) (string, bool) {
	if n <= len(o.DTMF) {
		return o.DTMF[n-1], true
	}
	if o.Prompt != nil && o.Follow {
		return o.Prompt(n, layer, path)
	}
	return "", true
}

// nextLayer is the layer an answer sends the call to, or why the walk
// ends there.
func nextLayer(st *Step, hasLayer bool) (int, string) {
	layer := "layer " + strconv.Itoa(st.Call.LayerID)
	if !hasLayer {
		layer = st.Path
	}
	switch {
	case st.Status != http.StatusOK:
		return 0, fmt.Sprintf("%s answered HTTP %d: Voicenter would send the call to the layer's failover", st.Path, st.Status)
	case st.Outcome == "fallback":
		return 0, fmt.Sprintf("%s has no script (no layers/%d.lua, no default.lua): the fallback answer, %s", layer, st.Call.LayerID, st.Heard)
	case st.Action == nil:
		return 0, "the answer is not an action Voicenter knows"
	}
	switch st.Action.Kind {
	case ivr.Dial:
		return 0, fmt.Sprintf("DIAL: the call %s; layer %d if no one answers", st.Heard, st.Action.Layer)
	case ivr.Fail:
		return 0, "STATUS 1: Voicenter sends the call to " + layer + "'s own failover"
	}
	return st.Action.Layer, ""
}

// heard reads an exchange's answer back and says what it does.
func heard(x *scripttest.Exchange) (*ivr.Action, string) {
	a, err := ivr.ParseAnswer(x.Body)
	if err != nil {
		return nil, ""
	}
	return a, speech.Describe(a)
}

// customJSON is CUSTOM_DATA as Voicenter sends it back: a flat object of
// strings, in the order given.
func customJSON(fields []ivr.Field) json.RawMessage {
	b := []byte{'{'}
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = ivr.AppendString(b, f.Key)
		b = append(b, ':')
		b = ivr.AppendString(b, f.Value)
	}
	return append(b, '}')
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
