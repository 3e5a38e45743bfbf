-- answers: 99
-- A loop that never ends.
return function(call)
  while true do end
end
