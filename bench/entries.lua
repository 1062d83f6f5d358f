-- wrk script for bench/run.py: every request is a random line of the file named by
-- BENCH_ENTRIES ("METHOD<TAB>PATH<TAB>BEARER TOKEN or -<TAB>BODY or -").
-- At the end it prints one JSON line prefixed "BENCHJSON ".
local entries = {}
local file = assert(io.open(os.getenv("BENCH_ENTRIES"), "r"))
for line in file:lines() do
  local method, path, token, body = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t(.*)$")
  local headers = {}
  if token ~= "-" then headers["Authorization"] = "Bearer " .. token end
  if body == "-" then body = nil else headers["Content-Type"] = "application/json" end
  entries[#entries + 1] = wrk.format(method, path, headers, body)
end
file:close()
math.randomseed(os.time())

request = function()
  return entries[math.random(#entries)]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "status_errors": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
