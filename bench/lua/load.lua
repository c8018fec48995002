-- wrk script for the benchmarks: optional POST body from a file whose {{n}} becomes a name
-- unique per run, thread and request; prints one machine-readable summary line at the end.
-- Usage: wrk ... -s load.lua <url> -- <body file or -> <name prefix>
local counter = 0
local template = nil
local prefix = ""
local threads = 0

function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

function init(args)
  if args[1] and args[1] ~= "-" then
    local f = assert(io.open(args[1], "rb"))
    template = f:read("*a")
    f:close()
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
  end
  prefix = args[2] or "r"
end

function request()
  if template == nil then
    return wrk.format()
  end
  counter = counter + 1
  local body = template:gsub("{{n}}", prefix .. "-" .. thread_id .. "-" .. counter)
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
