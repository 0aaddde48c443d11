-- The classic Redis sliding-window log: one sorted set per key, one member per
-- admitted hit, scored by its time. Trim what slid out, count, admit and record
-- if under the limit, refresh the expiry.
-- KEYS[1]: the key. ARGV: now (ms), window (ms), limit, a member unique to this hit.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
  return {1, limit - count - 1}
end
return {0, 0}
