-- answers: 99
-- JSON of a table of 200 strings of 1 MiB.
local json = require("json")
return function(call)
  local t = {}
  for i = 1, 200 do t[i] = string.rep("x", 1024 * 1024) end
  local s = json.encode(t)
  return ivr.go_to_layer(1)
end
