import { afterEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { consoleLog } from 'llm-onion/middleware/console-log'
import { prompt, runCalls } from './exporter-contract'

describe('consoleLog()', () => {
  let client: Client
  afterEach(async () => {
    await client?.close()
  })

  it('writes one readable line per call with status, model, latency, tokens and the error', async () => {
    const lines: string[] = []
    client = createClient().use(consoleLog({ write: (line) => lines.push(line) }))
    await runCalls(client)

    expect(lines).toHaveLength(3)
    expect(lines[0]).toMatch(/^\[llm-onion\] success chat mock\/echo \(mock\) \d+ ms, \d+ in \+ 4 out tokens, (\$[\d.e-]+|cost unknown), call [0-9a-f-]{36}$/)
    expect(lines[1]).toMatch(/^\[llm-onion\] success stream mock\/echo \(mock\) \d+ ms, first chunk \d+ ms, \d+ in \+ 2 out tokens/)
    expect(lines[2]).toMatch(/^\[llm-onion\] failure chat mock\/echo \(mock\) \d+ ms, RateLimitError: Slow down, call /)
  })

  it('writes to console.log by default', async () => {
    const original = console.log
    const lines: unknown[] = []
    console.log = (line: unknown) => void lines.push(line)
    try {
      client = createClient().use(consoleLog())
      await client.chat({ model: 'mock/echo', messages: prompt })
    } finally {
      console.log = original
    }
    expect(lines).toHaveLength(1)
    expect(String(lines[0])).toContain('[llm-onion] success chat mock/echo')
  })

  it('only logs failures when moments is ["failure"]', async () => {
    const lines: string[] = []
    client = createClient().use(consoleLog({ write: (line) => lines.push(line), moments: ['failure'] }))
    await runCalls(client)

    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('failure')
  })

  it('a throwing writer never fails the call; the error goes to onHookError', async () => {
    const hookErrors: string[] = []
    client = createClient({ onHookError: (error, hook) => hookErrors.push(`${hook}: ${(error as Error).message}`) }).use(
      consoleLog({ write: () => { throw new Error('stdout closed') } }),
    )
    const reply = await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'fine' })

    expect(reply.choices[0]!.message.content).toBe('fine')
    expect(hookErrors).toEqual(['consoleLog: stdout closed'])
  })

  it('never prints prompt or completion content, nor a secret', async () => {
    const lines: string[] = []
    client = createClient().use(consoleLog({ write: (line) => lines.push(line) }))
    await runCalls(client)

    const text = lines.join('\n')
    expect(text).not.toContain('capital of France')
    expect(text).not.toContain('Paris')
    expect(text).not.toContain('sk-secret')
    expect(text).not.toContain('sk-provider-secret')
  })
})
