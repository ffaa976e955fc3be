/**
 * What cache() costs, in CPU time per call: a call answered from the cache (memory LRU, and the
 * machine's Redis when it answers) against the same call to an instant provider without the layer;
 * what a miss adds (the key, the JSON of the entry, the scrub, the LRU write); and the key alone. The request
 * is a typical one: a system prompt, two turns and a question (about 700 characters), two parameters.
 *
 * `node --import tsx bench/cache.ts` prints a report and, last, `BENCH_RESULT {json}`;
 * `npm run bench -- cache` records it. `BENCH_QUICK=1` runs short batches.
 */
import os from 'node:os'
import { cache } from '../middleware/cache'
import { cacheKeyOf, defaultIgnoredParameters } from '../src/cache/cache-key'
import { createClient, type Client } from '../src/client'
import type { ChatRequest, ChatResponse } from '../src/schema'
import { redisStore } from '../src/shared-state/redis-store'
import type { Provider } from '../src/types'
import { emitResult, median, quick, round } from './stats'

const log = (line: string) => process.stderr.write(`${line}\n`)
const rounds = quick ? 5 : 25
const perRound = quick ? 200 : 1_000

const reply: ChatResponse = {
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, message: { role: 'assistant', content: 'A cache keeps the answer to a question it has seen, so the same question costs nothing the second time. '.repeat(4) }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 160, completion_tokens: 90, total_tokens: 250 },
}
/** An instant provider (no network), so what is measured is the library's own work. */
const instant: Provider = {
  name: 'instant',
  async chat() {
    return reply
  },
  async *stream() {},
  async embed() {
    throw new Error('not used')
  },
}
const request: ChatRequest = {
  model: 'instant/gpt-4o-mini',
  temperature: 0.2,
  max_tokens: 300,
  messages: [
    { role: 'system', content: 'You are a support assistant for a shop that sells outdoor gear. Answer briefly, name the product page when you can, and never promise delivery dates.' },
    { role: 'user', content: 'Do you have waterproof hiking boots in size 44?' },
    { role: 'assistant', content: 'Yes: the Ridge GTX and the Alpine Pro both come in 44. The Ridge GTX is lighter; the Alpine Pro is stiffer for scrambling.' },
    { role: 'user', content: 'Which one is better for long day hikes on forest trails with some mud, and how do they size compared to trainers?' },
  ],
}
const ignored = new Set(defaultIgnoredParameters)

function client(withCache: ReturnType<typeof cache> | undefined): Client {
  const made = createClient({ providers: { instant }, cost: false, onHookError: () => {} })
  if (withCache) made.use(withCache)
  return made
}

/**
 * CPU time (user + system) per operation of each contestant, in ns: rounds of `perRound` operations,
 * contestants in turn, the median round. CPU time, unlike wall time, leaves out the time this process
 * waited for a core on a busy machine (a Redis hit's network wait is left out with it: its line counts
 * only this process's work; the wall time of the same hits is reported beside it).
 */
async function cpuPerOperation(contestants: Record<string, () => unknown>): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(contestants).map((name) => [name, []]))
  for (const operation of Object.values(contestants)) for (let index = 0; index < perRound; index++) await operation()
  for (let round = 0; round < rounds; round++) {
    for (const [name, operation] of Object.entries(contestants)) {
      const before = process.cpuUsage()
      for (let index = 0; index < perRound; index++) await operation()
      const spent = process.cpuUsage(before)
      samples[name]!.push(((spent.user + spent.system) * 1000) / perRound)
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]))
}

/** Median wall time of `operation`, in ns, over `count` runs one after another. */
async function wallPerOperation(operation: () => unknown, count: number): Promise<number> {
  const times: number[] = []
  for (let index = 0; index < count; index++) {
    const started = process.hrtime.bigint()
    await operation()
    times.push(Number(process.hrtime.bigint() - started))
  }
  return median(times)
}

async function main(): Promise<void> {
  const bare = client(undefined)
  const memory = client(cache({ store: 'memory', maxEntries: 100_000 }))
  await memory.chat(request)
  let distinct = 0
  const fresh = () => ({ ...request, messages: [...request.messages.slice(0, -1), { role: 'user' as const, content: `${request.messages.at(-1)!.content as string} #${distinct++}` }] })

  const contestants: Record<string, () => unknown> = {
    bare: () => bare.chat(request),
    hitMemory: () => memory.chat(request),
    bareDistinct: () => bare.chat(fresh()),
    missMemory: () => memory.chat(fresh()),
    key: () => cacheKeyOf(request as unknown as Record<string, unknown>, 'chat', ignored),
  }
  const redis = redisStore({ url: process.env.REDIS_URL || 'redis://127.0.0.1:6379', prefix: `llm-onion-bench-${process.pid}:`, onUnavailable: 'fail-closed', report: () => {} })
  const onRedis = client(cache({ store: redis }))
  let redisReachable = true
  try {
    await redis.set('ping', '1', { ttlMs: 60_000 })
    await onRedis.chat(request)
    contestants.hitRedis = () => onRedis.chat(request)
  } catch {
    redisReachable = false
    log('Redis at 127.0.0.1:6379 (or REDIS_URL) does not answer: the Redis line is not measured')
  }

  const ns = await cpuPerOperation(contestants)
  const us = (value: number | undefined) => (value === undefined ? undefined : round(value / 1000))
  const result = {
    requestCharacters: JSON.stringify(request).length,
    replyCharacters: JSON.stringify(reply).length,
    bareCallUs: us(ns.bare),
    hitMemoryUs: us(ns.hitMemory),
    missAddedUs: us(ns.missMemory! - ns.bareDistinct!),
    keyUs: us(ns.key),
    hitRedisUs: redisReachable ? us(ns.hitRedis) : undefined,
    hitRedisWallUs: redisReachable ? us(await wallPerOperation(contestants.hitRedis!, perRound)) : undefined,
    measuredOn: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, load average ${os.loadavg().map((value) => value.toFixed(1)).join(', ')}`,
  }
  log(`cache(), CPU per call: a hit from memory ${result.hitMemoryUs} µs (a bare call to an instant provider: ${result.bareCallUs} µs); a miss adds ${result.missAddedUs} µs (key, entry JSON, scrub, LRU write); the key alone ${result.keyUs} µs for a ${result.requestCharacters}-character request${redisReachable ? `; a hit from Redis ${result.hitRedisUs} µs of CPU, ${result.hitRedisWallUs} µs wall (median)` : ''}`)
  for (const each of [bare, memory, onRedis]) await each.close()
  await redis.delete('ping').catch(() => undefined)
  if (redisReachable) await redis.delete(`cache:${cacheKeyOf(request as unknown as Record<string, unknown>, 'chat', ignored)}`)
  await redis.close()
  emitResult(result)
}

await main()
