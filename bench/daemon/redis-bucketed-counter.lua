-- tallymesh's window (docs/window-math.md) in Redis: one hash per key, one
-- field per bucket of width window / buckets, aligned to the epoch. The count
-- is the newest `buckets` buckets in full plus the bucket leaving the window
-- weighted by the share of it still inside; admitted iff count + cost <= limit,
-- and only an admitted request is counted.
-- KEYS[1]: the key. ARGV: now (ms), window (ms), buckets, limit, cost.
-- Returns what TM.CONSUME returns: {allowed 0|1, limit, remaining, resetMs, retryAfterMs}.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local buckets = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local cost = tonumber(ARGV[5])
-- floor(now * buckets / window), not floor(now / width): exact for integers below 2^53.
local cur = math.floor(now * buckets / window)
-- The edge bucket's share still inside the window, 1 - f, from exact integers.
local edgeWeight = ((cur + 1) * window - now * buckets) / window
local fields = {}
for i = 0, buckets do fields[i + 1] = cur - i end
local cells = redis.call('HMGET', key, unpack(fields))
local count = 0
for i = 1, buckets do count = count + (tonumber(cells[i]) or 0) end
count = count + edgeWeight * (tonumber(cells[buckets + 1]) or 0)
if count + cost > limit then
  -- Denied, not counted. resetMs: when the newest bucket with hits leaves the window;
  -- retryAfterMs: the next bucket boundary (a lower bound; tallymesh solves it exactly).
  local newest = cur - buckets
  for i = 1, buckets + 1 do
    if (tonumber(cells[i]) or 0) > 0 then newest = cur - i + 1; break end
  end
  return {0, limit, math.max(0, math.floor(limit - count)), math.ceil((newest + 1 + buckets) * window / buckets) - now, math.ceil((cur + 1) * window / buckets) - now}
end
if redis.call('HINCRBY', key, cur, cost) == cost then
  -- The first hit of a new bucket: drop the fields that have left every window, so a hot key stays
  -- bounded (HLEN is O(1); the scan runs only when there is something to drop).
  if redis.call('HLEN', key) > buckets + 1 then
    for _, field in ipairs(redis.call('HKEYS', key)) do
      if tonumber(field) < cur - buckets then redis.call('HDEL', key, field) end
    end
  end
end
redis.call('PEXPIRE', key, window + math.ceil(window / buckets))
return {1, limit, math.max(0, math.floor(limit - count - cost)), math.ceil((cur + 1 + buckets) * window / buckets) - now, 0}
