-- Shared by the scenarios: tokens rotate across the seeded users.
dofile(os.getenv("BENCH_TOKENS"))
math.randomseed(os.time())

function pick()
  local n = math.random(1, users)
  return n, string.format("u%04d", n), tokens[n]
end

function task_id(n, k)
  return string.format("%08x-0000-4000-8000-%012x", n, k)
end

function list_req()
  local _, uid, tok = pick()
  return wrk.format("GET", "/api/" .. uid .. "/tasks", { ["Authorization"] = "Bearer " .. tok })
end

function get_req()
  local n, uid, tok = pick()
  local path = "/api/" .. uid .. "/tasks/" .. task_id(n, math.random(1, tasks))
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. tok })
end

function create_req()
  local _, uid, tok = pick()
  return wrk.format("POST", "/api/" .. uid .. "/tasks",
    { ["Authorization"] = "Bearer " .. tok, ["Content-Type"] = "application/json" },
    '{"title":"Bench task"}')
end

function toggle_req()
  local n, uid, tok = pick()
  local path = "/api/" .. uid .. "/tasks/" .. task_id(n, math.random(1, tasks)) .. "/complete"
  return wrk.format("PATCH", path, { ["Authorization"] = "Bearer " .. tok })
end

-- A user who sees 10 lists (5 shared with them), 50 of their 100 tasks a page.
function shared_req()
  local n = math.random(1, shared_users)
  local uid = string.format("s%03d", n)
  return wrk.format("GET", "/api/" .. uid .. "/tasks?limit=50",
    { ["Authorization"] = "Bearer " .. shared_tokens[n] })
end
