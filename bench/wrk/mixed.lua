dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
-- 70% list, 10% get, 10% create, 10% toggle
request = function()
  local r = math.random(1, 10)
  if r <= 7 then return list_req()
  elseif r == 8 then return get_req()
  elseif r == 9 then return create_req()
  else return toggle_req() end
end
