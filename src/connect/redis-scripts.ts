/**
 * The Lua scripts that make the Redis connector's guarantees atomic. Redis runs a script as one
 * step, so "check the lease, then act" cannot interleave with another consumer's step: a consumer
 * that lost its lease (stalled, partitioned away) can neither receive entries nor write results.
 */
import crypto from 'node:crypto';
import type { Redis } from 'ioredis';

/** A script run by EVALSHA, loaded again (EVAL) when the server lost its cache (restart, SCRIPT FLUSH). */
export class RedisScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = crypto.createHash('sha1').update(source).digest('hex');
  }

  async run(client: Redis, keys: readonly string[], args: readonly (string | number | Buffer)[], binary = false): Promise<unknown> {
    const call = (cmd: string, head: string): Promise<unknown> =>
      binary ? client.callBuffer(cmd, head, keys.length, ...keys, ...args) : client.call(cmd, head, keys.length, ...keys, ...args);
    try {
      return await call('EVALSHA', this.sha);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return call('EVAL', this.source);
    }
  }
}

/** Stream ids compare as (ms, seq) pairs; Lua numbers hold both exactly (ms < 2^53). */
const ID_NEWER = `
local function newer(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am > bm or (am == bm and as > bs)
end
`;

/**
 * Membership: KEYS[1] members (sorted set scored by the server's clock, ms); ARGV me, ttlMs, leave.
 * Records this consumer's heartbeat (or removes it when leaving), forgets members silent for more
 * than ttlMs and returns the live names.
 */
export const HEARTBEAT = new RedisScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[3] == '1' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], now, ARGV[1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return redis.call('ZRANGE', KEYS[1], 0, -1)
`);

/** KEYS[1] lease, KEYS[2] epoch counter; ARGV me, ttlMs. Returns the new token, or nil when held. */
export const ACQUIRE = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = ARGV[1] .. '/' .. redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
return token
`);

/** KEYS lease keys; ARGV ttlMs, tokens...; returns 1/0 per lease (0 = lost). */
export const RENEW = new RedisScript(`
local out = {}
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i + 1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
`);

/** KEYS[1] lease; ARGV token. Deletes the lease if it is still ours. */
export const RELEASE = new RedisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
`);

/**
 * Fenced read. KEYS: n lease keys, then the n partition streams; ARGV group, me, count, tokens...
 * For each partition whose lease is still ours: XREADGROUP '>' (no BLOCK inside a script). Returns
 * per partition {index, status, entries, lastId}: status 1 = read (lastId = the stream's newest id,
 * where a blocking wait starts), 0 = lease lost (nothing delivered).
 */
export const READ = new RedisScript(`
local n = #KEYS / 2
local out = {}
for i = 1, n do
  if redis.call('GET', KEYS[i]) == ARGV[3 + i] then
    local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3], 'STREAMS', KEYS[n + i], '>')
    local entries = {}
    if r then entries = r[1][2] end
    local last = '0-0'
    local tail = redis.call('XREVRANGE', KEYS[n + i], '+', '-', 'COUNT', 1)
    if #tail > 0 then last = tail[1][1] end
    out[i] = {i - 1, 1, entries, last}
  else
    out[i] = {i - 1, 0, {}, '0-0'}
  end
end
return out
`);

/**
 * The commit of one partition's round, all or nothing.
 * KEYS: lease, checkpoint hash, input partition stream, output stream, dead-letter stream.
 * ARGV: token, group, firstId, lastId, nIds, nResults, nDead, nCkpt, trim ('1' = XTRIM MINID),
 * then nIds ids, then nResults blocks (field count k, then k name/value items), then nDead blocks
 * (id, code, reason, series), then nCkpt (series, checkpoint) pairs.
 * Returns 1 committed, 0 duplicate (this round's entries are already committed: a replay after a
 * lost reply), -1 fenced (the lease is not ours: nothing written).
 */
export const COMMIT = new RedisScript(`${ID_NEWER}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local last = redis.call('HGET', KEYS[2], '_last')
if last and not newer(ARGV[3], last) then return 0 end
local nIds, nResults, nDead, nCkpt = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local i = 10
local ids = {}
for k = 1, nIds do ids[k] = ARGV[i]; i = i + 1 end
for r = 1, nResults do
  local k = tonumber(ARGV[i])
  local fields = {}
  for f = 1, k do fields[f] = ARGV[i + f] end
  redis.call('XADD', KEYS[4], '*', unpack(fields))
  i = i + k + 1
end
for d = 1, nDead do
  redis.call('XADD', KEYS[5], '*', 'id', ARGV[i], 'stream', KEYS[3], 'code', ARGV[i + 1], 'reason', ARGV[i + 2], 'series', ARGV[i + 3])
  i = i + 4
end
for c = 1, nCkpt do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
redis.call('HSET', KEYS[2], '_last', ARGV[4])
for k = 1, nIds, 256 do
  redis.call('XACK', KEYS[3], ARGV[2], unpack(ids, k, math.min(k + 255, nIds)))
end
if ARGV[9] == '1' then redis.call('XTRIM', KEYS[3], 'MINID', ARGV[4]) end
return 1
`);
