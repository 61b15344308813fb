"""The Lua scripts of the Redis roster: each runs atomically inside Redis, on the server's clock.

Keys of stage S under prefix P (the `{S}` hash tag keeps a stage's keys on one cluster slot):
  P roster:{S}:parts   hash  node id -> its part, `{"a": audience, "p": [[session, nickname, role]]}`
  P roster:{S}:alive   zset  node id -> when its part expires (ms, Redis TIME)
  P roster:{S}:holds   hash  session -> avatar id (at most one per session, one session per avatar)
  P roster:{S}:grace   zset  session -> when its hold is dropped unless a live part lists it again
Channel: P roster:S    the node id of the process whose call changed something (or swept it)

Every script first sweeps: parts past their expiry go (their performers' holds get the grace),
holds past their grace go unless their session is live again. All four keys expire after
`keep` ms without a write, so a stage everybody left leaves nothing behind.
"""

from __future__ import annotations

# KEYS: parts, alive, holds, grace. ARGV[1..4]: grace ms, keep ms, channel, node id.
_SWEEP = """
local parts, alive, holds, grace = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local grace_ms, keep_ms, channel, node = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local changed = false
local function performers_of(body)
  local sessions = {}
  for _, entry in ipairs(cjson.decode(body)['p']) do sessions[#sessions + 1] = entry[1] end
  return sessions
end
local function live_sessions()
  local live = {}
  local all = redis.call('HGETALL', parts)
  for i = 1, #all, 2 do
    for _, s in ipairs(performers_of(all[i + 1])) do live[s] = true end
  end
  return live
end
-- sessions that are in no live part any more keep their holds for the grace
local function dormant(sessions)
  if #sessions == 0 then return end
  local live = live_sessions()
  for _, s in ipairs(sessions) do
    if not live[s] and redis.call('HEXISTS', holds, s) == 1 then
      redis.call('ZADD', grace, now + grace_ms, s)
    end
  end
end
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', alive, '-inf', now)) do
  local body = redis.call('HGET', parts, gone)
  redis.call('HDEL', parts, gone)
  redis.call('ZREM', alive, gone)
  if body then dormant(performers_of(body)) end
  changed = true
end
local due = redis.call('ZRANGEBYSCORE', grace, '-inf', now)
if #due > 0 then
  local live = live_sessions()
  for _, s in ipairs(due) do
    redis.call('ZREM', grace, s)
    if not live[s] then redis.call('HDEL', holds, s) end
  end
end
local function finish()
  if changed then redis.call('PUBLISH', channel, node) end
  for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, keep_ms) end
end
"""

# ARGV[5]: 'set' or 'sweep'; ARGV[6]: the part ('' withdraws it); ARGV[7]: ttl ms.
# Returns 1 when something changed (and was published), else 0.
TOUCH = (
    _SWEEP
    + """
if ARGV[5] == 'set' then
  local body, ttl = ARGV[6], tonumber(ARGV[7])
  local old = redis.call('HGET', parts, node)
  if body == '' then
    if old then
      redis.call('HDEL', parts, node)
      redis.call('ZREM', alive, node)
      dormant(performers_of(old))
      changed = true
    end
  else
    redis.call('HSET', parts, node, body)
    redis.call('ZADD', alive, now + ttl, node)
    if old ~= body then
      changed = true
      local kept = {}
      for _, s in ipairs(performers_of(body)) do
        kept[s] = true
        redis.call('ZREM', grace, s)  -- back within the grace: the hold is theirs again
      end
      if old then
        local gone = {}
        for _, s in ipairs(performers_of(old)) do
          if not kept[s] then gone[#gone + 1] = s end
        end
        dormant(gone)
      end
    end
  end
end
finish()
return changed and 1 or 0
"""
)

# Returns {parts as [node, body, ...], holds as [session, avatar, ...]} after the sweep.
SNAPSHOT = (
    _SWEEP
    + """
local reply = {redis.call('HGETALL', parts), redis.call('HGETALL', holds)}
finish()
return reply
"""
)

# ARGV[5]: session; ARGV[6]: avatar id ('' releases). The newest claim wins: the avatar is taken
# from whoever held it, and the session's previous avatar is let go. A claim by a session no live
# part lists yet (claimed before its part is published) is kept for the grace meanwhile.
HOLD = (
    _SWEEP
    + """
local session, avatar = ARGV[5], ARGV[6]
if avatar == '' then
  if redis.call('HDEL', holds, session) == 1 then changed = true end
  redis.call('ZREM', grace, session)
else
  local all = redis.call('HGETALL', holds)
  for i = 1, #all, 2 do
    if all[i + 1] == avatar and all[i] ~= session then
      redis.call('HDEL', holds, all[i])
      redis.call('ZREM', grace, all[i])
      changed = true
    end
  end
  if redis.call('HGET', holds, session) ~= avatar then
    redis.call('HSET', holds, session, avatar)
    changed = true
  end
  if not live_sessions()[session] then redis.call('ZADD', grace, now + grace_ms, session) end
end
finish()
return changed and 1 or 0
"""
)
