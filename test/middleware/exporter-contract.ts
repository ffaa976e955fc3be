/**
 * What every exporter test shares: the fixtures (an HTTP request and metadata full of secrets, a
 * prompt), `runCalls` (a success, a streamed success and a failure, then a flush), a receiver started
 * for each test, and `exporterContract`, which registers the tests every exporter must pass: no secret
 * in a payload, and `redact: { messages: true }` honoured on the client and on the layer.
 */
import { afterEach, beforeEach, expect, it } from 'vitest'
import { createClient, type ChatRequest, type ChatResponse, type Client, type ClientOptions, type Message, type Middleware, type RedactOptions } from 'llm-onion'
import { startReceiver, type ReceivedRequest, type Receiver } from '../../src/testing/receiver'

/** The HTTP request behind a call, as the proxy passes it: its authorization header must never leave. */
export const http = { method: 'POST', url: '/v1/chat/completions', headers: { authorization: 'Bearer sk-secret' } }
/** Metadata with secrets in it (which must never leave) and one plain field. */
export const metadata = { api_key: 'sk-secret', authorization: 'Bearer sk-secret', team: 'search' }
export const prompt = [{ role: 'user' as const, content: 'What is the capital of France?' }]

/** How `runCalls` varies its calls for one exporter's assertions. */
export interface CallsOptions {
  /** The prompt of every call; default `prompt`. */
  messages?: Message[]
  /** Fields added to `metadata` (which keeps its secrets); default none. */
  metadata?: Record<string, unknown>
  /** More fields of the successful call, such as `tags` or `temperature`; default none. */
  success?: Partial<ChatRequest>
  /** The error of the failing call; default `{ status: 429, message: 'Slow down' }`. */
  failure?: { status: number; message: string }
}

/**
 * A success (with a user, the provider API key and the HTTP request), a streamed success and a
 * failure, every one with the secret-laden metadata, then a flush. Returns the success's reply.
 */
export async function runCalls(client: Client, options: CallsOptions = {}): Promise<ChatResponse> {
  const messages = options.messages ?? prompt
  const callMetadata = { ...metadata, ...options.metadata }
  const failure = options.failure ?? { status: 429, message: 'Slow down' }
  const reply = await client.chat(
    { model: 'mock/echo', messages, mock_response: 'Paris is the capital.', user: 'user-7', metadata: callMetadata, api_key: 'sk-provider-secret', ...options.success },
    { http },
  )
  for await (const _chunk of client.stream({ model: 'mock/echo', messages, mock_response: 'Paris, streamed.', metadata: callMetadata })) void _chunk
  await expect(client.chat({ model: 'mock/echo', messages, mock_error: failure, metadata: callMetadata }, { http })).rejects.toThrow(failure.message)
  await client.flush()
  return reply
}

type ReceiverOptions = Parameters<typeof startReceiver>[0]

/**
 * A receiver started before each test and closed after it, behind one object whose members are
 * always those of the current test's receiver. `client` gives the client the test opened: it is
 * closed first, so its exporters deliver before the receiver goes away.
 */
export function receiverPerTest(options: ReceiverOptions & { client: () => Client | undefined }): Receiver {
  const { client, ...receiverOptions } = options
  let current: Receiver | undefined
  beforeEach(async () => {
    current = await startReceiver(receiverOptions)
  })
  afterEach(async () => {
    await client()?.close()
    await current?.close()
  })
  const started = (): Receiver => {
    if (!current) throw new Error('the receiver is started before each test; use it inside a test')
    return current
  }
  return {
    get url() {
      return started().url
    },
    get port() {
      return started().port
    },
    get requests() {
      return started().requests
    },
    answerWith: (...statuses) => started().answerWith(...statuses),
    waitFor: (count, ms) => started().waitFor(count, ms),
    close: () => started().close(),
  }
}

/** How to test one exporter against the shared contract. */
export interface ExporterContract {
  /** The integration's name, at the start of each test name. */
  name: string
  /** Builds the layer that exports to a receiver at `url`, with `redact` when a test sets it on the layer. */
  layer: (url: string, redact?: RedactOptions) => Middleware
  /** Client options besides `redact` (prices, queue timings); default none. */
  client?: ClientOptions
  /** How the receiver answers; default `{}` as JSON. */
  receiver?: ReceiverOptions
  /** Starts a receiver of the service's own (a fake that answers per item, checks a token); default `startReceiver(receiver)`. */
  startReceiver?: () => Promise<Pick<Receiver, 'url' | 'requests' | 'close'>>
  /** The calls to run; default `runCalls`. */
  run?: (client: Client) => Promise<unknown>
  /** A request's payload as text, where strings can be searched for; default its decompressed body. */
  payloadOf?: (request: ReceivedRequest) => string
  /** Which requests carry exported payloads (not, say, a token exchange); default all. */
  isPayload?: (request: ReceivedRequest) => boolean
  /** More strings no payload may contain, such as the exporter's own key; default none. */
  secrets?: string[]
  /** Where the redaction tests set `redact`; default both. */
  redactOn?: Array<'client' | 'layer'>
  /** How many requests the calls make: exactly this number, or `{ atLeast }`; default at least one. */
  requests?: number | { atLeast: number }
}

/** Registers the contract tests of one exporter in the current `describe`. */
export function exporterContract(contract: ExporterContract): void {
  const { name, layer, run = runCalls, payloadOf = (request: ReceivedRequest) => request.text } = contract

  /** Runs the calls through a client exporting to a fresh receiver; returns what the receiver got. */
  async function exported(redact: { client?: RedactOptions; layer?: RedactOptions } = {}): Promise<string[]> {
    const receiver = contract.startReceiver ? await contract.startReceiver() : await startReceiver(contract.receiver)
    try {
      const client = createClient({ ...contract.client, redact: redact.client }).use(layer(receiver.url, redact.layer))
      try {
        await run(client)
      } finally {
        await client.close()
      }
      const expected = contract.requests ?? { atLeast: 1 }
      if (typeof expected === 'number') expect(receiver.requests).toHaveLength(expected)
      else expect(receiver.requests.length).toBeGreaterThanOrEqual(expected.atLeast)
      const payloads = receiver.requests.filter(contract.isPayload ?? (() => true)).map(payloadOf)
      // Checks of the payloads pass vacuously when none arrived (only a token exchange did).
      expect(payloads.length, 'requests that carry exported payloads').toBeGreaterThan(0)
      return payloads
    } finally {
      await receiver.close()
    }
  }

  it(`${name}: never sends the provider API key or an authorization header in a payload`, async () => {
    for (const payload of await exported()) {
      for (const secret of ['sk-secret', 'sk-provider-secret', ...(contract.secrets ?? [])]) expect(payload).not.toContain(secret)
      expect(payload.toLowerCase()).not.toContain('authorization')
    }
  })

  const places = { client: 'on the client', layer: 'on the layer' } as const
  const redactOn = contract.redactOn ?? ['client', 'layer']
  if (redactOn.length === 0) return
  it.each(redactOn.map((where) => [places[where], where] as const))(
    `${name}: redact: { messages: true } %s removes prompt and completion content`,
    async (_place, where) => {
      for (const payload of await exported({ [where]: { messages: true } })) {
        expect(payload).not.toContain('capital of France')
        expect(payload).not.toContain('Paris')
        expect(payload).toContain('[redacted]')
      }
    },
  )
}
