/**
 * The load generators of the proxy benchmark, on undici keep-alive pools:
 * - `fixedRate`: open loop at a fixed request rate (a request is sent on schedule whether or not the
 *   earlier ones have answered, so a slow server cannot slow the clock), latency per request in µs;
 * - `closedLoop`: N requests with C in flight, for throughput and memory over many requests;
 * - `streams`: streamed calls one at a time, timing the first chunk, the gaps between chunks, and
 *   how long each chunk took from the upstream's write (its stamped content) to here.
 * autocannon and wrk report latency in whole milliseconds and wrk has no fixed rate, too coarse for
 * a 0.5 ms budget; wrk is used for the maximum throughput only (see proxy.ts).
 */
import { Pool } from 'undici'
import { epochMicros } from './mock-upstream'
import { percentile } from './stats'

export interface Target {
  name: string
  /** Origin, `http://127.0.0.1:port`. */
  url: string
  path: string
  headers: Record<string, string>
}

export const chatBody = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }] })
export const streamBody = JSON.stringify({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Say hello.' }] })

export function poolFor(target: Target, connections = 128): Pool {
  return new Pool(target.url, { connections, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 })
}

async function one(pool: Pool, target: Target, body: string): Promise<number> {
  const response = await pool.request({ path: target.path, method: 'POST', headers: { 'content-type': 'application/json', ...target.headers }, body })
  await response.body.dump({ limit: Number.MAX_SAFE_INTEGER })
  return response.statusCode
}

export interface LatencyResult {
  rate: number
  sent: number
  ok: number
  failed: number
  /** Achieved rate of answers, per second. */
  achieved: number
  p50Us: number
  p99Us: number
}

/** Sends `rate` requests/s for `durationMs` on schedule; latency measured from each send to the last byte. */
export async function fixedRate(target: Target, rate: number, durationMs: number, body = chatBody): Promise<LatencyResult> {
  const pool = poolFor(target)
  await closedLoopOn(pool, target, Math.min(500, rate), 16, body)
  const total = Math.max(1, Math.round((rate * durationMs) / 1000))
  const interval = 1000 / rate
  const latencies: number[] = []
  const inFlight = new Set<Promise<void>>()
  let ok = 0
  let failed = 0
  let sent = 0
  const started = performance.now()
  const fire = () => {
    const sentAt = performance.now()
    const request: Promise<void> = one(pool, target, body)
      .then(
        (status) => {
          latencies.push((performance.now() - sentAt) * 1000)
          if (status === 200) ok++
          else failed++
        },
        () => {
          failed++
        },
      )
      .finally(() => inFlight.delete(request))
    inFlight.add(request)
  }
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - started) / interval) + 1)
      while (sent < due) {
        sent++
        fire()
      }
      if (sent < total) setTimeout(tick, Math.max(0, Math.min(interval, 1) - 0.2))
      else resolve()
    }
    tick()
  })
  await Promise.all(inFlight)
  const elapsed = (performance.now() - started) / 1000
  await pool.close()
  return { rate, sent, ok, failed, achieved: Math.round(ok / elapsed), p50Us: percentile(latencies, 50), p99Us: percentile(latencies, 99) }
}

async function closedLoopOn(pool: Pool, target: Target, count: number, concurrency: number, body: string, onProgress?: (done: number) => void): Promise<{ ok: number; failed: number; seconds: number }> {
  let next = 0
  let ok = 0
  let failed = 0
  const started = performance.now()
  const worker = async () => {
    while (next < count) {
      next++
      try {
        if ((await one(pool, target, body)) === 200) ok++
        else failed++
      } catch {
        failed++
      }
      onProgress?.(ok + failed)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { ok, failed, seconds: (performance.now() - started) / 1000 }
}

/** `count` requests with `concurrency` in flight; `onProgress(done)` after each answer. */
export async function closedLoop(target: Target, count: number, concurrency: number, onProgress?: (done: number) => void): Promise<{ ok: number; failed: number; perSecond: number }> {
  const pool = poolFor(target, concurrency)
  const result = await closedLoopOn(pool, target, count, concurrency, chatBody, onProgress)
  await pool.close()
  return { ok: result.ok, failed: result.failed, perSecond: Math.round(result.ok / result.seconds) }
}

export interface StreamResult {
  streams: number
  failed: number
  chunks: number
  ttfcP50Us: number
  ttfcP99Us: number
  gapP50Us: number
  gapP99Us: number
  /** From the upstream's write of a chunk to its arrival here (includes a constant clock offset between the two processes, which cancels in differences). */
  chunkDelayP50Us: number
  chunkDelayP99Us: number
}

/** `count` streamed calls one after another. */
export async function streams(target: Target, count: number): Promise<StreamResult> {
  const pool = poolFor(target, 4)
  const ttfc: number[] = []
  const gaps: number[] = []
  const delays: number[] = []
  let failed = 0
  let chunks = 0
  for (let index = 0; index < count + 3; index++) {
    const measured = index >= 3 // the first three warm the connection and the JIT
    const started = performance.now()
    let previous = 0
    try {
      const response = await pool.request({ path: target.path, method: 'POST', headers: { 'content-type': 'application/json', ...target.headers }, body: streamBody })
      if (response.statusCode !== 200) {
        await response.body.dump()
        failed++
        continue
      }
      let buffer = ''
      for await (const data of response.body) {
        const arrived = performance.now()
        const arrivedEpochUs = epochMicros()
        buffer += data.toString()
        let end: number
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const stamp = /"content":"(\d{10,}) "/.exec(event)
          if (!stamp || !measured) continue
          chunks++
          if (previous === 0) ttfc.push((arrived - started) * 1000)
          else gaps.push((arrived - previous) * 1000)
          previous = arrived
          delays.push(arrivedEpochUs - Number(stamp[1]))
        }
      }
    } catch {
      failed++
    }
  }
  await pool.close()
  return {
    streams: count,
    failed,
    chunks,
    ttfcP50Us: percentile(ttfc, 50),
    ttfcP99Us: percentile(ttfc, 99),
    gapP50Us: percentile(gaps, 50),
    gapP99Us: percentile(gaps, 99),
    chunkDelayP50Us: percentile(delays, 50),
    chunkDelayP99Us: percentile(delays, 99),
  }
}
