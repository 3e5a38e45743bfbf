-- wrk script: POST Voicenter IVR_LAYER_INPUT requests (the API docs' layer-5 case:
-- DTMF 12345678) for 1000 distinct callers, 0500000001 to 0500001000, pre-built at
-- init so the generator stays cheap and caches see a realistic mix. The path is the
-- URL's, so the same script drives POST / and POST /announce.
-- loadbench's CRM stub knows exactly these callers: keep the two in step.
local reqs, i = {}, 0
function init(args)
  for n = 1, 1000 do
    local body = string.format('{"METHOD":"IVR_LAYER_INPUT","DATA":{"DID":"0722776772","CALLER_ID":"05%08d",' ..
      '"IVR_UNIQUE_ID":"1bcd7954224861f85a2d70612f%d","DTMF":"12345678","LAYER_ID":"5","PREVIOUS_LAYER_ID":"5"}}', n, n)
    reqs[n] = wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
  end
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
