#!lua
-- drain_record.lua: what the drain of postlb-policyd records before it
-- requeues messages (DRAIN_RECORD_LUA), embedded into
-- engine/drain_record_lua.c at build time; one call per batch.
--
-- KEYS: PREFIX rq:MESSAGE-ID, one per message.
-- ARGV: [1] how long the records live, in seconds; [1 + i] the recipient
--   domains of KEYS[i], space-separated, which the requeue socketmap hands
--   to the route script when it sees that Message-ID.
-- Returns: { the number of records written }.
local ttl = tonumber(ARGV[1])
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ttl)
end
return { #KEYS }
