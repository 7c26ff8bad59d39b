-- wrk: bench/post.lua's native single sends, paced and counted (bench/soak.py drives it).
-- SOAK_RATE: requests a second, on one schedule shared by the thread's connections, so the rate
-- holds whatever the latency (late slots go at once, up to a second's worth). SOAK_MESSAGES:
-- requests in all; after the last answer the script prints "done", and bench/soak.py stops wrk
-- with SIGINT (wrk would sleep out its -d otherwise). Every SOAK_EVERY answers it prints
-- "answered N failed M".
dofile(os.getenv("SOAK_POST"))

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } soak_timespec;
  int clock_gettime(int clock, soak_timespec *ts);
]]
local ts = ffi.new("soak_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local rate = tonumber(os.getenv("SOAK_RATE"))
local total = tonumber(os.getenv("SOAK_MESSAGES"))
local every = tonumber(os.getenv("SOAK_EVERY"))
local issued, answered, failed, start = 0, 0, 0, nil

delay = function()
  if issued >= total then
    return 86400000 -- every request is out: this connection idles until wrk is stopped
  end
  local now = now_ms()
  start = start or now
  local due = start + issued * 1000 / rate
  if due < now - 1000 then -- over a second behind (a stall): skip the slots, do not burst
    start = start + (now - 1000 - due)
    due = now - 1000
  end
  issued = issued + 1
  return math.max(0, due - now)
end

response = function(status, headers, body)
  answered = answered + 1
  if status ~= 201 then -- 201: a new message (200 would be a duplicate)
    failed = failed + 1
    if failed <= 5 then
      io.write(string.format("failure %d %s\n", status, body))
    end
  end
  if answered % every == 0 or answered == total then
    io.write(string.format("answered %d failed %d\n", answered, failed))
    if answered == total then
      io.write("done\n")
    end
    io.stdout:flush()
  end
end
