-- loadbench's bare-gopher-lua peer: ivrouter's scripts/announce.lua (and the
-- lib.fmt helper it requires) with ivr's builders as Lua functions returning
-- plain tables, which the peer encodes by hand: the SAY answer's Lua work with
-- nothing around it.
local function item(kind)
  return function(v) return {type = kind, content = tostring(v)} end
end
local recording, digits, number = item("Recording"), item("Digits"), item("Number")
local date, datetime = item("Date"), item("DateTime")

local function local_number(number)
  local rest = number:match("^%+?972(%d+)$")
  if rest then
    return "0" .. rest
  end
  return number
end

return {
  handle = function(call)
    local items = { recording("9899115_20849570029.mp3") }
    local from = local_number(call.caller_id)
    if from:match("^%d+$") then
      table.insert(items, digits(from))
    end
    table.insert(items, number(112))
    table.insert(items, date("2019-12-14"))
    table.insert(items, datetime("2019-12-14T10:12:59"))
    table.insert(items, recording("98972915_209570029.mp3"))
    return {action = "SAY_DIGITS", items = items, next_layer = 2, next_layer_if_failed = 1, language = "EN"}
  end,
}
