-- The wrk script of the HTTP benchmark (bench/http_bench.py). Two modes, by its arguments:
--   wrk -tT ... -s ledger.lua URL -- progress FILE T
--       POST /actions/{id}/progress, each with its agency lead's token. FILE holds one
--       "action_id token" line per action; wrk's T threads take disjoint slices of it and
--       each walks its slice in turn, so no two requests in flight change the same action (a
--       conflict would be a 409 of the benchmark's making, not of the service).
--   wrk ... -s ledger.lua URL -- get TOKEN
--       GET of the URL's path with a bearer token.
-- At the end it prints "statuses 200=N 409=M ...": every answer, by HTTP status.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  mode = args[1]
  if mode == "progress" then
    local count = tonumber(args[3])
    rows, next_row = {}, 0
    local i = 0
    for line in io.lines(args[2]) do
      local action, token = line:match("^(%S+)%s+(%S+)$")
      if action then
        if i % count == id then
          table.insert(rows, {"/actions/" .. action .. "/progress", "Bearer " .. token})
        end
        i = i + 1
      end
    end
    body = '{"narrative": "Audit of referrals completed; training booked.", "rag": "amber"}'
  else
    wrk.headers["Authorization"] = "Bearer " .. args[2]
  end
end

function request()
  if mode ~= "progress" then
    return wrk.format()
  end
  next_row = next_row % #rows + 1
  local row = rows[next_row]
  return wrk.format("POST", row[1], {["Authorization"] = row[2],
                                     ["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(total) do
    table.insert(parts, string.format("%d=%d", status, n))
  end
  table.sort(parts)
  io.write("statuses " .. table.concat(parts, " ") .. "\n")
end
