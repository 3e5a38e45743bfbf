-- POST /clinic: a clinic's front door (its layer 1).
--   * Open Sunday to Thursday 08:00-18:00 and Friday 08:00-13:00, Israel time;
--     closed on Israeli holidays and the clinic's own closures
--     (calendars/holidays.ics), and open only in the morning on holiday eves.
--   * Closed: a recording, then the day and hour the clinic opens again.
--   * Open: patients the CRM knows go to the patients' desk (layer 2, which
--     asks for their ID: clinic-id.lua), anyone else to new patients
--     (layer 3); when the CRM cannot say, to new patients too.
local time = require("time")
local crm = require("lib.crm")
local phone = require("phone")
local log = require("log")

local PATIENTS, NEW_PATIENTS, GOODBYE = 2, 3, 99

local HOURS = time.hours({
  sun = "08:00-18:00", mon = "08:00-18:00", tue = "08:00-18:00", wed = "08:00-18:00",
  thu = "08:00-18:00", fri = "08:00-13:00",
  zone = "Asia/Jerusalem",
  closed = { "israel", "holidays" },
  eve = "08:00-13:00",
})

-- closed tells the caller when to call back. These hours always open
-- again within days, so next_open always has an answer here.
local function closed()
  local opens = HOURS:next_open()
  return ivr.say({
    ivr.recording("clinic-closed.mp3"), -- "the clinic is closed; we open again on"
    ivr.date(opens.date),
    ivr.recording("clinic-at.mp3"), -- "at"
    ivr.number(opens.hour),
  }, { next_layer = GOODBYE, language = "HE" })
end

return {
  fallback = NEW_PATIENTS,
  handle = function(call)
    if not HOURS:open() then
      return closed()
    end
    local patient, err = crm.by_phone(phone.to_local(call.caller_id) or call.caller_id)
    if patient == nil then
      log.warn("CRM lookup failed: to new patients", { error = err })
      return ivr.go_to_layer(NEW_PATIENTS)
    end
    if not patient then
      return ivr.go_to_layer(NEW_PATIENTS)
    end
    return ivr.go_to_layer(PATIENTS, {
      caller_name = patient.name,
      custom_data = { CRM_client_ID = patient.crm_id or "" },
    })
  end,
}
