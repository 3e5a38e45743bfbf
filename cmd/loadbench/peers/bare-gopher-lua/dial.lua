-- loadbench's bare-gopher-lua peer: ivrouter's scripts/night.lua with ivr's
-- builders as plain tables, which the peer encodes by hand.
local ON_DUTY = { name = "John Doe", mobile = "0501234567" }

return {
  handle = function(call)
    return {
      action = "DIAL",
      targets = { {type = "PHONE", target = ON_DUTY.mobile} },
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
    }
  end,
}
