#!lua
-- quota.lua: the sending-quota check of postlb-policyd, run by Redis
-- (EVALSHA; embedded in the programs at build time as QUOTA_LUA).  One
-- atomic call checks every quota a policy request touches (GCRA: one
-- "theoretical arrival time", TAT, in microseconds of Redis TIME per
-- quota and subject), so one subject over quota charges none of the others.
--
-- KEYS: three per check i: state key (the TAT), per-subject override key,
--   quota-wide override key ("LIMIT WINDOW_MS" or "unlimited").
-- ARGV: four per check i: limit, window in ms, cost, units to reserve.
--   A negative cost is a give-back of -cost microseconds (time, not
--   units: exactly what an earlier call charged, whatever the limit is
--   now); it never fails and never moves a TAT before now.
-- Returns, when every check passes (the TATs are then written):
--   {1, units reserved per check (n), microseconds added to each TAT for
--   them (n), microseconds added for each cost (n)}: 3n + 1 integers.
--   Otherwise nothing is written and it returns
--   {0, failing check (1-based), retry in us, limit, window in ms}.
-- A check asking to reserve R units gets them charged too, at most 1% of
-- its (effective) limit, and only while its bucket stays at most half
-- full with them.  The arithmetic of one check must stay identical to
-- quota_gcra() and quota_give_back() in quota.c (tests compare them).
--
-- Try it: redis-cli --eval engine/quota.lua postlb:q:m:a@b postlb:o:m:a@b \
--   'postlb:o:m:*' , 10 60000 1 0
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = #ARGV / 4
local newtat, lim, span, res, rus, cus = {}, {}, {}, {1}, {}, {}
for i = 1, n do
  local limit = tonumber(ARGV[4*i-3])
  local win = tonumber(ARGV[4*i-2])
  local cost = tonumber(ARGV[4*i-1])
  local v = redis.call('MGET', KEYS[3*i-2], KEYS[3*i-1], KEYS[3*i])
  local o = v[2] or v[3]
  local tat = tonumber(v[1] or '0') or 0
  res[i + 1], rus[i], cus[i] = 0, 0, 0
  if cost < 0 then
    if tat > now then newtat[i] = math.max(now, tat + cost) end
  else
    if o then
      if o == 'unlimited' then limit = -1 else
        local l, w = string.match(o, '^(%d+) (%d+)$')
        if l then limit = tonumber(l); win = tonumber(w) end
      end
    end
    if limit == 0 then return {0, i, win * 1000, 0, win} end
    if limit > 0 then
      local wus = win * 1000
      if tat < now then tat = now end
      local step = cost * (wus / limit)
      local nt = tat + step
      if nt - now > wus and tat > now then
        local retry = nt - wus - now
        if step > wus then retry = tat - now end
        return {0, i, math.ceil(retry), limit, win}
      end
      newtat[i] = math.floor(nt)
      cus[i] = newtat[i] - tat
      lim[i], span[i] = limit, wus
    end
  end
end
for i = 1, n do
  local want = tonumber(ARGV[4*i])
  if lim[i] and want > 0 then
    want = math.min(want, math.floor(lim[i] / 100))
    local nt = newtat[i] + want * (span[i] / lim[i])
    if want > 0 and nt - now <= span[i] / 2 then
      rus[i] = math.floor(nt) - newtat[i]
      newtat[i] = math.floor(nt)
      res[i + 1] = want
    end
  end
  if newtat[i] and newtat[i] > now then
    redis.call('SET', KEYS[3*i-2], string.format('%d', newtat[i]),
      'PX', math.ceil((newtat[i] - now) / 1000) + 1000)
  elseif newtat[i] then
    redis.call('DEL', KEYS[3*i-2])
  end
end
for i = 1, n do
  res[n + 1 + i], res[2 * n + 1 + i] = rus[i], cus[i]
end
return res
