dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
-- Each user's current collection tag (written by bench/run.py just before the run).
dofile(os.getenv("BENCH_ETAGS"))
request = function()
  local n, uid, tok = pick()
  return wrk.format("GET", "/api/" .. uid .. "/tasks",
    { ["Authorization"] = "Bearer " .. tok, ["If-None-Match"] = etags[n] })
end
