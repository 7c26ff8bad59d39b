-- wrk: POST a native single send as one of BENCH_ACCOUNTS accounts in turn (tokens
-- bench-token-0, bench-token-1, ...); phone numbers vary so nothing is deduplicated.
local accounts = tonumber(os.getenv("BENCH_ACCOUNTS") or "1")
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"to":"+7965%07d","text":"Your code is %d","from":"Test"%s}',
    counter % 10000000, counter % 10000, os.getenv("BENCH_EXTRA") or "")
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer bench-token-" .. (counter % accounts),
  }
  return wrk.format("POST", nil, headers, body)
end
