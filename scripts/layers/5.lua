-- Layer 5 asks the caller for their personal ID (the API docs' case example).
-- Voicenter posts what they pressed as call.dtmf: an 8-digit ID goes on to
-- layer 12, where representatives take identified callers; anything else goes
-- to layer 13, which asks again.
local IDENTIFIED, RETRY = 12, 13

return {
  fallback = RETRY,
  handle = function(call)
    if call.dtmf:match("^%d%d%d%d%d%d%d%d$") then
      return ivr.go_to_layer(IDENTIFIED)
    end
    return ivr.go_to_layer(RETRY)
  end,
}
