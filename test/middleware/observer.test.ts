import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient, type Client } from '../../src/index'
import { observer } from '../../middleware/observer'
import type { CallEvent } from '../../src/event'
import type { AttemptRecord } from '../../src/types'
import { retryOnce } from './layer-test-kit'

const messages = [{ role: 'user' as const, content: 'hello observer' }]
let client: Client | undefined
afterEach(async () => {
  await client?.close()
  client = undefined
})

function clientRecordingHookErrors() {
  const hookErrors: Array<{ hook: string; message: string }> = []
  client = createClient({ onHookError: (error, hook) => hookErrors.push({ hook, message: (error as Error).message }) })
  return { client, hookErrors }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('observer', () => {
  it('calls onStart before the provider and onSuccess after it, with the event of the call', async () => {
    const log: string[] = []
    let event: CallEvent | undefined
    const { client } = clientRecordingHookErrors()
    client.use(
      observer({
        onStart: (ctx) => void log.push(`start ${ctx.request.model}`),
        onSuccess: (received) => {
          log.push('success')
          event = received
        },
      }),
      async (_ctx, next) => {
        log.push('provider')
        await next()
      },
    )
    await client.chat({ model: 'mock/x', messages, mock_response: 'hi there' })
    expect(log).toEqual(['start mock/x', 'provider', 'success'])
    expect(event).toMatchObject({ status: 'success', model: 'mock/x', response: { choices: [{ message: { content: 'hi there' } }] } })
  })

  it('sees every stream chunk, then onSuccess once after the last chunk with the assembled response', async () => {
    const log: string[] = []
    const { client } = clientRecordingHookErrors()
    client.use(
      observer({
        onChunk: (chunk) => void log.push(`chunk ${chunk.choices[0]?.delta?.content ?? '-'}`),
        onSuccess: (event) => void log.push(`success ${(event.response as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content}`),
      }),
    )
    const received: string[] = []
    for await (const chunk of client.stream({ model: 'mock/x', messages, mock_response: 'one two' })) received.push(chunk.choices[0]?.delta?.content ?? '-')
    expect(log).toEqual([...received.map((content) => `chunk ${content}`), 'success one two'])
  })

  it('cannot replace a chunk: what onChunk returns is ignored', async () => {
    const { client } = clientRecordingHookErrors()
    client.use(observer({ onChunk: (chunk) => ({ ...chunk, choices: [] }) as never }))
    let text = ''
    for await (const chunk of client.stream({ model: 'mock/x', messages, mock_response: 'kept as is' })) text += chunk.choices[0]?.delta?.content ?? ''
    expect(text).toBe('kept as is')
  })

  it('calls onFailure with status failure for a provider error, and not onSuccess', async () => {
    const seen: CallEvent[] = []
    const { client } = clientRecordingHookErrors()
    client.use(observer({ onFailure: (event) => void seen.push(event), onSuccess: () => void seen.push({} as CallEvent) }))
    await expect(client.chat({ model: 'mock/x', messages, mock_error: { status: 503, message: 'overloaded' } })).rejects.toThrow('overloaded')
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ status: 'failure', error: { type: 'ServiceUnavailableError', message: 'overloaded', status: 503 } })
  })

  it('calls onFailure with status cancelled when the caller breaks out of a stream', async () => {
    const seen: CallEvent[] = []
    const { client } = clientRecordingHookErrors()
    client.use(observer({ onFailure: (event) => void seen.push(event) }))
    for await (const _chunk of client.stream({ model: 'mock/x', messages, mock_response: 'a b c d e' })) break
    expect(seen).toHaveLength(1)
    expect(seen[0]!.status).toBe('cancelled')
  })

  it('records the error an inner layer threw without reaching the provider', async () => {
    const seen: CallEvent[] = []
    const { client } = clientRecordingHookErrors()
    client.use(observer({ onFailure: (event) => void seen.push(event) }), () => {
      throw new Error('guardrail refused')
    })
    await expect(client.chat({ model: 'mock/x', messages })).rejects.toThrow('guardrail refused')
    expect(seen[0]!.error?.message).toBe('guardrail refused')
  })

  it('a hook that throws fails nothing and changes nothing; the error goes to onHookError', async () => {
    const { client, hookErrors } = clientRecordingHookErrors()
    const boom = () => {
      throw new Error('hook bug')
    }
    client.use(observer({ onStart: boom, onSuccess: boom, onChunk: boom, onAttempt: boom }))
    const reply = await client.chat({ model: 'mock/x', messages, mock_response: 'still fine' })
    expect(reply.choices[0]!.message.content).toBe('still fine')
    let text = ''
    for await (const chunk of client.stream({ model: 'mock/x', messages, mock_response: 'also fine' })) text += chunk.choices[0]?.delta?.content ?? ''
    expect(text).toBe('also fine')
    const hooks = new Set(hookErrors.map((error) => error.hook))
    expect(hooks).toEqual(new Set(['observer.onStart', 'observer.onSuccess', 'observer.onChunk', 'observer.onAttempt']))
  })

  it('a hook that rejects fails nothing; the rejection is reported once the hook settles', async () => {
    const { client, hookErrors } = clientRecordingHookErrors()
    client.use(observer({ onFailure: async () => Promise.reject(new Error('sink down')) }))
    await expect(client.chat({ model: 'mock/x', messages, mock_error: { status: 400 } })).rejects.toMatchObject({ status: 400 })
    await client.flush()
    expect(hookErrors).toEqual([{ hook: 'observer.onFailure', message: 'sink down' }])
  })

  it('a hook that hangs does not hold the call, and flush() gives up on it after timeoutMs and reports it', async () => {
    const { client, hookErrors } = clientRecordingHookErrors()
    client.use(observer({ onSuccess: () => new Promise(() => {}), timeoutMs: 20, name: 'stuck' }))
    const reply = await client.chat({ model: 'mock/x', messages, mock_response: 'not held' })
    expect(reply.choices[0]!.message.content).toBe('not held')
    await client.flush()
    expect(hookErrors).toHaveLength(1)
    expect(hookErrors[0]!.hook).toBe('stuck.onSuccess')
    expect(hookErrors[0]!.message).toContain('did not settle within 20 ms')
  })

  it('does not make the caller wait for an async hook, but flush() waits for it', async () => {
    let release: () => void = () => {}
    let hookDone = false
    const { client } = clientRecordingHookErrors()
    client.use(observer({ onSuccess: () => new Promise<void>((resolve) => (release = resolve)).then(() => void (hookDone = true)) }))
    await client.chat({ model: 'mock/x', messages })
    expect(hookDone).toBe(false)
    const flushed = client.flush().then(() => hookDone)
    release()
    expect(await flushed).toBe(true)
  })

  it('with await: true the call waits for the async hook', async () => {
    let release: () => void = () => {}
    let hookDone = false
    const { client } = clientRecordingHookErrors()
    client.use(observer({ await: true, onSuccess: () => new Promise<void>((resolve) => (release = resolve)).then(() => void (hookDone = true)) }))
    let callDone = false
    const call = client.chat({ model: 'mock/x', messages }).then(() => (callDone = true))
    await tick()
    expect(callDone).toBe(false)
    release()
    await call
    expect(hookDone).toBe(true)
  })

  it('outside a retry layer reports every attempt after the call, inside it reports each attempt from its own run', async () => {
    const outside: AttemptRecord[] = []
    const inside: AttemptRecord[] = []
    const insideSuccesses: number[] = []
    const { client } = clientRecordingHookErrors()
    client.use(
      observer({ onAttempt: (attempt) => void outside.push(attempt) }),
      retryOnce,
      observer({ onAttempt: (attempt) => void inside.push(attempt), onSuccess: (event) => void insideSuccesses.push(event.attempts.length) }),
    )
    await client.chat({ model: 'mock/x', messages, mock_error: { status: 500 } })
    expect(outside.map((attempt) => attempt.status)).toEqual(['failure', 'success'])
    expect(inside.map((attempt) => attempt.status)).toEqual(['failure', 'success'])
    expect(insideSuccesses).toEqual([2])
  })

  it('leaves no timer behind once its async hooks have settled', async () => {
    vi.useFakeTimers()
    try {
      const { client } = clientRecordingHookErrors()
      client.use(observer({ onStart: async () => {}, onSuccess: async () => {} }))
      await client.chat({ model: 'mock/x', messages })
      await client.flush()
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it('gives its hooks a redacted event when asked', async () => {
    let event: CallEvent | undefined
    const { client } = clientRecordingHookErrors()
    client.use(observer({ redact: { messages: true }, onSuccess: (received) => void (event = received) }))
    await client.chat({ model: 'mock/x', messages, mock_response: 'secret reply' })
    expect(JSON.stringify(event)).not.toContain('hello observer')
    expect(JSON.stringify(event)).not.toContain('secret reply')
    expect(event!.messages![0]!.content).toBe('[redacted]')
  })

  it('rejects a misspelt hook name at construction, naming it', () => {
    expect(() => observer({ onSucess: () => {} } as never)).toThrow(/onSucess/)
  })
})
