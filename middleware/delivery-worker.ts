/**
 * The delivery worker's thread (started by `createClient({ queue: { worker: true } })`, never
 * imported by you): it builds the integrations the calling thread names, from the catalogue and the
 * same options, and runs their mappings, encoders and sinks in a delivery queue of its own.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { findIntegration } from '../src/integrations/catalogue'
import { createDeliveryQueue } from '../src/delivery/queue'
import { collectExporters, type RecordedExporter } from '../src/delivery/worker-routes'
import { cloneable, readRouteCode, type ToMain, type ToWorker, type WorkerSetup } from '../src/delivery/worker-protocol'
import { createDropReports } from '../src/delivery/drop-reports'
import { drained } from '../src/delivery/queue-turns'

if (parentPort) {
  const port = parentPort
  const setup = workerData as WorkerSetup
  const send = (message: ToMain) => port.postMessage(message)
  const drops = createDropReports((infos) => send({ type: 'drops', infos }))
  const queue = createDeliveryQueue({ ...setup.queue, onDrop: drops.onDrop })
  // A reply says the worker's counts: the drops they include are reported before it.
  const reply = (request: number) => {
    drops.flush()
    send({ type: 'reply', request, stats: queue.stats(), received })
  }
  const integrations = new Map<number, RecordedExporter[]>()
  const sinks = new Set<RecordedExporter['sink']>()
  let received = 0
  let statsTimer: NodeJS.Timeout | undefined

  const build = (id: number, name: string, options: unknown) => {
    const descriptor = findIntegration(name)
    if (!descriptor) throw new Error(`the delivery worker does not know the integration "${name}"`)
    const { exporters } = collectExporters(name, options, () => descriptor.factory(options as never))
    integrations.set(id, exporters)
    for (const exporter of exporters) {
      sinks.add(exporter.sink)
      queue.replay(exporter.sink)
    }
  }

  // Counters reach the calling thread's stats() at most 4 times a second, and with every reply.
  const reportSoon = () => {
    statsTimer ??= setTimeout(() => {
      statsTimer = undefined
      send({ type: 'stats', stats: queue.stats(), received })
    }, 250).unref()
  }

  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'spec':
        try {
          build(message.id, message.name, message.options)
        } catch (error) {
          console.error(`[llm-onion] the delivery worker could not build ${message.name}: ${(error as Error).message}`)
        }
        break
      case 'items':
        for (let at = 0; at < message.items.length; at += 2) {
          received++
          const { spec, index, mapped } = readRouteCode(message.items[at] as number)
          const payload = message.items[at + 1]
          const exporter = integrations.get(spec)?.[index]
          if (!exporter) continue
          if (mapped || !exporter.map) queue.enqueue(exporter.sink, payload)
          else queue.enqueueMapped(exporter.sink, payload as never, exporter.map, (error) => send({ type: 'hookError', spec, index, error: cloneable(error) }))
        }
        reportSoon()
        break
      case 'flush':
      case 'stats':
        void (message.type === 'flush' ? queue.flush({ timeoutMs: message.timeoutMs }) : Promise.resolve()).then(() => reply(message.request))
        break
      case 'drain':
        void drained(() => queue.stats().pending, message.below, message.patienceMs).then(() => reply(message.request))
        break
      case 'close':
        void queue
          .close({ timeoutMs: message.timeoutMs })
          .then(() => Promise.allSettled([...sinks].map((sink) => sink.close?.())))
          .then(() => reply(message.request))
        break
      case 'crash':
        setImmediate(() => {
          throw new Error('the delivery worker was made to crash (a test)')
        })
        break
    }
  })
}
