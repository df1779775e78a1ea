#!lua
-- feedback_cb.lua: the shared side of the delivery-log circuit breaker of
-- a member (FEEDBACK_CB_LUA, run by postlb-policyd with EVAL when its
-- breaker trips or closes; see engine/health.h for the fields).  Embedded
-- into engine/feedback_cb_lua.c at build time.
--
-- KEYS: [1] the member's hash (PREFIX m:NAME), [2] its events (PREFIX
--   ev:NAME).
-- ARGV: [1] "down" (tripped) or "up" (closed), [2] down: how long it is
--   open in ms, [3] its trips in a row, [4] why, [5] events kept.
-- Time is Redis's (TIME), as for every milter that reads cb_until.
-- down: cb_until and up_at (the start of the slow start) = now + ARGV[2],
--   cb_trips, cb_why; up: cb_trips 0, cb_why.  Either way "NOW feedback
--   down|up: WHY" is pushed onto the events.
-- Returns cb_until (down) or now (up).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = now
if ARGV[1] == 'down' then
  at = now + tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 'cb_until', at, 'cb_trips', ARGV[3],
             'cb_why', ARGV[4], 'up_at', at)
else
  redis.call('HSET', KEYS[1], 'cb_trips', 0, 'cb_why', ARGV[4])
end
redis.pcall('PUBLISH', KEYS[1], 'cb ' .. ARGV[1]) -- the milters' listeners
redis.call('LPUSH', KEYS[2], now .. ' feedback ' .. ARGV[1] .. ': ' .. ARGV[4])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[5]) - 1)
return at
