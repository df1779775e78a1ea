#!lua
-- count.lua: adds to a member's count of messages for one day, for
-- postlb-milter's refresher: the give-back of reserved picks left unused
-- (a negative amount) and of the picks made while Redis could not be
-- asked (positive).  Embedded into engine/count_lua.c at build time.
--
-- KEYS: [1] the count (PREFIX w:NAME:YYYYMMDD).
-- ARGV: [1] the amount to add (an integer, may be negative).
-- A count this call creates (Redis lost it, or it expired) gets the same
-- two-day expiry the route script gives it, so no count outlives its day.
-- Returns: { the new count }.
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], 172800)
end
return {v}
