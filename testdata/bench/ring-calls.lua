-- wrk script: fills the console's ring: 10,000 calls of three layers each (5, 13, 20),
-- then plain GETs, which the router refuses without recording. See the README's
-- console section for the command.
local i = 0
local layers = {"5", "13", "20"}
request = function()
  i = i + 1
  if i > 30000 then return wrk.format("GET", "/") end
  local call = math.floor((i - 1) / 3)
  local body = string.format('{"METHOD":"IVR_LAYER_INPUT","DATA":{"DID":"0722776772","CALLER_ID":"05%08d","IVR_UNIQUE_ID":"20261201%020d","DTMF":"12345678","LAYER_ID":"%s","PREVIOUS_LAYER_ID":"5"}}', call, call, layers[(i - 1) % 3 + 1])
  return wrk.format("POST", "/", {["Content-Type"] = "application/json"}, body)
end
