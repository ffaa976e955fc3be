/**
 * The Lua scripts that make the Redis store's operations atomic: each runs whole on the server, so
 * two processes never interleave inside one. Windows are a sorted set of `id|value` members scored
 * by the server's clock (`TIME`, so replicas with skewed clocks agree) beside a hash of their running
 * `sum` and `count`: recording or reading forgets the members older than the window and subtracts
 * them, so neither reads the whole window. Numbers leave Lua as strings: Redis turns a Lua number
 * into an integer.
 */

/** The server's clock in ms, and the forgetting of a window's old members (KEYS[1] set, KEYS[2] totals, ARGV[1] windowMs). */
const forgetOld = `
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local oldest = now - tonumber(ARGV[1])
local sum = tonumber(redis.call('HGET', KEYS[2], 'sum'))
local count = tonumber(redis.call('HGET', KEYS[2], 'count'))
local changed = false
if sum == nil or count == nil then
  -- The totals are missing (lost, or never written): rebuild them from the members.
  sum, count, changed = 0, 0, true
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    sum = sum + tonumber(string.match(member, '[^|]*$'))
    count = count + 1
  end
end
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', oldest)
if #gone > 0 then
  changed = true
  for _, member in ipairs(gone) do
    sum = sum - tonumber(string.match(member, '[^|]*$'))
    count = count - 1
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', oldest)
end
if count <= 0 then sum, count = 0, 0 end
`

/** The scripts by command name, for ioredis' `scripts` option (EVALSHA, falling back to EVAL). */
export const storeScripts = {
  /** KEYS[1] counter; ARGV[1] amount, ARGV[2] ttlMs (0: none). The expiry is set only on a new key. */
  llmOnionIncrement: {
    numberOfKeys: 1,
    lua: `
local existed = redis.call('EXISTS', KEYS[1])
local total = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
if existed == 0 and tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return total
`,
  },
  /** KEYS[1] set, KEYS[2] totals; ARGV[1] windowMs, ARGV[2] value, ARGV[3] unique member id. */
  llmOnionAddToWindow: {
    numberOfKeys: 2,
    lua: `${forgetOld}
redis.call('ZADD', KEYS[1], now, ARGV[3] .. '|' .. ARGV[2])
sum = sum + tonumber(ARGV[2])
count = count + 1
local shown = string.format('%.17g', sum)
redis.call('HSET', KEYS[2], 'sum', shown, 'count', count)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return { shown, count }
`,
  },
  /** KEYS[1] set, KEYS[2] totals; ARGV[1] windowMs. */
  llmOnionReadWindow: {
    numberOfKeys: 2,
    lua: `${forgetOld}
local shown = string.format('%.17g', sum)
if changed then
  if count > 0 then redis.call('HSET', KEYS[2], 'sum', shown, 'count', count) else redis.call('DEL', KEYS[2]) end
end
return { shown, count }
`,
  },
  /** KEYS[1] set, KEYS[2] totals; ARGV[1] windowMs. The members, oldest first. */
  llmOnionWindowValues: {
    numberOfKeys: 2,
    lua: `${forgetOld}
if changed then
  if count > 0 then redis.call('HSET', KEYS[2], 'sum', string.format('%.17g', sum), 'count', count) else redis.call('DEL', KEYS[2]) end
end
return redis.call('ZRANGE', KEYS[1], 0, -1)
`,
  },
} as const

/** The commands the scripts add to an ioredis client. */
export interface StoreScriptCommands {
  llmOnionIncrement(key: string, amount: string, ttlMs: string): Promise<string>
  llmOnionAddToWindow(set: string, totals: string, windowMs: string, value: string, id: string): Promise<[string, number]>
  llmOnionReadWindow(set: string, totals: string, windowMs: string): Promise<[string, number]>
  llmOnionWindowValues(set: string, totals: string, windowMs: string): Promise<string[]>
}
