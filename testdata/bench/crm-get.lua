-- wrk script: the CRM stub's own latency, asked directly the way the benchmark
-- scripts ask it: GET /contacts?phone=N for the same 1000 callers as post.lua.
local reqs, i = {}, 0
function init(args)
  for n = 1, 1000 do
    reqs[n] = wrk.format("GET", string.format("/contacts?phone=05%08d", n))
  end
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
