-- POST /clinic-id: the clinic's patients' desk (its layer 2) asks for the
-- caller's 9-digit Israeli ID number. A valid one goes on to appointments
-- (layer 4) with the ID in CUSTOM_DATA; a wrong one is announced and asked
-- again; the third wrong ID of a call is put through to a clerk.
local state = require("state")
local log = require("log")

local ASK_AGAIN, APPOINTMENTS, NEXT_IF_NO_ANSWER = 2, 4, 3
local CLERK = "sip301"
local MAX_TRIES = 3

-- valid_id checks an Israeli ID number's check digit: digits weighted
-- 1,2,1,2,... with two-digit products summed, the total a multiple of 10.
local function valid_id(id)
  if not id:match("^%d%d%d%d%d%d%d%d%d$") then
    return false
  end
  local sum = 0
  for i = 1, 9 do
    local d = tonumber(id:sub(i, i)) * (i % 2 == 0 and 2 or 1)
    sum = sum + (d > 9 and d - 9 or d)
  end
  return sum % 10 == 0
end

return {
  fallback = NEXT_IF_NO_ANSWER,
  handle = function(call)
    if valid_id(call.dtmf) then
      return ivr.go_to_layer(APPOINTMENTS, { custom_data = { patient_id = call.dtmf } })
    end
    -- Without call state (a full or unreachable store) a clerk is the
    -- safe answer: the caller never loops for ever.
    local tries = state.incr("clinic_wrong_ids") or MAX_TRIES
    if tries >= MAX_TRIES then
      log.info("third wrong ID: to a clerk", { tries = tries })
      return ivr.dial(ivr.extension(CLERK), {
        caller_name = "Clinic: ID not recognised",
        next_vo_id = NEXT_IF_NO_ANSWER,
        custom_data = { reason = "ID not recognised" },
      })
    end
    return ivr.say({ ivr.recording("clinic-wrong-id.mp3") }, { next_layer = ASK_AGAIN, language = "HE" })
  end,
}
