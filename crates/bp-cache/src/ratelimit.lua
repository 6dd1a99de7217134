-- Sliding-log rate limit: one round trip, exact at the window boundary.
-- KEYS[1]  the identifier's log (a sorted set of request times in µs)
-- ARGV[1]  limit (requests per window)
-- ARGV[2]  window in milliseconds
-- Returns {allowed (0/1), limit, remaining, reset_at_ms, now_ms}; reset_at
-- is when the oldest logged request leaves the window (a slot frees).
-- Time is the server's (TIME), so every process agrees on it.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2]) * 1000
-- A request made exactly one window ago no longer counts.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  -- The member is unique even for two requests in the same microsecond.
  redis.call('ZADD', KEYS[1], now, t[1] .. string.format('%06d', tonumber(t[2])) .. '-' .. count)
  count = count + 1
  allowed = 1
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local reset = now + window
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] then
  reset = tonumber(oldest[2]) + window
end
-- Rounded up, so "Redis time >= reset_at" means the slot is really free.
return {allowed, limit, limit - count, math.ceil(reset / 1000), math.floor(now / 1000)}
