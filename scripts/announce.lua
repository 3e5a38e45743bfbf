-- POST /announce: tell the caller about their order, then continue at layer 2
-- (layer 1 if the announcement cannot be played). This is the API docs' SAY
-- example; a real script would take the figures from the CRM.
local ivr = require("ivr")
local fmt = require("lib.fmt")

return function(call)
  local items = { ivr.recording("9899115_20849570029.mp3") } -- "you are calling from"
  local from = fmt.local_number(call.caller_id)
  if from:match("^%d+$") then -- hidden numbers have no digits to read
    table.insert(items, ivr.digits(from))
  end
  table.insert(items, ivr.number(112))                         -- credits left
  table.insert(items, ivr.date("2019-12-14"))                  -- delivery date
  table.insert(items, ivr.datetime("2019-12-14T10:12:59"))     -- last update
  table.insert(items, ivr.recording("98972915_209570029.mp3")) -- "goodbye"
  return ivr.say(items, { next_layer = 2, next_layer_if_failed = 1, language = "EN" })
end
