-- answers: 99
-- A loop that never ends and catches every error, the deadline's too.
return function(call)
  while true do pcall(function() while true do end end) end
end
