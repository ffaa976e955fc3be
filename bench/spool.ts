/**
 * The durable spool's cost per event. On the call path: `queue.enqueue()` of one event into a
 * delivery queue with `spool` against the same queue without it (the line the budget is judged on),
 * and the bare `append()` of one event against the same loop without it. In the background (not on the
 * call path, reported so the whole cost is visible): encoding and writing a batch, per event, and
 * `acknowledge()` per event. Each batch runs on a fresh spool in a temporary directory, so the disk
 * never fills and every append takes the same path.
 *
 * `node --import tsx bench/spool.ts` prints a report and, last, `BENCH_RESULT {json}`.
 * `BENCH_QUICK=1` runs short batches (a smoke test; the numbers are not worth recording).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSpool, type Spool } from '../src/delivery/spool'
import { createDeliveryQueue, type DeliveryQueue, type Sink } from '../src/delivery/queue'
import { cannedResponse, request } from './contestants'
import { emitResult, measureInterleaved, median, nowNs, quick, round } from './stats'

// An exported event as the queue would hold it: the call's request, its reply, usage, cost, timing.
const event = {
  id: 'call_0123456789abcdef',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  type: 'chat',
  status: 'success',
  streaming: false,
  model: 'gpt-4o-mini',
  responseModel: cannedResponse.model,
  provider: 'openai',
  apiBase: 'https://api.openai.com/v1',
  messages: request.messages,
  response: cannedResponse,
  usage: { inputTokens: 12, outputTokens: 10, totalTokens: 22 },
  cost: { input: 0.0000018, output: 0.000006, total: 0.0000078 },
  startTime: 1_700_000_000_000,
  endTime: 1_700_000_000_420,
  latencyMs: 420,
  user: 'user-42',
  metadata: { team: 'search', feature: 'autocomplete' },
  tags: ['production'],
  attempts: 1,
}
const eventBytes = Buffer.byteLength(JSON.stringify(event))

const measureOptions = quick ? { batchMs: 10, batches: 3, warmupMs: 50 } : { batchMs: 40, batches: 9, warmupMs: 300 }
const log = (line: string) => process.stderr.write(`${line}\n`)
const root = mkdtempSync(join(tmpdir(), 'llm-onion-bench-spool-'))
let spools = 0
let currentDir = ''

/** A spool in a new empty directory; the last one's directory is removed. */
function freshSpool(): Spool {
  if (currentDir) rmSync(currentDir, { recursive: true, force: true })
  currentDir = join(root, String(spools++))
  return openSpool({ dir: currentDir })
}

// A sink that accepts every batch at once; its batches are too large to fill while measuring, so the
// timed loop sees only what a call pays: the queue taking the item (and, with a spool, appending it).
const acceptingSink: Sink<unknown> = { name: 'posthog', maxBatchSize: 1_000_000, send: async () => {} }
let queueDirs = 0

/** Two queues, one without a spool and one with a spool in a new directory; nothing is sent until flushed. */
function freshQueues(): { bare: DeliveryQueue; spooled: DeliveryQueue } {
  const options = { maxSize: 10_000_000, flushIntervalMs: 60_000 }
  return { bare: createDeliveryQueue(options), spooled: createDeliveryQueue({ ...options, spool: join(root, `queue-${queueDirs++}`) }) }
}

async function main(): Promise<void> {
  process.on('exit', () => rmSync(root, { recursive: true, force: true }))
  // 0. The call path through the queue: enqueue() with and without a spool.
  log('0/3 queue.enqueue() with and without a spool ...')
  let queues = freshQueues()
  const throughQueue = await measureInterleaved(
    {
      queue: () => queues.bare.enqueue(acceptingSink, event),
      queueWithSpool: () => queues.spooled.enqueue(acceptingSink, event),
    },
    {
      ...measureOptions,
      // Untimed between batches: everything is delivered (and acknowledged), and fresh queues start.
      settle: async () => {
        await queues.bare.close()
        await queues.spooled.close()
        rmSync(join(root, `queue-${queueDirs - 1}`), { recursive: true, force: true })
        queues = freshQueues()
      },
    },
  )
  await queues.bare.close()
  await queues.spooled.close()

  let spool = freshSpool()
  const items = [event]
  const sink: unknown[] = []

  // 1. The call path: append() of one event, against the same loop doing a push (the baseline), and
  // one JSON.stringify of the event for scale (what the spool would cost if it encoded on the call path).
  log('1/3 append() on the call path ...')
  const callPath = await measureInterleaved(
    {
      baseline: () => {
        sink.push(event)
        if (sink.length > 100_000) sink.length = 0
      },
      append: () => spool.append('posthog', items),
      stringify: () => JSON.stringify(event),
    },
    {
      ...measureOptions,
      // Untimed between batches: what the last batch buffered is written, and a fresh spool starts.
      settle: async () => {
        await spool.close()
        spool = freshSpool()
      },
    },
  )

  // 2. In the background: encoding and writing a batch (one write, then one fsync): the CPU time per
  // event (what it takes from the calls sharing the core) and the wall time of the whole flush().
  log('2/3 the background write, per event ...')
  const batchSize = quick ? 2_000 : 10_000
  const cpuSamples: number[] = []
  const flushSamples: number[] = []
  for (let sample = 0; sample < (quick ? 3 : 9); sample++) {
    await spool.close()
    spool = freshSpool()
    for (let index = 0; index < batchSize; index++) spool.append('posthog', items)
    const cpu = process.cpuUsage()
    const started = nowNs()
    await spool.flush()
    flushSamples.push((nowNs() - started) / 1e6)
    const used = process.cpuUsage(cpu)
    cpuSamples.push(((used.user + used.system) * 1000) / batchSize)
  }

  // 3. acknowledge() of delivered events (called by the queue after a batch, in the background).
  log('3/3 acknowledge() ...')
  const acknowledgeSamples: number[] = []
  for (let sample = 0; sample < (quick ? 3 : 9); sample++) {
    await spool.close()
    spool = freshSpool()
    const ids = Array.from({ length: batchSize }, () => spool.append('posthog', items)[0]!)
    await spool.flush()
    const started = nowNs()
    for (let index = 0; index < ids.length; index += 100) spool.acknowledge('posthog', ids.slice(index, index + 100))
    acknowledgeSamples.push((nowNs() - started) / batchSize)
  }
  await spool.close()

  const result = {
    measuredOn: 'bench/spool.ts',
    date: new Date().toISOString(),
    eventBytes,
    queueNs: round(throughQueue.queue!),
    queueWithSpoolNs: round(throughQueue.queueWithSpool!),
    queueSpoolAddedNs: round(throughQueue.queueWithSpool! - throughQueue.queue!),
    appendNs: round(callPath.append!),
    baselineNs: round(callPath.baseline!),
    appendAddedNs: round(callPath.append! - callPath.baseline!),
    stringifyNs: round(callPath.stringify!),
    backgroundCpuNsPerEvent: round(median(cpuSamples)),
    flushMsPerBatch: round(median(flushSamples)),
    batchSize,
    acknowledgeNsPerEvent: round(median(acknowledgeSamples)),
  }
  log(`event of ${eventBytes} bytes of JSON`)
  log(`call path through the queue: enqueue() ${result.queueWithSpoolNs} ns per event with a spool, ${result.queueNs} ns without: ${result.queueSpoolAddedNs} ns added; budget 5,000 ns`)
  log(`call path: append() ${result.appendNs} ns per event (baseline ${result.baselineNs} ns): ${result.appendAddedNs} ns added; budget 5,000 ns (one JSON.stringify of the event: ${result.stringifyNs} ns)`)
  log(`background: encode + write + fsync ${result.backgroundCpuNsPerEvent} ns of CPU per event; flush() of ${batchSize} events took ${result.flushMsPerBatch} ms`)
  log(`background: acknowledge() ${result.acknowledgeNsPerEvent} ns per event (in lists of 100)`)
  emitResult(result)
}

await main()
