dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
-- The first page of one user's 10 000 tasks with a filter and a sort.
request = function()
  return wrk.format("GET", "/api/" .. big_user .. "/tasks?status=pending&tag=work&sort=-due&limit=100",
    { ["Authorization"] = "Bearer " .. big_token })
end
