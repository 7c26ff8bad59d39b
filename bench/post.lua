-- wrk: POST a native single send; phone numbers vary so nothing is deduplicated.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "bench-token")
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"to":"+7965%07d","text":"Your code is %d","from":"Test"%s}',
    counter % 10000000, counter % 10000, os.getenv("BENCH_EXTRA") or "")
  return wrk.format(nil, nil, nil, body)
end
