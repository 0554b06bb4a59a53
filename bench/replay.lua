-- wrk script for bench/chatwoot_ingest.py: replays pre-built raw HTTP requests, each once.
-- BENCH_REQUESTS names a file of records "<byte length>\n<raw request>"; without it every request
-- is `GET wrk.path`. Requests reused after the file runs out are counted in `wrapped` (the run
-- flags the row). done() writes the summary to BENCH_RESULT as JSON.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  reqs = {}
  local path = os.getenv("BENCH_REQUESTS")
  if path and path ~= "" then
    local f = assert(io.open(path, "rb"))
    while true do
      local len = f:read("*l")
      if not len then break end
      reqs[#reqs + 1] = f:read(tonumber(len))
    end
    f:close()
  else
    reqs[1] = wrk.format("GET", wrk.path)
  end
  issued = 0
  wrapped = 0
  static = not (path and path ~= "")
end

function request()
  issued = issued + 1
  if static then return reqs[1] end
  local r = reqs[issued]
  if r == nil then
    wrapped = wrapped + 1
    r = reqs[(issued - 1) % #reqs + 1]
  end
  return r
end

function done(summary, latency, requests)
  local wrapped_all = 0
  for _, t in ipairs(threads) do
    wrapped_all = wrapped_all + (t:get("wrapped") or 0)
  end
  local out = assert(io.open(os.getenv("BENCH_RESULT"), "w"))
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p99_us": %d, "wrapped": %d}',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), wrapped_all))
  out:close()
end
