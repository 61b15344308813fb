"""The Lua scripts of the Redis stage log: each runs atomically inside Redis.

Keys of stage S under prefix P (the `{S}` hash tag keeps a stage's keys on one cluster slot):
  P stage:{S}:meta        hash   e = epoch, s = last seq (never reset, never expires)
  P stage:{S}:log         stream history; entry id `<seq>-0`, fields d = event JSON, t = kept-at ms
  P stage:{S}:key:<key>   string an idempotency key's first answer, expires after the history age
  P stage:{S}:fence       string the fence holder's token, with a TTL its holder renews
Channel: P stage:S          each appended event, as `<seq>\\n<epoch>\\n<event JSON>`; a new epoch
                            (a sweep) as `<seq>\\n<epoch>\\n` (no body: nothing was appended)

An event is kept (`t`) at the Redis server's clock (TIME), so every process ages history by one
clock; events seeded from the database are kept at their own `at`.
"""

from __future__ import annotations

# KEYS: meta, stream, key (idempotency; ignored unless ARGV[6] == '1'), fence
# ARGV: event JSON, history size, history age ms, channel, epoch if the stage is new ('' to
# refuse an unknown stage), keyed, the fence token of the caller ('' for none).
# Returns {1, first message} for a key seen before, {2} for a refused unknown stage, {3} while
# the stage is fenced (a sweep), else {0, message}; message is what followers get.
APPEND = """
local meta, stream, idem = KEYS[1], KEYS[2], KEYS[3]
local body, size, age = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if ARGV[6] == '1' then
  local first = redis.call('GET', idem)
  if first then return {1, first} end
end
local holder = redis.call('GET', KEYS[4])
if holder and holder ~= ARGV[7] then return {3} end
local epoch = redis.call('HGET', meta, 'e')
if not epoch then
  if ARGV[5] == '' then return {2} end
  epoch = ARGV[5]
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'e', epoch)
end
local seq = redis.call('HINCRBY', meta, 's', 1)
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
-- age: drop expired entries from the head. Usually the first entry is fresh and that one is all
-- that is read; otherwise at most 100 go per append (reads check ages anyway).
local function kept_at(entry)
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 't' then return tonumber(fields[i + 1]) end
  end
  return 0
end
local head = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)
if #head > 0 and kept_at(head[1]) < now - age then
  local expired = nil
  for _, entry in ipairs(redis.call('XRANGE', stream, '-', '+', 'COUNT', 100)) do
    if kept_at(entry) >= now - age then break end
    expired = entry[1]
  end
  local last = tonumber(string.match(expired, '^(%d+)'))
  redis.call('XTRIM', stream, 'MINID', (last + 1) .. '-0')
end
-- size: approximately (whole stream nodes); reads enforce the exact bound
if size > 0 then
  redis.call('XADD', stream, 'MAXLEN', '~', size, seq .. '-0', 'd', body, 't', now)
  redis.call('PEXPIRE', stream, age)
end
local message = seq .. '\\n' .. epoch .. '\\n' .. body
redis.call('PUBLISH', ARGV[4], message)
if ARGV[6] == '1' then
  redis.call('SET', idem, message, 'PX', age)
end
return {0, message}
"""

# KEYS: meta, stream. ARGV: since seq, history size, most bytes of event JSON (0: no bound).
# Returns {} for an unknown stage, else {epoch, seq, now ms, entries after since (or {} when the
# range cannot be held: past the head, or further back than the history's size), 1 when the
# entries weigh more than the bound (then none are sent), else 0}.
READ = """
local state = redis.call('HMGET', KEYS[1], 'e', 's')
if not state[1] then return {} end
local seq = tonumber(state[2] or '0')
local since, size, most = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local entries = {}
if since < seq and since >= seq - size then
  entries = redis.call('XRANGE', KEYS[2], (since + 1) .. '-0', '+', 'COUNT', seq - since)
  if most > 0 then
    local bytes = 0
    for _, entry in ipairs(entries) do
      bytes = bytes + #entry[2][2]
      if bytes > most then return {state[1], seq, now, {}, 1} end
    end
  end
end
return {state[1], seq, now, entries, 0}
"""

# KEYS: meta, stream. ARGV: epoch, seq, history size, history age ms, key prefix, then (seq,
# kept-at ms, event JSON, idempotency key or '') per recent event in increasing seq. Returns
# {epoch, seq}: the existing ones when the stage has a position already (then nothing changes).
SEED = """
local state = redis.call('HMGET', KEYS[1], 'e', 's')
if state[1] then return {state[1], tonumber(state[2] or '0')} end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'e', ARGV[1], 's', ARGV[2])
if #ARGV >= 6 then
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  for i = 6, #ARGV, 4 do
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], ARGV[i] .. '-0', 'd', ARGV[i + 2], 't', ARGV[i + 1])
    local left = tonumber(ARGV[4]) - (now - tonumber(ARGV[i + 1]))
    if ARGV[i + 3] ~= '' and left > 0 then
      redis.call('SET', ARGV[5] .. ARGV[i + 3], ARGV[i] .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[i + 2], 'PX', left)
    end
  end
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return {ARGV[1], tonumber(ARGV[2])}
"""

# KEYS: meta, stream. ARGV: the new epoch, channel. Returns the seq, which continues; followers
# get the marker `<seq>\\n<epoch>\\n`.
NEW_EPOCH = """
redis.call('HSET', KEYS[1], 'e', ARGV[1])
local seq = redis.call('HGET', KEYS[1], 's')
if not seq then
  seq = '0'
  redis.call('HSET', KEYS[1], 's', seq)
end
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[2], seq .. '\\n' .. ARGV[1] .. '\\n')
return tonumber(seq)
"""

# KEYS: fence. ARGV: token, ttl ms. Extends the fence only while the token still holds it.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS: fence. ARGV: token. Releases the fence only for its holder (never another's).
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
