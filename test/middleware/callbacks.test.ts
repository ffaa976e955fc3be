import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient, type Client, type Middleware } from '../../src/index'
import { asMiddleware, callbacks, type CallStartEvent } from '../../middleware/callbacks'
import type { IntegrationDescriptor } from '../../src/integrations/descriptor'
import { CustomLogger } from '../../src/litellm/custom-logger'
import type { CallEvent } from '../../src/event'
import { defineExporter, type IntegrationMoment } from '../../src/integrations/exporter'
import { httpSink } from '../../src/delivery/http-sink'
import { defineObservingLayer } from '../../src/integrations/observing-layer'
import { startReceiver, type Receiver } from '../../src/testing/receiver'

// Fake built-ins, found by name beside the catalogue's own.
const fakes = vi.hoisted(() => new Map<string, IntegrationDescriptor>())
vi.mock('../../src/integrations/catalogue', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/integrations/catalogue')>()
  return {
    ...original,
    findIntegration: (name: string) => fakes.get(name) ?? original.findIntegration(name),
    findCallback: (name: string) => {
      const fake = fakes.get(name)
      return fake ? { integration: fake, id: name, implied: undefined } : original.findCallback(name)
    },
    get knownIntegrationNames() {
      return [...original.knownIntegrationNames, ...fakes.keys()].sort()
    },
  }
})

function registerIntegration(name: string, factory: IntegrationDescriptor['factory']) {
  fakes.set(name, { name, aliases: [], switchedOnBy: [], position: 'exporters', takesEnv: false, factory })
  fakeNames.push(name)
}

const messages = [{ role: 'user' as const, content: 'hello lists' }]
let client: Client | undefined
let receiver: Receiver | undefined
const fakeNames: string[] = []

afterEach(async () => {
  await client?.close()
  await receiver?.close()
  client = receiver = undefined
  for (const name of fakeNames.splice(0)) fakes.delete(name)
})

/** Registers a fake built-in that records how it was built and what it saw. */
function registerFake(name: string) {
  const built: Array<IntegrationMoment[] | undefined> = []
  const seen: string[] = []
  registerIntegration(name, (options) => {
    built.push(options?.moments)
    const moments = new Set(options?.moments ?? ['success', 'failure'])
    const layer: Middleware = async (_ctx, next) => {
      if (moments.has('input')) seen.push('input')
      try {
        await next()
      } catch (error) {
        if (moments.has('failure')) seen.push('failure')
        throw error
      }
      if (moments.has('success')) seen.push('success')
    }
    return layer
  })
  return { built, seen }
}

describe('callbacks', () => {
  it('calls input functions before the provider, success functions after a success, failure functions only after a failure', async () => {
    const log: string[] = []
    client = createClient().use(
      callbacks({
        input: [(event) => void log.push(`input ${event.status} ${event.model}`)],
        success: [(event) => void log.push(`success ${event.status}`)],
        failure: [(event) => void log.push(`failure ${event.status} ${event.error?.status}`)],
      }),
      async (_ctx, next) => {
        log.push('provider')
        await next()
      },
    )
    await client.chat({ model: 'mock/x', messages })
    await expect(client.chat({ model: 'mock/x', messages, mock_error: { status: 401 } })).rejects.toThrow()
    expect(log).toEqual(['input started mock/x', 'provider', 'success success', 'input started mock/x', 'provider', 'failure failure 401'])
  })

  it('gives input functions the call as it starts, without outcome fields', async () => {
    let start: CallStartEvent | undefined
    client = createClient().use(callbacks({ input: [(event) => void (start = event)] }))
    await client.chat({ model: 'mock/x', messages, user: 'user-1' })
    expect(start).toMatchObject({ status: 'started', model: 'mock/x', user: 'user-1', messages })
    expect(start).not.toHaveProperty('response')
    expect(start).not.toHaveProperty('endTime')
  })

  it('sends cancelled calls to the failure list', async () => {
    const statuses: string[] = []
    client = createClient().use(callbacks({ failure: [(event: CallEvent) => void statuses.push(event.status)] }))
    for await (const _chunk of client.stream({ model: 'mock/x', messages, mock_response: 'a b c' })) break
    expect(statuses).toEqual(['cancelled'])
  })

  it('builds a built-in named in several lists once, with the union of its moments', async () => {
    const fake = registerFake('fakeSentry')
    client = createClient().use(callbacks({ input: ['fakeSentry'], failure: ['fakeSentry'] }))
    await client.chat({ model: 'mock/x', messages })
    await expect(client.chat({ model: 'mock/x', messages, mock_error: { status: 500 } })).rejects.toThrow()
    expect(fake.built).toEqual([['input', 'failure']])
    expect(fake.seen).toEqual(['input', 'input', 'failure'])
  })

  it('runs names only as one layer: the built-ins that watch calls side by side share one frame', () => {
    for (const name of ['watchA', 'watchB']) registerIntegration(name, () => defineObservingLayer({ name, success: () => {} }))
    // The layer that records the error, then each built-in: one frame instead of one per layer, per call.
    expect(callbacks({ success: ['watchA', 'watchB'] }).name).toBe('callbacks+watchA+watchB')
  })

  it('records an error from the layers inside it on the context, names only or with functions, for the layers outside', async () => {
    registerIntegration('watchC', () => defineObservingLayer({ name: 'watchC', failure: () => {} }))
    for (const failure of [['watchC'], ['watchC', () => {}]]) {
      const seen: string[] = []
      const outside: Middleware = async (ctx, next) => {
        try {
          await next()
        } finally {
          seen.push(ctx.error?.message ?? 'no error recorded')
        }
      }
      const throwing: Middleware = async () => {
        throw new Error('a layer failed')
      }
      client = createClient().use(outside, callbacks({ failure }), throwing)
      await expect(client.chat({ model: 'mock/x', messages })).rejects.toThrow('a layer failed')
      expect(seen).toEqual(['a layer failed'])
      await client.close()
    }
  })

  it('fails at construction on an unknown name, listing the known ones', () => {
    registerFake('fakeKnown')
    expect(() => callbacks({ success: ['helicon'] })).toThrow(/unknown integration 'helicon' in success\. Known: .*fakeKnown/)
  })

  it('isolates a function that throws or rejects: the call goes on and onHookError hears of it', async () => {
    const hookErrors: string[] = []
    client = createClient({ onHookError: (error, hook) => hookErrors.push(`${hook}: ${(error as Error).message}`) })
    client.use(
      callbacks({
        input: [
          function audit() {
            throw new Error('input bug')
          },
        ],
        success: [async () => Promise.reject(new Error('success bug'))],
      }),
    )
    const reply = await client.chat({ model: 'mock/x', messages, mock_response: 'ok' })
    await client.flush()
    expect(reply.choices[0]!.message.content).toBe('ok')
    expect(hookErrors).toEqual(['callbacks.input[audit]: input bug', 'callbacks.success[0]: success bug'])
  })

  it('sends an exporter built-in through the delivery queue only at the moment it was listed for', async () => {
    receiver = await startReceiver()
    const url = `${receiver.url}/log`
    registerIntegration('fakeExporter', (options) =>
      defineExporter<CallEvent>({
        name: 'fakeExporter',
        moments: options?.moments ?? ['success', 'failure'],
        sink: httpSink({ name: 'fakeExporter', url, encode: (events) => ({ events }) }),
        toItems: (event) => event,
      }),
    )
    client = createClient({ queue: { flushIntervalMs: 10, minTimeoutMs: 1 } }).use(callbacks({ success: ['fakeExporter'] }))
    await client.chat({ model: 'mock/x', messages, mock_response: 'logged' })
    await expect(client.chat({ model: 'mock/x', messages, mock_error: { status: 500 } })).rejects.toThrow()
    await client.flush()
    expect(receiver.requests).toHaveLength(1)
    const sent = (receiver.requests[0]!.json as { events: CallEvent[] }).events
    expect(sent.map((event) => event.status)).toEqual(['success'])
  })
})

describe('asMiddleware', () => {
  it('passes a middleware function through as it is', () => {
    const layer: Middleware = async (_ctx, next) => next()
    expect(asMiddleware(layer, 'test')).toBe(layer)
  })

  it('turns an observer object, a CustomLogger and a plain camelCase handler into working layers', async () => {
    const seen: string[] = []
    class Handler extends CustomLogger {
      prefix = 'logger'
      override logSuccessEvent() {
        seen.push(this.prefix)
      }
    }
    const observerObject = {
      prefix: 'observer',
      onSuccess(this: { prefix: string }) {
        seen.push(this.prefix)
      },
    }
    client = createClient().use(
      asMiddleware(observerObject, 'callbacks[0]'),
      asMiddleware(new Handler(), 'callbacks[1]'),
      asMiddleware({ asyncLogSuccessEvent: async () => void seen.push('plain') }, 'callbacks[2]'),
    )
    await client.chat({ model: 'mock/x', messages })
    await client.flush()
    expect(seen).toEqual(['plain', 'logger', 'observer'])
  })

  it('says where a class was given instead of an instance', () => {
    class MyProxyHandler extends CustomLogger {}
    expect(() => asMiddleware(MyProxyHandler, 'proxy_callbacks.MyProxyHandler')).toThrow(
      /proxy_callbacks\.MyProxyHandler is the class MyProxyHandler, not an instance.*new MyProxyHandler\(\)/,
    )
  })

  it('names where and what was found for anything else', () => {
    expect(() => asMiddleware(undefined, 'proxy_callbacks.missing')).toThrow(/proxy_callbacks\.missing must be .*found undefined \(is the export name right\?\)/)
    expect(() => asMiddleware({ log: () => {} }, 'x.y')).toThrow(/found an object with keys log/)
    expect(() => asMiddleware({ log_success_event: () => {} }, 'x.y')).toThrow(/rename them to logSuccessEvent/)
    expect(() => asMiddleware('helicone', 'x.y')).toThrow(/success_callback/)
  })
})
