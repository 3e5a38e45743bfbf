-- answers: 99
-- 1 MB logged again and again.
local log = require("log")
return function(call)
  local s = string.rep("x", 1024 * 1024)
  for i = 1, 1e9 do log.info(s, { i = i }) end
  return ivr.go_to_layer(1)
end
