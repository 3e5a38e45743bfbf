-- POST /id-entry: the caller types their personal ID. A known ID goes to
-- layer 12 with the caller's name; a wrong one asks again (layer 13); the
-- third wrong ID of the same call goes to an agent (layer 20). The count is
-- kept per call in `state`, across the layers the call passes through.
local crm = require("lib.crm")
local state = require("state")
local log = require("log")

local IDENTIFIED, AGAIN, AGENT = 12, 13, 20
local MAX_TRIES = 3

return {
  fallback = AGENT,
  handle = function(call)
    local id = call.dtmf
    if id:match("^%d%d%d%d%d%d%d%d$") then
      local contact, err = crm.by_id(id)
      if contact then
        return ivr.go_to_layer(IDENTIFIED, { caller_name = contact.name, custom_data = { CRM_client_ID = contact.crm_id or "" } })
      end
      if contact == nil then
        -- The CRM cannot say: let a well-formed ID through rather than
        -- make the caller repeat it.
        log.warn("CRM down, accepting the ID by its form", { error = err })
        return ivr.go_to_layer(IDENTIFIED)
      end
    end
    local tries = state.incr("wrong_ids")
    if tries >= MAX_TRIES then
      log.info("too many wrong IDs, to an agent", { tries = tries })
      return ivr.go_to_layer(AGENT, { custom_data = { reason = "ID not recognised" } })
    end
    return ivr.go_to_layer(AGAIN)
  end,
}
