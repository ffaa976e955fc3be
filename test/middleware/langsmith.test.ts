import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { langsmith, type LangsmithRun } from 'llm-onion/middleware/langsmith'
import type { Receiver } from '../../src/testing/receiver'
import { exporterContract, prompt, receiverPerTest, runCalls } from './exporter-contract'

/** Every run the receiver got, in the order the calls finished. */
function runsOf(receiver: Receiver): LangsmithRun[] {
  return receiver.requests.flatMap((request) => (request.json as { post: LangsmithRun[] }).post)
}

/** LangSmith's dotted order of a root run: `YYYYMMDDTHHMMSSffffffZ` then the run id. */
const dottedOrder = /^\d{8}T\d{6}\d{6}Z[0-9a-f-]{36}$/

describe('langsmith()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('batches llm runs for a success, a streamed success and a failure to /runs/batch with x-api-key', async () => {
    client = createClient().use(langsmith({ apiKey: 'lsv2_test', baseUrl: receiver.url, project: 'checkout' }))
    await runCalls(client, { metadata: { run_name: 'answer-question' }, failure: { status: 503, message: 'Overloaded' } })

    expect(receiver.requests.length).toBeGreaterThanOrEqual(1)
    for (const request of receiver.requests) {
      expect(request.method).toBe('POST')
      expect(request.path).toBe('/runs/batch')
      expect(request.headers['x-api-key']).toBe('lsv2_test')
      expect(request.headers.authorization).toBeUndefined()
      expect(request.headers['content-type']).toBe('application/json')
      expect(Object.keys(request.json as object)).toEqual(['post'])
    }
    const runs = runsOf(receiver)
    expect(runs).toHaveLength(3)
    const [success, streamed, failure] = runs as [LangsmithRun, LangsmithRun, LangsmithRun]

    expect(success).toMatchObject({
      name: 'answer-question',
      run_type: 'llm',
      session_name: 'checkout',
      inputs: { messages: prompt },
      outputs: { choices: [{ message: { role: 'assistant', content: 'Paris is the capital.' } }], usage_metadata: { output_tokens: 4 } },
      extra: { metadata: { team: 'search', user: 'user-7', ls_provider: 'mock', ls_model_name: 'echo' }, invocation_params: { model: 'mock/echo', stream: false } },
    })
    expect(success.id).toMatch(/^[0-9a-f-]{36}$/)
    // A root run: its trace is itself, and its dotted order starts with its start time.
    expect(success.trace_id).toBe(success.id)
    expect(success.dotted_order).toMatch(dottedOrder)
    expect(success.dotted_order.endsWith(success.id)).toBe(true)
    // To the microsecond: YYYYMMDDTHHMMSS, the milliseconds and three zeros.
    expect(success.dotted_order.slice(0, 22)).toBe(`${success.start_time.slice(0, 19).replace(/[-:]/g, '')}${success.start_time.slice(20, 23)}000Z`)
    expect(Date.parse(success.end_time)).toBeGreaterThanOrEqual(Date.parse(success.start_time))
    expect(success.error).toBeUndefined()
    expect(success.extra.metadata.run_name).toBeUndefined()

    expect(streamed.extra.invocation_params.stream).toBe(true)
    expect(streamed.outputs?.choices).toEqual([expect.objectContaining({ message: { role: 'assistant', content: 'Paris, streamed.' } })])

    expect(failure.error).toBe('ServiceUnavailableError (503): Overloaded')
    expect(failure.extra.metadata.llm_onion_status).toBe('failure')
  })

  it('sends embeddings as embedding runs with their input', async () => {
    client = createClient().use(langsmith({ apiKey: 'lsv2_test', baseUrl: receiver.url }))
    await client.embed({ model: 'mock/embed', input: ['a b c'] })
    await client.flush()

    const [embedding] = runsOf(receiver)
    expect(embedding).toMatchObject({ run_type: 'embedding', inputs: { input: ['a b c'] }, session_name: 'litellm-completion', name: 'LLMRun' })
  })

  it('puts metadata.project_name in session_name, the project LiteLLM lets a call choose', async () => {
    client = createClient().use(langsmith({ apiKey: 'lsv2_test', baseUrl: receiver.url }))
    await client.chat({ model: 'mock/echo', messages: prompt, metadata: { project_name: 'per-call' } })
    await client.flush()

    expect(runsOf(receiver)[0]!.session_name).toBe('per-call')
  })

  it('still delivers every run when the receiver answers 500 once, then 200', async () => {
    receiver.answerWith(500)
    client = createClient().use(langsmith({ apiKey: 'lsv2_test', baseUrl: receiver.url, maxBatchSize: 1 }))
    await runCalls(client)

    const delivered = receiver.requests.slice(1).flatMap((request) => (request.json as { post: LangsmithRun[] }).post)
    expect(delivered.map((run) => run.error === undefined).sort()).toEqual([false, true, true])
  })

  exporterContract({ name: 'langsmith', layer: (url, redact) => langsmith({ apiKey: 'lsv2_test', baseUrl: url, redact }), secrets: ['lsv2_test'] })

  it('reads LANGSMITH_API_KEY, LANGSMITH_PROJECT, LANGSMITH_DEFAULT_RUN_NAME and LANGSMITH_BASE_URL from the environment', async () => {
    client = createClient().use(
      langsmith({ env: { LANGSMITH_API_KEY: 'lsv2_env', LANGSMITH_PROJECT: 'env-project', LANGSMITH_DEFAULT_RUN_NAME: 'EnvRun', LANGSMITH_BASE_URL: receiver.url } }),
    )
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests[0]!.headers['x-api-key']).toBe('lsv2_env')
    expect(runsOf(receiver)[0]).toMatchObject({ session_name: 'env-project', name: 'EnvRun' })
  })

  it('falls back to LANGCHAIN_API_KEY, the name older LangSmith SDKs read', async () => {
    client = createClient().use(langsmith({ env: { LANGCHAIN_API_KEY: 'lsv2_langchain', LANGSMITH_BASE_URL: receiver.url } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests[0]!.headers['x-api-key']).toBe('lsv2_langchain')
  })

  it('fails at construction naming the key variables when no key is given', () => {
    expect(() => langsmith({ env: {} })).toThrow(/LANGCHAIN_API_KEY/)
  })
})
