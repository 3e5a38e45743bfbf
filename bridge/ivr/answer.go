package ivr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ParseAnswer reads an answer's JSON back into an Action: what AppendJSON
// writes, and the documentation's examples (null CALLER_NAME and
// CUSTOM_DATA read as absent). It is for tools that show an answer, a
// transcript or a test's failure: the router itself never reads answers.
// STATUS other than 0 is Fail; CUSTOM_DATA values that are not strings are
// kept as their JSON text, in the order sent.
func ParseAnswer(body []byte) (*Action, error) {
	var w struct {
		Status    *int   `json:"STATUS"`
		Action    string `json:"ACTION"`
		Layer     *int   `json:"LAYER"`
		NextLayer *int   `json:"NEXT_LAYER"`
		FailLayer *int   `json:"NEXT_LAYER_IF_FAILED"`
		Language  string `json:"LANGUAGE"`
		Data      []struct {
			RecordType, Content string
		} `json:"DATA"`
		CallerID   string  `json:"CALLER_ID"`
		CallerName *string `json:"CALLER_NAME"`
		MaxCall    int     `json:"MAX_CALL_DURATION"`
		MaxDial    int     `json:"MAX_DIAL_DURATION"`
		NextVOID   *int    `json:"NEXT_VO_ID"`
		Recording  string  `json:"RECORDING"`
		Targets    []struct {
			Type   string `json:"TYPE"`
			Target string `json:"TARGET"`
		} `json:"TARGETS"`
		CustomData json.RawMessage `json:"CUSTOM_DATA"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("ivr: answer is not an answer's JSON: %w", err)
	}
	if w.Status == nil {
		return nil, errors.New("ivr: answer has no STATUS")
	}
	if *w.Status != 0 {
		return &Action{Kind: Fail}, nil
	}
	a := &Action{Language: w.Language, CallerID: w.CallerID, MaxCall: w.MaxCall,
		MaxDial: w.MaxDial, Recording: strings.EqualFold(w.Recording, "yes")}
	for _, it := range w.Data {
		a.Items = append(a.Items, Item{Type: it.RecordType, Content: it.Content})
	}
	for _, t := range w.Targets {
		a.Targets = append(a.Targets, Target{Type: t.Type, Target: t.Target})
	}
	if w.CallerName != nil {
		a.CallerName = *w.CallerName
	}
	var layer *int
	switch w.Action {
	case "GO_TO_LAYER":
		a.Kind, layer = GoToLayer, w.Layer
	case "SAY_DIGITS":
		a.Kind, layer = SayDigits, w.NextLayer
		if w.FailLayer != nil {
			a.FailLayer, a.HasFailLayer = *w.FailLayer, true
		}
	case "DIAL":
		a.Kind, layer = Dial, w.NextVOID
	default:
		return nil, fmt.Errorf("ivr: answer's ACTION %q is not GO_TO_LAYER, SAY_DIGITS or DIAL", w.Action)
	}
	if layer == nil {
		return nil, fmt.Errorf("ivr: %s answer has no %s", a.Kind, map[Kind]string{GoToLayer: "LAYER", SayDigits: "NEXT_LAYER", Dial: "NEXT_VO_ID"}[a.Kind])
	}
	a.Layer = *layer
	if len(w.CustomData) > 0 && !bytes.Equal(w.CustomData, []byte("null")) {
		fields, err := customFields(w.CustomData)
		if err != nil {
			return nil, err
		}
		a.CustomData, a.HasCustomData = fields, true
	}
	return a, nil
}

// customFields reads a CUSTOM_DATA object's fields in the order sent.
func customFields(raw json.RawMessage) ([]Field, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("ivr: answer's CUSTOM_DATA is not an object")
	}
	var fields []Field
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("ivr: answer's CUSTOM_DATA: %w", err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("ivr: answer's CUSTOM_DATA: %w", err)
		}
		value := string(v)
		var s string
		if json.Unmarshal(v, &s) == nil {
			value = s
		}
		fields = append(fields, Field{Key: k.(string), Value: value})
	}
	return fields, nil
}
