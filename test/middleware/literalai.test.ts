import type { IncomingHttpHeaders } from 'node:http'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { literalai, literalaiFailure } from 'llm-onion/middleware/literalai'
import { exporterContract, prompt, runCalls } from './exporter-contract'
import { startRecordingServer, type FakeAnswer } from '../fakes/recording-server'

/**
 * The GraphQL types Literal AI's `ingestStep` takes, as LiteLLM declares them
 * (litellm/integrations/literal_ai.py), and the `GenerationPayloadInput` fields LiteLLM fills: a real
 * GraphQL server refuses a variable of another type or an input field its type does not have.
 */
const stepTypes = ['run', 'tool', 'llm', 'embedding', 'retrieval', 'rerank', 'undefined']
const generationFields = new Set(['inputTokenCount', 'outputTokenCount', 'tokenCount', 'promptId', 'variables', 'provider', 'model', 'duration', 'settings', 'messages', 'messageCompletion', 'tools'])
const declaredTypes: Record<string, string> = {
  id: 'String!', threadId: 'String', rootRunId: 'String', type: 'StepType', startTime: 'DateTime', endTime: 'DateTime', error: 'String',
  input: 'Json', output: 'Json', metadata: 'Json', parentId: 'String', name: 'String', tags: '[String!]', generation: 'GenerationPayloadInput',
  scores: '[ScorePayloadInput!]', attachments: '[AttachmentPayloadInput!]',
}

/** What is wrong with a value of GraphQL type `type`, or undefined. */
function typeError(type: string, value: unknown): string | undefined {
  switch (type) {
    case 'String!':
    case 'String':
      return typeof value === 'string' ? undefined : 'not a String'
    case 'StepType':
      return stepTypes.includes(value as string) ? undefined : 'not a StepType'
    case 'DateTime':
      return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? undefined : 'not a DateTime'
    case '[String!]':
      return Array.isArray(value) && value.every((item) => typeof item === 'string') ? undefined : 'not a [String!]'
    case 'GenerationPayloadInput': {
      if (typeof value !== 'object' || value === null) return 'not an input object'
      const unknown = Object.keys(value).filter((field) => !generationFields.has(field))
      return unknown.length === 0 ? undefined : `unknown fields ${unknown.join(', ')}`
    }
    default:
      return undefined
  }
}

/** What the fake read out of one mutation: its steps (variables without the `_N` suffix). */
interface Received {
  path: string
  headers: IncomingHttpHeaders
  text: string
  query: string
  variables: Record<string, unknown>
  steps: Array<Record<string, unknown>>
  /** Why the fake answered with GraphQL errors (a malformed mutation or variable); empty when it took the steps. */
  problems: string[]
}

/**
 * A local stand-in for Literal AI's `POST /api/graphql`: checks the key, the content type and the
 * `AddStep` mutation (every argument bound to a declared variable of the declared type, every sent
 * variable declared, every `$id_N` given), and answers as GraphQL does: 200 with `data` per aliased
 * field, or 200 with `errors`.
 */
async function startLiteral(key: string) {
  const received: Received[] = []
  let refuseNext = 0
  const problemsOf = (query: string, variables: Record<string, unknown>): string[] => {
    const problems: string[] = []
    const head = /^mutation AddStep\(([^)]*)\)/.exec(query.trim())
    if (!head) return ['not an AddStep mutation']
    const declared = new Map([...head[1]!.matchAll(/\$(\w+)_(\d+): ([\w!\[\]]+)/g)].map((match) => [`${match[1]}_${match[2]}`, match[3]!]))
    const fields = [...query.matchAll(/step(\d+): ingestStep\(([^)]*)\) \{ ok message \}/g)]
    if (fields.length === 0) problems.push('no ingestStep field')
    for (const [, index, passed] of fields) {
      for (const [, argument, variable] of passed!.matchAll(/(\w+): \$(\w+)/g)) {
        if (variable !== `${argument}_${index}`) problems.push(`${argument} bound to $${variable}`)
        const type = declared.get(variable!)
        if (type !== declaredTypes[argument!]) problems.push(`$${variable} declared ${type}, ingestStep takes ${declaredTypes[argument!]}`)
      }
      if (variables[`id_${index}`] === undefined) problems.push(`$id_${index} (String!) missing`)
    }
    for (const [name, value] of Object.entries(variables)) {
      const type = declared.get(name)
      if (type === undefined) problems.push(`$${name} sent but not declared`)
      else if (value === null && type.endsWith('!')) problems.push(`$${name} null`)
      else if (value !== null) {
        const wrong = typeError(type, value)
        if (wrong) problems.push(`$${name}: ${wrong}`)
      }
    }
    return problems
  }
  const server = await startRecordingServer((request) => {
    const answer = (status: number, body: unknown): FakeAnswer => ({ status, body })
    if (request.method !== 'POST' || request.path !== '/api/graphql') return answer(404, { message: 'not found' })
    if (request.headers['x-api-key'] !== key) return answer(401, { message: 'invalid api key' })
    if (!String(request.headers['content-type']).startsWith('application/json')) return answer(415, { message: 'expected JSON' })
    const { query, variables } = request.json as { query: string; variables: Record<string, unknown> }
    const steps: Array<Record<string, unknown>> = []
    for (const [name, value] of Object.entries(variables)) {
      const [, field, index] = /^(\w+)_(\d+)$/.exec(name) ?? []
      if (field !== undefined) (steps[Number(index)] ??= {})[field] = value
    }
    const problems = problemsOf(query, variables)
    if (refuseNext > 0) {
      refuseNext--
      problems.push('Step ingestion refused')
    }
    received.push({ path: request.path, headers: request.headers, text: request.text, query, variables, steps, problems })
    if (problems.length > 0) return answer(200, { data: null, errors: problems.map((message) => ({ message })) })
    return answer(200, { data: Object.fromEntries(steps.map((_step, index) => [`step${index}`, { ok: true, message: null }])) })
  })
  return {
    url: server.url,
    received,
    /** Answers the next `count` requests with a GraphQL `errors` list. */
    refuse: (count: number) => void (refuseNext += count),
    /** Every request, for the exporter contract. */
    requests: server.requests,
    close: server.close,
  }
}

type Literal = Awaited<ReturnType<typeof startLiteral>>

describe('literalai()', () => {
  let client: Client | undefined
  let literal: Literal
  beforeEach(async () => {
    literal = await startLiteral('lsk_test')
  })
  afterEach(async () => {
    await client?.close()
    client = undefined
    await literal.close()
  })
  const steps = () => literal.received.flatMap((request) => request.steps)

  it('sends every call as a step of one AddStep mutation to /api/graphql with x-api-key, as LiteLLM does', async () => {
    client = createClient().use(literalai({ apiKey: 'lsk_test', baseUrl: literal.url }))
    await runCalls(client, { success: { temperature: 0.2 } })

    expect(literal.received).toHaveLength(1)
    expect(literal.received[0]!.problems).toEqual([])
    expect(client.services.queue.stats().sinks.literalai).toMatchObject({ delivered: 3, dropped: {} })
    const [request] = literal.received
    expect(request!.headers['x-client-name']).toBe('llm-onion')
    expect(request!.headers['x-env']).toBeUndefined()
    expect(request!.query).toMatch(/^mutation AddStep\(\$id_0: String!, \$threadId_0: String, /)
    expect(request!.query).toContain('step2: ingestStep(id: $id_2, threadId: $threadId_2, rootRunId: $rootRunId_2, startTime: $startTime_2')
    // LiteLLM leaves out a step's empty fields: no variable is sent as null.
    expect(Object.values(request!.variables)).not.toContain(null)

    const [success, streamed, failure] = steps() as Array<Record<string, any>>
    expect(success).toMatchObject({
      type: 'llm',
      name: 'echo',
      metadata: { team: 'search', user: 'user-7' },
      generation: {
        provider: 'mock',
        model: 'echo',
        settings: { temperature: 0.2 },
        messages: prompt,
        messageCompletion: { role: 'assistant', content: 'Paris is the capital.' },
      },
    })
    expect(success.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(new Date(success.startTime).toISOString()).toBe(success.startTime)
    expect(Date.parse(success.endTime)).toBeGreaterThanOrEqual(Date.parse(success.startTime))
    expect(success.generation.outputTokenCount).toBeGreaterThan(0)
    expect(success.generation.tokenCount).toBe(success.generation.inputTokenCount + success.generation.outputTokenCount)
    expect(success.generation.duration).toBeLessThan(60)
    expect(success.error).toBeUndefined()
    expect(streamed.generation.messageCompletion).toMatchObject({ content: 'Paris, streamed.' })
    expect(failure.error).toMatch(/\(429\): Slow down/)
    expect(failure.generation.messageCompletion).toBeUndefined()
    expect(new Set([success.id, streamed.id, failure.id]).size).toBe(3)
  })

  it('places a step in a thread, under a parent and a root run, with its id and tags, from the metadata keys LiteLLM reads', async () => {
    client = createClient().use(literalai({ apiKey: 'lsk_test', baseUrl: literal.url }))
    const placing = {
      literalai_thread_id: 'thread-1',
      literalai_parent_id: 'parent-2',
      literalai_root_run_id: 'run-3',
      step_id: '7e1f2c3a-9b8d-4c5e-a6f7-0b1c2d3e4f5a',
      literalai_tags: ['beta', 'search'],
    }
    await client.chat({ model: 'mock/echo', messages: prompt, metadata: { ...placing, team: 'search' } })
    await client.chat({ model: 'mock/echo', messages: prompt, metadata: { tags: ['from-tags'], literalai_tags: ['ignored'] } })
    await client.flush()

    expect(literal.received.flatMap((request) => request.problems)).toEqual([])
    const [placed, tagged] = steps()
    expect(placed).toMatchObject({ id: placing.step_id, threadId: 'thread-1', parentId: 'parent-2', rootRunId: 'run-3', tags: ['beta', 'search'] })
    expect(placed!.metadata).toEqual({ team: 'search' })
    expect(tagged!.tags).toEqual(['from-tags'])
    expect(tagged).not.toHaveProperty('threadId')
  })

  it('counts a batch answered 200 with GraphQL errors as refused, not delivered, without failing the call', async () => {
    const drops: string[] = []
    client = createClient({ queue: { minTimeoutMs: 1, maxTimeoutMs: 2, onDrop: (drop) => void drops.push((drop.error as Error).message) } }).use(
      literalai({ apiKey: 'lsk_test', baseUrl: literal.url }),
    )
    literal.refuse(1)
    const reply = await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'fine' })
    await client.flush()
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(reply.choices[0]!.message.content).toBe('fine')
    // Refused once and not sent again (the same batch would get the same answer); the next one is taken.
    expect(literal.received).toHaveLength(2)
    expect(client.services.queue.stats().sinks.literalai).toMatchObject({ delivered: 1, dropped: { rejected: 1 } })
    expect(drops[0]).toMatch(/^literalai: http:\/\/127\.0\.0\.1:\d+ answered 200 but refused the batch: 1 GraphQL error\(s\), the first: Step ingestion refused/)
  })

  it('reads a step answered ok: false as a refused batch, however the answer is spaced', () => {
    expect(literalaiFailure('{"data":{"step0":{"ok":true,"message":null}}}')).toBeUndefined()
    expect(literalaiFailure('{ "data": { "step0": { "ok": true }, "step1": { "ok": false, "message": "thread not found" } } }')).toEqual({
      message: '1 step(s) not ingested, step1: thread not found',
      retryable: false,
    })
  })

  it('sends embeddings as embedding steps without messages', async () => {
    client = createClient().use(literalai({ apiKey: 'lsk_test', baseUrl: literal.url }))
    await client.embed({ model: 'mock/embed', input: 'hello' })
    await client.flush()

    expect(literal.received.flatMap((request) => request.problems)).toEqual([])
    const [step] = steps() as Array<Record<string, any>>
    expect(step).toMatchObject({ type: 'embedding', generation: { provider: 'mock' } })
    expect(step!.generation).not.toHaveProperty('messages')
  })

  exporterContract({
    name: 'literalai',
    layer: (url, redact) => literalai({ apiKey: 'lsk_contract', baseUrl: url, redact }),
    startReceiver: () => startLiteral('lsk_contract'),
    secrets: ['lsk_contract'],
    requests: 1,
  })

  it('reads LITERAL_API_KEY, LITERAL_API_URL and LITERAL_BATCH_SIZE, sends x-env, and fails naming the variable', async () => {
    expect(() => literalai({ env: {} })).toThrow(/LITERAL_API_KEY/)
    expect(() => literalai({ env: { LITERAL_API_KEY: 'lsk_env', LITERAL_BATCH_SIZE: 'many' } })).toThrow(/LITERAL_BATCH_SIZE is "many"; set it to a whole number/)
    expect(() => literalai({ apiKey: 'lsk_env', environment: '' } as never)).toThrow(/environment/)
    await literal.close()
    literal = await startLiteral('lsk_env')
    client = createClient().use(literalai({ environment: 'staging', env: { LITERAL_API_KEY: 'lsk_env', LITERAL_API_URL: `${literal.url}/`, LITERAL_BATCH_SIZE: '1' } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    // One step per mutation: the batch size the variable gives.
    expect(literal.received.map((request) => request.steps.length)).toEqual([1, 1])
    expect(literal.received.flatMap((request) => request.problems)).toEqual([])
    expect(literal.received[0]!.headers['x-env']).toBe('staging')
  })
})
