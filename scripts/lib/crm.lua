-- The CRM the example scripts ask: by default the demo CRM that
-- `ivrouter serve --demo-crm testdata/crm.json` starts; set CRM_URL (and
-- CRM_TOKEN) in ivrouter's environment to use a real one.
--
-- Lookups are cached for a minute (one CRM request for any number of calls
-- at once) and an expired answer stands in for a while if the CRM is down.
local cache = require("cache")
local http = require("http")
local json = require("json")
local env = require("env")

local BASE = env.get("CRM_URL") or "http://127.0.0.1:8081"
local TOKEN = env.get("CRM_TOKEN")
local TTL = 60 -- seconds

local M = {}

local function lookup(kind, value)
  return cache.remember("crm:" .. kind .. ":" .. value, TTL, function()
    local res, err = http.get(BASE .. "/contacts", {
      query = { [kind] = value },
      headers = TOKEN and { Authorization = "Bearer " .. TOKEN } or nil,
      timeout = 1000,
    })
    if not res then
      return nil, err -- CRM unreachable, slow, or its circuit is open
    end
    if res.status == 404 then
      return { found = false } -- a stranger is an answer too: cache it
    end
    if res.status ~= 200 then
      return nil, "CRM answered " .. res.status
    end
    local contact, derr = json.decode(res.body)
    if not contact then
      return nil, "CRM sent bad JSON: " .. derr
    end
    contact.found = true
    return contact
  end)
end

-- contact(phone) returns the contact, false for a number the CRM does not
-- know, or nil and an error when the CRM cannot say.
function M.by_phone(phone)
  local c, err = lookup("phone", phone)
  if not c then return nil, err end
  return c.found and c or false
end

-- by_id(id) is the same lookup by personal ID.
function M.by_id(id)
  local c, err = lookup("id", id)
  if not c then return nil, err end
  return c.found and c or false
end

return M
