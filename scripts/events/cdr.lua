-- events/cdr.lua: after every call Voicenter posts its CDR to /events/cdr,
-- and this script writes how the call ended back to the CRM:
-- POST CRM_URL/calls with the call's ID, status, duration, caller and the
-- layers it went through. Without CRM_URL there is nowhere to write.
-- Voicenter has had its answer before this runs, and nothing is retried: a
-- CRM that is down or refuses loses the write-back, with a warning in the
-- log.
local http = require("http")
local json = require("json")
local env = require("env")
local log = require("log")

local CRM_URL = env.get("CRM_URL")
local TOKEN = env.get("CRM_TOKEN")

return {
  handle = function(cdr)
    log.info("call ended", { status = cdr.status, duration = cdr.duration })
    if not CRM_URL then
      return
    end
    local layers = json.array() -- [] when the call passed no layer
    for _, step in ipairs(cdr.ivr) do
      table.insert(layers, step.layer_id)
    end
    local res, err = http.post(CRM_URL .. "/calls", {
      json = {
        ivruniqueid = cdr.ivruniqueid,
        status = cdr.status,
        duration = cdr.duration,
        caller = cdr.caller,
        layers = layers,
      },
      headers = TOKEN and { Authorization = "Bearer " .. TOKEN } or nil,
    })
    if not res then
      log.warn("CRM write-back failed", { error = err })
    elseif res.status >= 300 then
      log.warn("CRM refused the write-back", { status = res.status })
    end
  end,
}
