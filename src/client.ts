/**
 * The client: every chat, stream and embedding call runs through the onion of layers, then the
 * provider the model name routes to.
 */
import { assertMiddleware, composeLayers } from './compose'
import { Context } from './context'
import { createCostCalculator, preloadPriceData, type CostCalculator } from './cost'
import { validateDeliveryQueueOptions, type DeliveryQueueOptions, type FlushOptions } from './delivery/queue'
import { LlmError, toError } from './errors'
import { defaultProviders } from './providers/defaults'
import { resolveRoute, type Route } from './providers/router'
import { checkChatRequest } from './chat-request-check'
import {
  requestSchemas,
  type ChatRequest,
  type ChatResponse,
  type EmbeddingRequest,
  type EmbeddingResponse,
} from './schema'
import { scrubError } from './secret-scrubber'
import { createServices, type ClientServices } from './services'
import { createChatStream, type ChatStream } from './streamed-call'
import { attemptProvider } from './provider-attempt'
import type { CallOptions, Middleware, Provider } from './types'
import { validate } from './validate'
import { sinksOfLayer } from './delivery/layer-sinks'
import type { ProfileOptions } from './profile'
import { composeProfiledLayers } from './profiled-compose'
import { clientOptionsSchema, type ClientOptions } from './client-options'

export type { ChatStream } from './streamed-call'
export type { ClientOptions } from './client-options'

const checkEmbeddingRequest = (request: unknown) => validate(requestSchemas().embeddingRequestSchema, request, 'embedding request')

/**
 * Creates a client. With no options it serves `mock/...` models, and `openai/...` or `gemini/...`
 * when `OPENAI_API_KEY` or `GEMINI_API_KEY` is set.
 *
 * @example
 * ```ts
 * const client = createClient()
 * client.use(async (ctx, next) => {
 *   console.log('calling', ctx.request.model)
 *   await next()
 *   console.log('done', ctx.usage, ctx.cost)
 * })
 * const reply = await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'Hi' }] })
 * await client.close()
 * ```
 */
export function createClient(options: ClientOptions = {}): Client {
  return new Client(options)
}

/** What the clients made with `with()` share with the client they came from: all but the layers. */
interface SharedParts {
  providers: Readonly<Record<string, Provider>>
  aliases: Readonly<Record<string, string>>
  services: ClientServices
  cost?: CostCalculator
  routes: Map<string, Route>
  queueOptions?: DeliveryQueueOptions
  /** Profiling, when on (`createClient({ profile })`). */
  profile?: ProfileOptions
  /** Set when the client made with createClient() closes: the services are gone for every client sharing them. */
  closed: boolean
}

/** A derived client's shared parts, handed to its constructor by `with()` (synchronously, so never seen by another). */
let inheriting: { parts: SharedParts; layers: ReadonlyArray<Middleware> } | undefined

/**
 * Layers for `with()`: the new stack, or a function from the current stack to the new one.
 *
 * @example
 * ```ts
 * const withoutAlerts: LayerChange = (layers) => layers.filter((layer) => layer !== alerts)
 * const quiet = client.with(withoutAlerts)
 * ```
 */
export type LayerChange = ReadonlyArray<Middleware> | ((layers: ReadonlyArray<Middleware>) => ReadonlyArray<Middleware>)

/** Runs LLM calls through layers; create it with {@link createClient}. */
export class Client {
  /** Providers by name, fixed (frozen) when the client is created. */
  readonly providers: Readonly<Record<string, Provider>>
  /** Model aliases, fixed (frozen) when the client is created. */
  readonly aliases: Readonly<Record<string, string>>
  /** The client's shared services, also every call's `ctx.services`: the delivery queue (`services.queue.stats()`), the credential scrubber. */
  readonly services: ClientServices
  readonly #layers: Middleware[] = []
  readonly #cost?: CostCalculator
  readonly #routes: Map<string, Route>
  readonly #shared: SharedParts
  /** False for a client made with `with()`: it shares the services and leaves closing them to the client it came from. */
  readonly #ownsServices: boolean
  #dispatch?: (ctx: Context) => Promise<void>
  #closed = false

  constructor(options: ClientOptions = {}) {
    const inherited = inheriting
    inheriting = undefined
    if (inherited) {
      const { parts, layers } = inherited
      this.providers = parts.providers
      this.aliases = parts.aliases
      this.services = parts.services
      this.#cost = parts.cost
      this.#routes = parts.routes
      this.#shared = parts
      this.#ownsServices = false
      this.use(...layers)
      return
    }
    validate(clientOptionsSchema, options, 'createClient() options')
    this.providers = Object.freeze({ ...defaultProviders(), ...options.providers })
    this.aliases = Object.freeze({ ...options.aliases })
    const secrets = [...(options.secrets ?? []), ...Object.values(this.providers).flatMap((provider) => provider.secrets ?? [])]
    this.services = createServices({ redact: options.redact, onHookError: options.onHookError, queue: options.queue, secrets, store: options.store })
    // Providers free their sockets last, within close()'s deadline like everything else.
    this.services.onClose(async () => {
      for (const provider of new Set(Object.values(this.providers))) await provider.close?.()
    })
    this.#cost = options.cost === false ? undefined : createCostCalculator(options.cost)
    this.#routes = new Map()
    this.#ownsServices = true
    const profile = options.profile === true ? {} : options.profile || undefined
    this.#shared = { providers: this.providers, aliases: this.aliases, services: this.services, cost: this.#cost, routes: this.#routes, queueOptions: options.queue, profile, closed: false }
    if (options.middleware) this.use(...options.middleware)
  }

  /**
   * A new client with other layers that shares everything else with this one: providers, aliases,
   * cost, redaction, credentials, `onHookError` and the one delivery queue (so exporters still batch
   * together and `flush()` on either waits for both). This client is left as it is. Pass the new stack,
   * or a function from this client's layers (outermost first) to the new ones: to remove a layer,
   * filter it out; to replace one, map it. The new client starts from a copy: a later `use()` on
   * either reaches only that one.
   *
   * Close the client made with `createClient()`, last: it closes the shared queue and providers for
   * every client made from it. `close()` on a client made with `with()` only waits for the shared
   * background work (as `flush()`, within `timeoutMs`, default the queue's `closeTimeoutMs`) and
   * leaves the queue and providers open.
   *
   * @example
   * ```ts
   * const alerts = slack()
   * const retrying = retry({ retries: 2 })
   * const client = createClient().use(alerts, retrying)
   * const quiet = client.with((layers) => layers.filter((layer) => layer !== alerts)) // no Slack alerts
   * const patient = client.with((layers) => layers.map((layer) => (layer === retrying ? retry({ retries: 5 }) : layer)))
   * await quiet.chat({ model: 'mock/echo', messages })
   * await client.close() // closes the queue and providers quiet and patient share
   * ```
   */
  with(change: LayerChange): Client {
    if (this.#shared.closed) {
      throw new Error(
        'client.with() was called after client.close(): a client made from it would share a closed delivery queue and closed providers. Call with() before close(), or create a new client with createClient().',
      )
    }
    const layers = typeof change === 'function' ? change(this.#layers.slice()) : change
    if (!Array.isArray(layers)) {
      const found = layers === null ? 'null' : typeof layers
      throw new TypeError(`client.with() takes the new list of layers, or a function that returns it (for example (layers) => layers.filter((layer) => layer !== unwanted)); it got ${found}.`)
    }
    layers.forEach((layer, index) => assertMiddleware(layer, index, 'client.with()'))
    inheriting = { parts: this.#shared, layers }
    try {
      return new Client()
    } finally {
      inheriting = undefined
    }
  }

  /**
   * Adds layers. The first layer ever added is the outermost: it sees the request first and the
   * response last. Returns the client, so calls chain.
   */
  use(...layers: Middleware[]): this {
    layers.forEach((layer, index) => assertMiddleware(layer, index))
    this.#layers.push(...layers)
    this.#dispatch = undefined
    // With a durable spool, an exporter's leftovers from an earlier process are sent from now on.
    if (this.services.spooled) {
      for (const layer of layers) for (const sink of sinksOfLayer(layer)) this.services.queue.replay(sink)
    }
    return this
  }

  /** The layers in order, outermost first. */
  get layers(): ReadonlyArray<Middleware> {
    return this.#layers
  }

  /**
   * A chat completion through every layer.
   *
   * @example
   * ```ts
   * const reply = await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'Hi' }] })
   * console.log(reply.choices[0].message.content)
   * ```
   */
  chat(request: ChatRequest, options: CallOptions = {}): Promise<ChatResponse> {
    return this.#call('chat', checkChatRequest, request, options) as Promise<ChatResponse>
  }

  /**
   * A streamed chat completion: returns at once; the layers run while you read. The loop ends
   * only after every layer's code after `await next()` has run. `break` cancels the upstream request.
   *
   * @example
   * ```ts
   * for await (const chunk of client.stream({ model: 'mock/echo', messages })) {
   *   process.stdout.write(chunk.choices[0]?.delta?.content ?? '')
   * }
   * ```
   */
  stream(request: ChatRequest, options: CallOptions = {}): ChatStream {
    const ctx = this.#context('chat', true, checkChatRequest(request), options)
    return createChatStream(ctx, (call) => this.#run(call))
  }

  /**
   * Embeddings through every layer.
   *
   * @example
   * ```ts
   * const { data } = await client.embed({ model: 'mock/embed', input: ['a', 'b'] })
   * ```
   */
  embed(request: EmbeddingRequest, options: CallOptions = {}): Promise<EmbeddingResponse> {
    return this.#call('embedding', checkEmbeddingRequest, request, options) as Promise<EmbeddingResponse>
  }

  /**
   * Waits for all background work: `ctx.waitUntil` promises and every exporter's queued events; with
   * `timeoutMs`, at most that long (what is still pending then keeps going).
   *
   * @example
   * ```ts
   * await client.flush({ timeoutMs: 2_000 })
   * ```
   */
  flush(options: FlushOptions = {}): Promise<void> {
    return this.services.flush(options)
  }

  /**
   * Flushes, then stops exporters' timers and frees providers' sockets so the process can exit. Always
   * returns within `timeoutMs` (default `queue.closeTimeoutMs`, 10 s): what is still undelivered then
   * is dropped as `closed`, counted, and reported once on stderr. Keeps the process alive meanwhile.
   * On a client made with {@link Client.with} it only flushes, within the same deadline: the queue and
   * providers stay open for the client it came from, which closes them.
   *
   * @example
   * ```ts
   * await client.close({ timeoutMs: 5_000 })
   * ```
   */
  async close(options: FlushOptions = {}): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (!this.#ownsServices) {
      // Made with with(): the queue and providers belong to the client made with createClient().
      const timeoutMs = options.timeoutMs ?? validateDeliveryQueueOptions(this.#shared.queueOptions ?? {}).closeTimeoutMs
      return this.services.flush({ timeoutMs })
    }
    this.#shared.closed = true
    await this.services.close(options)
  }

  /** A call read whole; a request that fails validation rejects, as the calls themselves would. */
  #call(type: 'chat' | 'embedding', check: (request: unknown) => ChatRequest | EmbeddingRequest, request: unknown, options: CallOptions): Promise<ChatResponse | EmbeddingResponse> {
    let ctx: Context
    try {
      ctx = this.#context(type, false, check(request), options)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.#run(ctx)
  }

  #context(type: 'chat' | 'embedding', streaming: boolean, request: ChatRequest | EmbeddingRequest, options: CallOptions): Context {
    const ctx = new Context({
      type,
      streaming,
      request,
      services: this.services,
      signal: options.signal,
      http: options.http,
      modelInfo: options.modelInfo,
      deployment: options.deployment,
      keepRawReply: options.keepRawReply,
      secrets: options.secrets,
    })
    options.onContext?.(ctx)
    return ctx
  }

  /** Runs the call through the onion; resolves with its response. */
  async #run(ctx: Context): Promise<ChatResponse | EmbeddingResponse> {
    // Profiling is chosen here, once per stack: an unprofiled client composes its layers themselves.
    this.#dispatch ??= this.#shared.profile
      ? composeProfiledLayers(this.#layers, (inner) => this.#callProvider(inner), this.#shared.profile)
      : composeLayers(this.#layers, (inner) => this.#callProvider(inner))
    try {
      await this.#dispatch(ctx)
      if (!ctx.response) {
        throw new LlmError(
          'No layer set ctx.response and the provider was never called. Did a layer forget to `await next()`, or to set ctx.response when it answers by itself?',
        )
      }
      return ctx.response
    } catch (thrown) {
      ctx.error = toError(thrown)
      // Whatever failed (a provider echoing its key, a layer), the error the caller gets names no credential.
      scrubError(ctx.error, (text) => ctx.scrub(text))
      throw thrown
    } finally {
      ctx.timing.end = Date.now()
      ctx.cancellation.release()
      // A loop of calls that never wait on the network (a mock provider, cached answers) gives the
      // queue no turn to deliver in: after many events it waits here for one, instead of dropping them.
      const turn = this.services.turnNeeded()
      if (turn) await turn
    }
  }

  /** `#route` as a function made once, not per call. */
  readonly #routeOf = (model: string): Route => this.#route(model)

  /** The provider of `model`, remembered for the first 256 models (the providers and aliases never change). */
  #route(model: string): Route {
    let route = this.#routes.get(model)
    if (route) return route
    route = resolveRoute(model, this.providers, this.aliases)
    // Once per route, at the start of its first call: the prices load while the request is out.
    if (this.#cost) preloadPriceData(route.provider.name)
    if (this.#routes.size < 256) this.#routes.set(model, route)
    return route
  }

  /** The innermost step: one attempt at the provider. */
  #callProvider(ctx: Context): Promise<void> {
    return attemptProvider(ctx, this.#routeOf, this.#cost)
  }
}
