package cdr

import lua "github.com/yuin/gopher-lua"

// Table gives a script the record under Voicenter's own lowercase keys, so
// that a script written from Voicenter's documentation reads the fields it
// expects:
//
//	caller, target, did, type, status, queuename, record,
//	representative_name, representative_code, targetextension,
//	callerextension, targetextension_name, callerextension_name,
//	target_country, caller_country, ivruniqueid    strings
//	time (unix seconds, 0 if absent), duration, dialtime, queueid, price
//	                                                numbers
//	ivr          array of {layer_id, layer_name, layer_number, dtmf, dtmf_order}
//	             (dtmf a string, the rest as typed in Step); {} when none
//	custom_data  {key = value}, values strings; {} when none
//
// Every Extra field is set under its own key as a string, unless that key
// is already one of the above (an Extra never overwrites a typed field).
// For example, an events/cdr.lua script:
//
//	local log = require("log")
//
//	return {
//	  handle = function(cdr)
//	    if cdr.status ~= "ANSWER" and cdr.queueid ~= 0 then
//	      log.info("abandoned in queue " .. cdr.queuename, { caller = cdr.caller })
//	    end
//	    local first = cdr.ivr[1]
//	    if first and first.layer_id == 8650 then
//	      log.info("call began at " .. first.layer_name, { call = cdr.ivruniqueid })
//	    end
//	    local crm_id = cdr.custom_data.CRM_client_ID -- nil when not sent
//	  end,
//	}
//
// A new table is made on every call, so a script may keep or change it.
func (r *Record) Table(L *lua.LState) *lua.LTable {
	t := L.CreateTable(0, 23+len(r.Extra))
	str := func(k, v string) { t.RawSetString(k, lua.LString(v)) }
	num := func(k string, v float64) { t.RawSetString(k, lua.LNumber(v)) }

	str("ivruniqueid", r.CallID)
	str("caller", r.Caller)
	str("target", r.Target)
	str("did", r.DID)
	str("type", r.Type)
	str("status", r.Status)
	var unix int64
	if !r.Time.IsZero() {
		unix = r.Time.Unix()
	}
	num("time", float64(unix))
	num("duration", float64(r.Duration))
	num("dialtime", float64(r.DialTime))
	num("queueid", float64(r.QueueID))
	str("queuename", r.QueueName)
	str("record", r.RecordURL)
	num("price", r.Price)
	str("representative_name", r.RepresentativeName)
	str("representative_code", r.RepresentativeCode)
	str("targetextension", r.TargetExtension)
	str("callerextension", r.CallerExtension)
	str("targetextension_name", r.TargetExtensionName)
	str("callerextension_name", r.CallerExtensionName)
	str("target_country", r.TargetCountry)
	str("caller_country", r.CallerCountry)

	ivr := L.CreateTable(len(r.IVR), 0)
	for i, s := range r.IVR {
		st := L.CreateTable(0, 5)
		st.RawSetString("layer_id", lua.LNumber(s.LayerID))
		st.RawSetString("layer_name", lua.LString(s.LayerName))
		st.RawSetString("layer_number", lua.LNumber(s.LayerNumber))
		st.RawSetString("dtmf", lua.LString(s.DTMF))
		st.RawSetString("dtmf_order", lua.LNumber(s.Order))
		ivr.RawSetInt(i+1, st)
	}
	t.RawSetString("ivr", ivr)

	cd := L.CreateTable(0, len(r.CustomData))
	for _, f := range r.CustomData {
		cd.RawSetString(f.Key, lua.LString(f.Value))
	}
	t.RawSetString("custom_data", cd)

	for _, f := range r.Extra {
		if t.RawGetString(f.Key) == lua.LNil {
			str(f.Key, f.Value)
		}
	}
	return t
}
