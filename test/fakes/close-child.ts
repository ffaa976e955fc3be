/**
 * A script that ends in `await client.close()`, as the README's quickstart does, run as a child
 * process by test/delivery/close.test.ts: it enqueues 40 events for a sink at SINK_URL (one request
 * per event, SINK_CONCURRENCY in flight), optionally keeps a server running (KEEP_SERVER=1), closes
 * the client with CLOSE_TIMEOUT_MS and prints the queue's counters as one JSON line.
 */
import { createServer } from 'node:http'
import { createClient } from '../../src/index'
import { httpSink } from '../../src/delivery/http-sink'

const client = createClient({ queue: { closeTimeoutMs: Number(process.env.CLOSE_TIMEOUT_MS), minTimeoutMs: 200, flushIntervalMs: 10 } })
const sink = httpSink<{ id: number }>({
  name: 'target',
  url: process.env.SINK_URL!,
  maxBatchSize: 1,
  maxConcurrency: Number(process.env.SINK_CONCURRENCY ?? 4),
  timeoutMs: 60_000,
  encode: (events) => events[0],
})
for (let id = 0; id < 40; id++) client.services.queue.enqueue(sink, { id })
const server = process.env.KEEP_SERVER ? createServer().listen(0, '127.0.0.1') : undefined
const before = client.services.queue.stats()
await client.close()
const after = client.services.queue.stats()
console.log(JSON.stringify({ pendingBefore: before.pending, after }))
server?.close()
