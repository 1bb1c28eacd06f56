dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
-- The first page of one user's 10 000 tasks, plainly.
request = function()
  return wrk.format("GET", "/api/" .. big_user .. "/tasks?limit=100",
    { ["Authorization"] = "Bearer " .. big_token })
end
