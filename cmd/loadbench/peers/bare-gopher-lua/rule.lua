-- loadbench's bare-gopher-lua peer: the rule of ivrouter's scripts/layers/5.lua,
-- the same source but for two things ivrouter does outside the script. ivrouter
-- runs layers/5.lua only for LAYER_ID 5, so the layer check is here; and its
-- ivr.go_to_layer (a Go builder returning a checked action) is a plain table.
local IDENTIFIED, RETRY = 12, 13

local function go_to_layer(layer)
  return {action = "GO_TO_LAYER", layer = layer}
end

return {
  handle = function(call)
    if call.layer_id == 5 and call.dtmf:match("^%d%d%d%d%d%d%d%d$") then
      return go_to_layer(IDENTIFIED)
    end
    return go_to_layer(RETRY)
  end,
}
