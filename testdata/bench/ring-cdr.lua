-- wrk script: a CDR for each of ring-calls.lua's 10,000 calls, then plain GETs.
local i = 0
request = function()
  if i >= 10000 then return wrk.format("GET", "/") end
  local body = string.format('{"caller":"05%08d","target":"972702246666","time":1580846139,"duration":38,"ivruniqueid":"20261201%020d","type":"Incoming Call","status":"ANSWER","did":"0722776772","record":"https://rec.example.com/20261201%020d.mp3","dialtime":33,"representative_name":"Noa","IVR":"[{\\"layer_id\\":5,\\"layer_name\\":\\"ID\\",\\"layer_number\\":1,\\"Dtmf\\":0,\\"dtmf_order\\":1},{\\"layer_id\\":13,\\"layer_name\\":\\"Clerks\\",\\"layer_number\\":2,\\"Dtmf\\":0,\\"dtmf_order\\":2}]"}', i, i, i)
  i = i + 1
  return wrk.format("POST", "/events/cdr", {["Content-Type"] = "application/json"}, body)
end
