-- steady.lua - wrk script for bench/run: boot-script lookups over rotating,
-- distinct MACs, in every spelling bootd takes.
--
-- The inventory bench/run builds: host i (0 <= i < BENCH_HOSTS) has the MAC
-- 52:54:00 followed by i in three bytes and is marked for reinstall when
-- i % 20 == 0; unknown MACs are 52:55:00 followed by j, j < BENCH_UNKNOWN.
-- Of every 20 requests, 17 ask for a local host (85%), 1 for a reinstall
-- host (5%) and 2 for an unknown MAC (10%).  Each class is walked with a
-- large prime stride, so consecutive requests hit scattered rows and every
-- MAC of a class comes round before any repeats; each wrk thread starts
-- elsewhere.  The spelling rotates over the list below; iPXE's own
-- (${netX/mac} URL-encoded: 52%3A54%3A...) is the most frequent.
--
-- At the end one line "BENCH {json}" gives requests, errors and latency
-- percentiles (microseconds) for bench/run to read.

local hosts = tonumber(os.getenv("BENCH_HOSTS") or "1000")
local unknown = tonumber(os.getenv("BENCH_UNKNOWN") or "1000")
local reinstall = math.floor((hosts + 19) / 20)   -- i = 0, 20, 40, ...
local local_ = hosts - reinstall
local STRIDE = 1000003                             -- prime, > any class

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local n, cur_local, cur_reinstall, cur_unknown

function init(args)
  n = tid * 7
  cur_local = (tid * 7919) % math.max(local_, 1)
  cur_reinstall = (tid * 104729) % math.max(reinstall, 1)
  cur_unknown = (tid * 1299709) % math.max(unknown, 1)
end

local function bytes3(x)
  return math.floor(x / 65536) % 256, math.floor(x / 256) % 256, x % 256
end

-- spell(prefix bytes, k) -> the mac= value in spelling k
local spellings = {
  function(b) return string.format("%02x%%3A%02x%%3A%02x%%3A%02x%%3A%02x%%3A%02x", unpack(b)) end,
  function(b) return string.format("%02X%%3A%02X%%3A%02X%%3A%02X%%3A%02X%%3A%02X", unpack(b)) end,
  function(b) return string.format("%02x%%3a%02x%%3a%02x%%3a%02x%%3a%02x%%3a%02x", unpack(b)) end,
  function(b) return string.format("%02x:%02x:%02x:%02x:%02x:%02x", unpack(b)) end,
  function(b) return string.format("%02X:%02X:%02X:%02X:%02X:%02X", unpack(b)) end,
  function(b) return string.format("%02x-%02x-%02x-%02x-%02x-%02x", unpack(b)) end,
  function(b) return string.format("%02X-%02X-%02X-%02X-%02X-%02X", unpack(b)) end,
  function(b) return string.format("%02x%02x%02x%02x%02x%02x", unpack(b)) end,
  function(b) return string.format("%02X%02X%02X%02X%02X%02X", unpack(b)) end,
  function(b) return string.format("%02x%02x.%02x%02x.%02x%02x", unpack(b)) end,
  function(b) return string.format("%02X%02X.%02X%02X.%02X%02X", unpack(b)) end,
}

request = function()
  n = n + 1
  local k = n % 20
  local b
  if k < 17 and local_ > 0 then
    cur_local = (cur_local + STRIDE) % local_
    local i = math.floor(cur_local / 19) * 20 + 1 + cur_local % 19
    b = {0x52, 0x54, 0x00, bytes3(i)}
  elseif k == 17 and reinstall > 0 then
    cur_reinstall = (cur_reinstall + STRIDE) % reinstall
    b = {0x52, 0x54, 0x00, bytes3(cur_reinstall * 20)}
  else
    cur_unknown = (cur_unknown + STRIDE) % unknown
    b = {0x52, 0x55, 0x00, bytes3(cur_unknown)}
  end
  -- spelling: the first (iPXE's) for 4 requests in 14, the others once each
  local s = math.floor(n / 20) + n
  s = s % 14
  if s < 4 then s = 1 else s = s - 2 end
  return wrk.format("GET", "/ipxe/v1/config?mac=" .. spellings[s](b) ..
                    "&platform=efi&buildarch=x86_64")
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "status_errors": %d, ' ..
    '"timeouts": %d, "p50_us": %d, "p99_us": %d, "p999_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
