-- Helpers for phone numbers as Voicenter sends them. Scripts use it with
-- local fmt = require("lib.fmt").
local M = {}

-- local_number turns 972501234567 into 0501234567, so SAY reads the number
-- the way the caller knows it.
function M.local_number(number)
  local rest = number:match("^%+?972(%d+)$")
  if rest then
    return "0" .. rest
  end
  return number
end

return M
