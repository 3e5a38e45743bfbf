-- POST /night: at night the representative on duty answers on their mobile.
-- The call rings for up to a minute, is recorded, and goes to layer 15 if the
-- mobile cannot be reached. CUSTOM_DATA reaches the representative's pop-up
-- and the CDR.
local ON_DUTY = { name = "John Doe", mobile = "0501234567" }

return {
  fallback = 15,
  handle = function(call)
    return ivr.dial(ivr.phone(ON_DUTY.mobile), {
      caller_id = call.did,
      caller_name = "Voicenter",
      max_call_duration = 1800,
      max_dial_duration = 60,
      next_vo_id = 15,
      recording = true,
      custom_data = {
        caller = call.caller_id,
        Last_representative = ON_DUTY.name,
      },
    })
  end,
}
