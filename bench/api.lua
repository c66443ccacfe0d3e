-- wrk script for bench/api.py: one of three requests, with the token header, counting
-- every response status and printing one JSON line (prefixed BENCH_JSON) when done.
--
-- Configured by environment variables (wrk's Lua has os.getenv):
--   BENCH_MODE        apps | releases | config
--   BENCH_TOKEN       the API token (sent as `Authorization: token T`)
--   BENCH_APPS        how many apps were seeded (named BENCH_APP_PREFIX + 4 digits, from 1)
--   BENCH_APP_PREFIX  default "bench-"
--   BENCH_RUN_ID      makes config values unique across runs, so every write is a change

local mode = os.getenv("BENCH_MODE") or "apps"
local token = os.getenv("BENCH_TOKEN") or ""
local napps = tonumber(os.getenv("BENCH_APPS") or "1000")
local prefix = os.getenv("BENCH_APP_PREFIX") or "bench-"
local run_id = os.getenv("BENCH_RUN_ID") or "run"

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("thread_id", next_id)
   table.insert(threads, thread)
   next_id = next_id + 1
end

function init(args)
   statuses = {}
   sent = 0
   -- Threads start on different apps so that they rarely wait on the same app's lock.
   start = (thread_id - 1) * 7919
   wrk.headers["Authorization"] = "token " .. token
   wrk.headers["Accept"] = "application/json"
   if mode == "config" then
      wrk.headers["Content-Type"] = "application/json"
   end
end

local function app_name(i)
   return string.format("%s%04d", prefix, (start + i) % napps + 1)
end

function request()
   sent = sent + 1
   if mode == "apps" then
      return wrk.format("GET", "/v2/apps/?limit=100")
   elseif mode == "releases" then
      return wrk.format("GET", "/v2/apps/" .. app_name(sent) .. "/releases/")
   end
   -- A new value every time (run, thread, sequence number), on one of 20 keys.
   local body = string.format('{"values": {"BENCH_KEY_%d": "%s-%d-%d"}}',
      sent % 20, run_id, thread_id, sent)
   return wrk.format("POST", "/v2/apps/" .. app_name(sent) .. "/config/", nil, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local counts = {}
   for _, thread in ipairs(threads) do
      local seen = thread:get("statuses")
      for status, n in pairs(seen) do
         counts[status] = (counts[status] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(counts) do
      table.insert(parts, string.format('"%d": %d', status, n))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"min": %d, "max": %d, "mean": %.1f, "stdev": %.1f, '
      .. '"p50": %d, "p90": %d, "p99": %d, "p99_9": %d}, "statuses": {%s}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.max, latency.mean, latency.stdev,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), table.concat(parts, ", ")))
end
