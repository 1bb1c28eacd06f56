dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
request = function() return shared_req() end
