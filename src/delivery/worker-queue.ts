/**
 * The delivery queue with a delivery worker (`createClient({ queue: { worker: true } })`, on in
 * `llm-onion serve`): exporters of integrations built from the catalogue hand their events to a
 * `node:worker_threads` worker as structured clones, once per turn of the event loop for all of
 * them (a loop of calls that gives no turns waits for the worker to keep up); the worker builds the
 * same integrations from their names and options and maps, encodes, spools and sends there.
 * Everything else (integrations made from your own closures) goes to a queue on this thread, as
 * without a worker. `flush()`, `close()`, `stats()`, `onDrop` and the spool mean
 * what they mean without one. A worker that crashes is reported on stderr and started again; it
 * replays what its spool holds.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { createDropWarning } from './counters'
import { createDeliveryQueue } from './queue'
import { validateDeliveryQueueOptions, type DeliveryQueue, type DeliveryQueueOptions, type DeliveryStats, type DropInfo } from './queue-options'
import { createQueueTurns } from './queue-turns'
import { routeOf, type IntegrationSpec, type WorkerRoute } from './worker-routes'
import type { Sink } from './sink-contract'
import { exporterKey, mergeStats, readRouteCode, routeCode, type ToMain, type ToWorker, type WorkerItems, type WorkerSetup } from './worker-protocol'

/** Where the worker's code is: beside the built chunk, in the esbuild bundle's folder, or the TypeScript source (run with tsx). */
function workerEntry(): { code: string; eval: boolean } {
  const here = fileURLToPath(new URL('.', import.meta.url))
  const candidates = [
    join(here, 'middleware/delivery-worker.js'),
    join(here, '../middleware/delivery-worker.js'),
    join(here, 'delivery-worker.mjs'),
    join(here, '../../middleware/delivery-worker.ts'),
  ]
  const file = candidates.find((candidate) => existsSync(candidate))
  if (!file) throw new Error(`The delivery worker's code is missing (looked for ${candidates.join(', ')}): reinstall llm-onion, or create the client with queue: { worker: false }.`)
  if (!file.endsWith('.ts')) return { code: file, eval: false }
  // From the TypeScript source (tests, `npm run serve`): the worker loads it through tsx.
  const url = JSON.stringify(pathToFileURL(file).href)
  return { code: `import('tsx/esm/api').then(({ register }) => { register(); return import(${url}) })`, eval: true }
}

/**
 * Creates a delivery queue whose catalogue-built exporters deliver from a worker thread.
 *
 * @example
 * ```ts
 * const queue = createWorkerDeliveryQueue({ worker: true, spool: './.llm-onion-spool' })
 * await queue.close()
 * ```
 */
export function createWorkerDeliveryQueue(options: DeliveryQueueOptions = {}): DeliveryQueue {
  const settings = validateDeliveryQueueOptions(options)
  const { onDrop, worker: _worker, spool, ...plain } = options
  const spoolOptions = spool === undefined ? undefined : typeof spool === 'string' ? { dir: spool } : spool
  // One writer per directory: the worker, which delivers most, holds the spool directory itself (so its
  // files are where they are without a worker), this thread's queue a directory inside it. Opening that
  // one here fails createClient() at once when the directory cannot be used.
  const setup: WorkerSetup = { queue: { ...plain, spool: spoolOptions } }
  const local = createDeliveryQueue({ ...options, worker: false, spool: spoolOptions && { ...spoolOptions, dir: join(spoolOptions.dir, 'calling-thread') } })
  const specIds = new Map<IntegrationSpec, number>()
  const specs: IntegrationSpec[] = []
  const onErrors = new Map<number, (error: unknown) => void>()
  /** The error handler last registered for each route (what onErrors holds under its key). */
  const reporterOf = new WeakMap<WorkerRoute, (error: unknown) => void>()
  const requests = new Map<number, (stats: DeliveryStats | undefined) => void>()
  let worker: Worker | undefined
  let workerStats: DeliveryStats | undefined
  /** Items waiting for the next message to the worker, two entries each (worker-protocol.ts). */
  let outbox: WorkerItems = []
  let immediate: NodeJS.Immediate | undefined
  /** A loop of calls that gives no turns waits for the worker's queue to have room, which the worker says (queue-turns.ts). */
  const turns = createQueueTurns({ maxSize: settings.maxSize, room: async (below, patienceMs) => (await ask({ type: 'drain', below, patienceMs }))?.pending ?? 0 })
  let requestCount = 0
  let closing = false
  let startedAt = 0
  let quickCrashes = 0
  let restartTimer: NodeJS.Timeout | undefined
  let closed: Promise<void> | undefined
  const counts = { restarts: 0, lost: 0, handedOver: 0, received: 0 }
  const warnDrop = createDropWarning()

  function start(): Worker {
    const entry = workerEntry()
    const started = new Worker(entry.code, { eval: entry.eval, workerData: setup, stdout: false, stderr: false })
    startedAt = Date.now()
    started.unref()
    started.on('message', (message: ToMain) => receive(message))
    started.on('error', (error) => crashed(started, error))
    started.on('exit', (code) => crashed(started, new Error(`it exited with code ${code}`)))
    counts.received = 0
    worker = started
    // A new worker learns every integration again; with a spool it replays their leftovers.
    for (const [index, spec] of specs.entries()) started.postMessage({ type: 'spec', id: index, name: spec.name, options: spec.options } satisfies ToWorker)
    return started
  }

  function crashed(which: Worker, error: Error): void {
    if (which !== worker) return
    worker = undefined
    for (const resolve of requests.values()) resolve(undefined)
    requests.clear()
    if (closing) return
    const lost = Math.max(0, counts.handedOver - counts.received)
    counts.lost += lost
    counts.handedOver = 0
    counts.restarts++
    // A worker that crashes as it starts is started again later and later (0.1 s, doubling, up to 30 s).
    quickCrashes = Date.now() - startedAt < 5_000 ? quickCrashes + 1 : 0
    const delayMs = quickCrashes === 0 ? 0 : Math.min(30_000, 100 * 2 ** (quickCrashes - 1))
    console.error(
      `[llm-onion] the delivery worker stopped (${error.message}); starting it again${delayMs > 0 ? ` in ${delayMs} ms` : ''}. ${lost > 0 ? `Up to ${lost} items handed to it and not yet taken were lost; ` : ''}what its spool holds is sent again.`,
    )
    restartTimer = setTimeout(() => {
      restartTimer = undefined
      start()
      post()
    }, delayMs)
    restartTimer.unref()
  }

  /** The running worker, started when there is none (and none is waiting to restart). */
  function running(): Worker | undefined {
    if (worker) return worker
    if (restartTimer || closing) return undefined
    return start()
  }

  function receive(message: ToMain): void {
    switch (message.type) {
      case 'stats':
        workerStats = message.stats
        counts.received = message.received
        break
      case 'reply':
        workerStats = message.stats
        counts.received = message.received
        requests.get(message.request)?.(message.stats)
        requests.delete(message.request)
        break
      case 'drops':
        // The worker's drops are warned of here, as the queue on this thread warns of its own.
        for (const info of message.infos) (onDrop ?? warnDrop)(info as DropInfo)
        break
      case 'hookError':
        onErrors.get(exporterKey(message.spec, message.index))?.(message.error)
        break
    }
  }

  function specId(spec: IntegrationSpec): number {
    let id = specIds.get(spec)
    if (id !== undefined) return id
    id = specs.length
    specs.push(spec)
    specIds.set(spec, id)
    running()?.postMessage({ type: 'spec', id, name: spec.name, options: spec.options } satisfies ToWorker)
    return id
  }

  function handOver(route: WorkerRoute, mapped: boolean, payload: unknown, onError?: (error: unknown) => void): void {
    const id = specId(route.spec)
    // Set when it changes, not per item: a client's reporter for an exporter is the same function call after call.
    if (onError && reporterOf.get(route) !== onError) {
      reporterOf.set(route, onError)
      onErrors.set(exporterKey(id, route.index), onError)
    }
    outbox.push(routeCode(id, route.index, mapped), payload)
    counts.handedOver++
    turns.handedOver()
    // One message per turn of the event loop, whatever the number of calls in it.
    immediate ??= setImmediate(postAtTurn)
  }

  function postAtTurn(): void {
    immediate = undefined
    turns.queueRan()
    post()
  }

  function post(): void {
    if (outbox.length === 0) return
    const target = running()
    // Restarting: the items wait (bounded by maxSize, the oldest lost first).
    if (!target) {
      const over = outbox.length / 2 - settings.maxSize
      if (over > 0) {
        counts.lost += over
        outbox.splice(0, over * 2)
      }
      return
    }
    const items = outbox
    outbox = []
    try {
      target.postMessage({ type: 'items', items } satisfies ToWorker)
    } catch (error) {
      // An item that cannot be cloned: send them one by one, so only that one is lost (and counted).
      for (let at = 0; at < items.length; at += 2) {
        try {
          target.postMessage({ type: 'items', items: [items[at], items[at + 1]] } satisfies ToWorker)
        } catch {
          counts.handedOver--
          onErrors.get(readRouteCode(items[at] as number).exporter)?.(new Error(`an event could not be handed to the delivery worker (${(error as Error).message})`))
        }
      }
    }
  }

  /** Posts what waits, then asks the worker; resolves with its counters once it answers (at once when none runs). */
  function ask(question: DistributiveOmit<Extract<ToWorker, { request: number }>, 'request'>): Promise<DeliveryStats | undefined> {
    post()
    if (!worker) return Promise.resolve(workerStats)
    const request = ++requestCount
    const asked = worker
    // Waiting for the worker keeps the process alive, as a flush of the queue on this thread does.
    asked.ref()
    return new Promise<DeliveryStats | undefined>((resolve) => {
      requests.set(request, resolve)
      asked.postMessage({ ...question, request } satisfies ToWorker)
    }).finally(() => {
      if (requests.size === 0 && worker === asked) asked.unref()
    })
  }

  const queue: DeliveryQueue = {
    enqueue(sink, item) {
      const route = closed ? undefined : routeOf(sink as Sink<unknown>)
      if (route) handOver(route, true, item)
      else local.enqueue(sink, item)
    },
    enqueueMapped(sink, source, map, onError) {
      const route = closed ? undefined : routeOf(sink as Sink<unknown>, map)
      if (route) handOver(route, false, source, onError)
      else local.enqueueMapped(sink, source, map, onError)
    },
    async flush(options = {}) {
      await Promise.all([local.flush(options), ask({ type: 'flush', timeoutMs: options.timeoutMs })])
    },
    close(options = {}) {
      closed ??= (async () => {
        const timeoutMs = options.timeoutMs ?? settings.closeTimeoutMs
        const stopping = worker
        const [, stats] = await Promise.all([local.close({ timeoutMs }), ask({ type: 'close', timeoutMs })])
        if (stats) workerStats = stats
        closing = true
        if (restartTimer) clearTimeout(restartTimer)
        await stopping?.terminate()
        worker = undefined
      })()
      return closed
    },
    turnNeeded() {
      const forWorker = turns.turnNeeded()
      const forLocal = local.turnNeeded?.()
      return forWorker && forLocal ? Promise.all([forWorker, forLocal]).then(() => undefined) : (forWorker ?? forLocal)
    },
    replay(sink) {
      const route = routeOf(sink as Sink<unknown>)
      // The worker replays an integration's leftovers when it builds it.
      if (route) specId(route.spec)
      else local.replay(sink)
    },
    stats() {
      const stats = mergeStats(local.stats(), workerStats)
      const inTransit = Math.max(0, counts.handedOver - counts.received)
      stats.enqueued += inTransit
      stats.pending += inTransit
      stats.worker = { running: worker !== undefined, restarts: counts.restarts, lost: counts.lost, handedOver: counts.handedOver }
      return stats
    },
  }
  Object.defineProperty(queue, crashForTests, { value: () => worker?.postMessage({ type: 'crash' } satisfies ToWorker) })
  return queue
}

const crashForTests = Symbol.for('llm-onion.delivery-worker.crash')

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/**
 * Makes the queue's delivery worker throw an uncaught error, as a bug in a sink would: for tests of
 * crash recovery only.
 *
 * @example
 * ```ts
 * crashDeliveryWorker(client.services.queue)
 * ```
 */
export function crashDeliveryWorker(queue: DeliveryQueue): void {
  const crash = (queue as unknown as Record<symbol, (() => void) | undefined>)[crashForTests]
  if (!crash) throw new Error('This queue has no delivery worker: create the client with queue: { worker: true }.')
  crash()
}
