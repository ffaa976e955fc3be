import { afterEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from '../../src/index'
import type { Context } from '../../src/context'
import { chainLayers } from '../../src/integrations/chain'
import { defineObservingLayer, type ObservingLayerDefinition } from '../../src/integrations/observing-layer'
import { groupObservingLayers } from '../../src/integrations/observing-group'
import type { Middleware } from '../../src/types'

const messages = [{ role: 'user' as const, content: 'hello group' }]
let clients: Client[] = []
afterEach(async () => {
  await Promise.all(clients.map((client) => client.close()))
  clients = []
})

/** An observing layer that writes every moment it sees (and the state its start made) to `log`. */
function watcher(name: string, log: string[], extra: Partial<ObservingLayerDefinition<string>> = {}): Middleware {
  return defineObservingLayer<string>({
    name,
    start: () => `${name}-state`,
    input: (ctx, state) => void log.push(`${name}.input(${state}) ${ctx.request.model}`),
    success: (_ctx, state) => void log.push(`${name}.success(${state})`),
    failure: (ctx, state, error) => void log.push(`${name}.failure(${state}) ${(error as Error).name} ctx.error=${ctx.error?.name ?? 'none'}`),
    ...extra,
  })
}

/** What the same layers log nested (one `use()` each) and chained (one grouped layer), for one call. */
async function bothWays(make: (log: string[]) => Middleware[], call: (client: Client) => Promise<unknown>) {
  const nestedLog: string[] = []
  const chainedLog: string[] = []
  const nested = createClient({ onHookError: (error, hook) => void nestedLog.push(`hookError ${hook}: ${(error as Error).message}`) })
  const chained = createClient({ onHookError: (error, hook) => void chainedLog.push(`hookError ${hook}: ${(error as Error).message}`) })
  clients.push(nested, chained)
  nested.use(...make(nestedLog))
  chained.use(chainLayers(make(chainedLog)))
  const nestedOutcome = await call(nested).then((value) => ({ value }), (error: Error) => ({ error: `${error.name}: ${error.message}` }))
  const chainedOutcome = await call(chained).then((value) => ({ value }), (error: Error) => ({ error: `${error.name}: ${error.message}` }))
  return { nestedLog, chainedLog, nestedOutcome, chainedOutcome }
}

const chat = (client: Client) => client.chat({ model: 'mock/x', messages, mock_response: 'hi there' }).then((reply) => reply.choices[0]?.message.content)

describe('observing layers side by side in a chain', () => {
  it('run as one layer', () => {
    const log: string[] = []
    const grouped = groupObservingLayers([watcher('a', log), watcher('b', log), watcher('c', log)])
    expect(grouped).toHaveLength(1)
    expect(grouped[0]!.name).toBe('a+b+c')
  })

  it('see every moment in the order their nesting gives, with their own state, on success', async () => {
    const result = await bothWays((log) => [watcher('a', log), watcher('b', log), watcher('c', log)], chat)
    expect(result.chainedLog).toEqual([
      'a.input(a-state) mock/x',
      'b.input(b-state) mock/x',
      'c.input(c-state) mock/x',
      'c.success(c-state)',
      'b.success(b-state)',
      'a.success(a-state)',
    ])
    expect(result.chainedLog).toEqual(result.nestedLog)
    expect(result.chainedOutcome).toEqual({ value: 'hi there' })
  })

  it('see a failure innermost first, record the error only where asked, and let it through unchanged', async () => {
    const make = (log: string[]) => [watcher('a', log), watcher('b', log, { recordError: true }), watcher('c', log)]
    const failing = (client: Client) => client.chat({ model: 'mock/x', messages, mock_error: { status: 500, message: 'upstream broke' } })
    const result = await bothWays(make, failing)
    expect(result.chainedLog.slice(3)).toEqual([
      'c.failure(c-state) InternalServerError ctx.error=InternalServerError',
      'b.failure(b-state) InternalServerError ctx.error=InternalServerError',
      'a.failure(a-state) InternalServerError ctx.error=InternalServerError',
    ])
    expect(result.chainedLog).toEqual(result.nestedLog)
    expect(result.chainedOutcome).toEqual({ error: 'InternalServerError: upstream broke' })
    expect(result.chainedOutcome).toEqual(result.nestedOutcome)
  })

  it('record an error thrown by a layer inside them on the context only from the member that asks to', async () => {
    const make = (log: string[]): Middleware[] => [
      watcher('a', log),
      watcher('b', log, { recordError: true }),
      watcher('c', log),
      async function broken() {
        throw new TypeError('a layer inside broke')
      },
    ]
    const result = await bothWays(make, chat)
    expect(result.chainedLog.slice(3)).toEqual([
      'c.failure(c-state) TypeError ctx.error=none',
      'b.failure(b-state) TypeError ctx.error=TypeError',
      'a.failure(a-state) TypeError ctx.error=TypeError',
    ])
    expect(result.chainedLog).toEqual(result.nestedLog)
    expect(result.chainedOutcome).toEqual({ error: 'TypeError: a layer inside broke' })
  })

  it('see a cancel (the caller leaving a stream) in their cancelled handler, or in failure when they have none', async () => {
    const make = (log: string[]) => [
      watcher('a', log, { cancelled: (_ctx, state, error) => void log.push(`a.cancelled(${state}) ${(error as Error).name}`) }),
      watcher('b', log),
      watcher('c', log, { cancelled: false }),
    ]
    const leaveEarly = async (client: Client) => {
      for await (const _chunk of client.stream({ model: 'mock/x', messages, mock_response: 'one two three four' })) break
    }
    const result = await bothWays(make, leaveEarly)
    expect(result.chainedLog.slice(3)).toEqual(['b.failure(b-state) AbortError ctx.error=AbortError', 'a.cancelled(a-state) AbortError'])
    expect(result.chainedLog).toEqual(result.nestedLog)
  })

  it('wait for a handler that returns a promise before the next moment runs', async () => {
    const make = (log: string[]) => [
      watcher('a', log, {
        input: async () => {
          await new Promise((resolve) => setTimeout(resolve, 5))
          log.push('a.input settled')
        },
      }),
      watcher('b', log, {
        success: async () => {
          await new Promise((resolve) => setTimeout(resolve, 5))
          log.push('b.success settled')
        },
      }),
    ]
    const result = await bothWays(make, chat)
    expect(result.chainedLog).toEqual(['a.input settled', 'b.input(b-state) mock/x', 'b.success settled', 'a.success(a-state)'])
    expect(result.chainedLog).toEqual(result.nestedLog)
  })

  it('report a throwing or rejecting handler under its own name, and the others and the call go on', async () => {
    const make = (log: string[]) => [
      watcher('a', log),
      watcher('b', log, {
        start: () => {
          throw new Error('start broke')
        },
        success: () => {
          throw new Error('success broke')
        },
      }),
      watcher('c', log, { input: () => Promise.reject(new Error('input rejected')) }),
    ]
    const result = await bothWays(make, chat)
    expect(result.chainedLog).toEqual([
      'a.input(a-state) mock/x',
      'hookError b: start broke',
      'b.input(undefined) mock/x',
      'hookError c: input rejected',
      'c.success(c-state)',
      'hookError b: success broke',
      'a.success(a-state)',
    ])
    expect(result.chainedLog).toEqual(result.nestedLog)
    expect(result.chainedOutcome).toEqual({ value: 'hi there' })
  })

  it('keep a layer that is not an observing one, or one with `around`, in its place between two groups', async () => {
    const make = (log: string[]): Middleware[] => [
      watcher('a', log),
      watcher('b', log),
      async function plain(_ctx: Context, next: () => Promise<void>) {
        log.push('plain before')
        await next()
        log.push('plain after')
      },
      watcher('c', log),
      watcher('d', log, {
        around: async (_ctx, next) => {
          log.push('d around before')
          await next()
          log.push('d around after')
        },
      }),
      watcher('e', log),
    ]
    expect(groupObservingLayers(make([])).map((layer) => layer.name)).toEqual(['a+b', 'plain', 'c', 'd', 'e'])
    const result = await bothWays(make, chat)
    expect(result.chainedLog).toEqual(result.nestedLog)
    expect(result.chainedLog).toContain('plain after')
    expect(result.chainedLog.indexOf('d around before')).toBeLessThan(result.chainedLog.indexOf('e.input(e-state) mock/x'))
  })

  it('keep the moments each layer was narrowed to', async () => {
    const make = (log: string[]) => [watcher('a', log, { moments: ['failure'] }), watcher('b', log, { moments: ['input'] }), watcher('c', log, { moments: ['success'] })]
    const result = await bothWays(make, chat)
    expect(result.chainedLog).toEqual(['b.input(b-state) mock/x', 'c.success(c-state)'])
    expect(result.chainedLog).toEqual(result.nestedLog)
  })

  it('make a chain of groups one group (a bundle inside a bundle)', async () => {
    const log: string[] = []
    const inner = chainLayers([watcher('b', log), watcher('c', log)])
    const outer = chainLayers([watcher('a', log), inner, watcher('d', log)])
    expect(outer.name).toBe('a+b+c+d')
    const client = createClient()
    clients.push(client)
    await client.use(outer).chat({ model: 'mock/x', messages })
    expect(log.map((line) => line.split('(')[0])).toEqual(['a.input', 'b.input', 'c.input', 'd.input', 'd.success', 'c.success', 'b.success', 'a.success'])
  })
})
