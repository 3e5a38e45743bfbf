---@meta ivr
-- Editor definitions (LuaLS) of ivrouter's script API: never run, never
-- routed. ivrouter skips the scripts directory's types/ folder, and
-- server/types_test.go fails when these and the Go modules disagree.
--
-- In a script, type the handler's argument for completion of call's fields:
--   ---@param call ivr.Call
--   return function(call) ... end
-- or the returned table: ---@type ivr.Script on a local that holds it.

---A layer number (0 to 2147483647), or a numeric string, as a CRM may store it.
---@alias ivr.Layer integer|string

---A SAY language: "HE", "EN", "AR" or "RU" (any case); the default is serve's --language.
---@alias ivr.Language "HE"|"EN"|"AR"|"RU"

---CUSTOM_DATA: flat, string keys, string, number or boolean values, each sent
---as a string of at most 128 characters (UTF-16 units).
---@alias ivr.CustomData table<string|number, string|number|boolean>

---The request, as a handler gets it. ivrouter refills one table per VM for
---each call: keep the fields you need, not the table.
---@class ivr.Call
---@field did string DID: the number the caller dialled
---@field caller_id string CALLER_ID
---@field ivr_unique_id string IVR_UNIQUE_ID: one per call, the same on every layer
---@field dtmf string DTMF: the digits pressed; "0" when none
---@field layer_id integer LAYER_ID: the layer asking
---@field previous_layer_id? integer PREVIOUS_LAYER_ID
---@field custom_data? table<string, string> CUSTOM_DATA an earlier layer's answer set (custom_data =)

---An answer: what a handler returns, built by ivr.go_to_layer, ivr.say, ivr.dial or ivr.error.
---@class ivr.Action: userdata

---A SAY item, built by ivr.recording, ivr.digits, ivr.number, ivr.date or ivr.datetime.
---@class ivr.Item: userdata

---A DIAL target, built by ivr.phone or ivr.extension.
---@class ivr.Target: userdata

---A DIAL target from data: {type = "PHONE"|"EXTENSION", target = ...}.
---@class ivr.TargetTable
---@field type "PHONE"|"EXTENSION"|"phone"|"extension"
---@field target string

---A handler: answers one call.
---@alias ivr.Handler fun(call: ivr.Call): ivr.Action

---What a script returns: its handler, or this table.
---@class ivr.Script
---@field handle ivr.Handler runs once per request
---@field fallback? integer the layer answered when the handler fails or overruns
---@field deadline? integer ms, 1 to 5000: overrides --deadline for this script

---@class ivr.GoToLayerOptions
---@field caller_name? string|number CALLER_NAME
---@field custom_data? ivr.CustomData CUSTOM_DATA, which Voicenter brings back to the call's later layers

---@class ivr.SayOptions
---@field next_layer ivr.Layer the layer the call goes to after the announcement
---@field next_layer_if_failed? ivr.Layer
---@field language? ivr.Language default: serve's --language
---@field custom_data? ivr.CustomData sent after DATA

---@class ivr.DialOptions
---@field caller_id? string the number shown to the called party (default: the call's DID); digits, + or 00 for international
---@field caller_name? string|number
---@field max_call_duration? integer seconds, 1 to 86400 (default 3600)
---@field max_dial_duration? integer seconds, 1 to 86400 (default 60)
---@field next_vo_id? ivr.Layer where the call goes after the dial (default: the fallback layer)
---@field recording? boolean default false
---@field custom_data? ivr.CustomData default {}

---The answers a handler returns and the values they are built from. A global,
---and also require("ivr"). Every builder raises a Lua error naming a bad
---argument; options tables reject unknown keys.
---@class ivr
ivr = {}

---GO_TO_LAYER: send the call to a layer.
---@param layer ivr.Layer
---@param opts? ivr.GoToLayerOptions
---@return ivr.Action
function ivr.go_to_layer(layer, opts) end

---SAY_DIGITS: play items in order, then go to opts.next_layer.
---@param items ivr.Item|ivr.Item[]
---@param opts ivr.SayOptions
---@return ivr.Action
function ivr.say(items, opts) end

---DIAL: ring one target or a list of them.
---@param targets ivr.Target|ivr.TargetTable|(ivr.Target|ivr.TargetTable)[]
---@param opts? ivr.DialOptions
---@return ivr.Action
function ivr.dial(targets, opts) end

---STATUS 1: Voicenter sends the call to the layer's own failover; reason is logged.
---@param reason? string
---@return ivr.Action
function ivr.error(reason) end

---A SAY item: a recording, by file name.
---@param file string
---@return ivr.Item
function ivr.recording(file) end

---A SAY item: digits read one by one. A string: a Lua number loses leading zeros.
---@param digits string
---@return ivr.Item
function ivr.digits(digits) end

---A SAY item: a whole number from 0.
---@param n integer|string
---@return ivr.Item
function ivr.number(n) end

---A SAY item: a date, "YYYY-MM-DD" (time tables have .date).
---@param date string
---@return ivr.Item
function ivr.date(date) end

---A SAY item: a date and time, "YYYY-MM-DDTHH:MM:SS" (time tables have .datetime).
---@param datetime string
---@return ivr.Item
function ivr.datetime(datetime) end

---A DIAL target: a phone number, as a string of digits ("+972..." and "00972..."
---are sent without the prefix; spaces, dashes and brackets are dropped).
---@param number string
---@return ivr.Target
function ivr.phone(number) end

---A DIAL target: a Voicenter extension, by its SIP code.
---@param code string|number
---@return ivr.Target
function ivr.extension(code) end

return ivr
