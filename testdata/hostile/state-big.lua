-- answers: 2
-- The call's state grown without end.
local state = require("state")
return function(call)
  for i = 1, 100000 do
    if not state.set("k" .. i, string.rep("x", 1024)) then return ivr.go_to_layer(2) end
  end
  return ivr.go_to_layer(1)
end
