/**
 * The options of `createClient()`: their schema, checked once per client, and their type.
 */
import { z } from 'zod'
import { maxContentLengthRule } from './content-cut'
import type { CostOptions } from './cost'
import type { DeliveryQueueOptions } from './delivery/queue'
import { lazySchema } from './lazy-schema'
import type { ProfileOptions } from './profile'
import type { RedactOptions } from './redact'
import type { HookErrorHandler } from './services'
import type { SharedStore } from './shared-state/store'
import type { Middleware, Provider } from './types'

const providerSchema = lazySchema(() =>
  z.custom<Provider>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      typeof (value as Provider).chat === 'function' &&
      typeof (value as Provider).stream === 'function' &&
      typeof (value as Provider).embed === 'function',
    { message: 'must be a provider with chat, stream and embed methods, for example mock() or openai()' },
),
)

const maxLengthError = `must be ${maxContentLengthRule}, or false to keep every string whole`

/** The schema of {@link ClientOptions}; fields it leaves open (`cost`, `queue`) are checked by their own schemas. */
export const clientOptionsSchema = lazySchema(() =>
  z.object({
    providers: z.record(z.string(), providerSchema).optional(),
    middleware: z.array(z.custom<Middleware>((value) => typeof value === 'function', { message: 'must be a middleware function (ctx, next) => ...' })).optional(),
    aliases: z.record(z.string(), z.string()).optional(),
    redact: z
      .object({
        messages: z.boolean().optional(),
        mask: z.custom<(text: string) => string>((value) => typeof value === 'function', 'must be a function from text to masked text, for example (text) => text.replaceAll(myName, "[NAME]")').optional(),
        detectors: z.array(z.looseObject({ name: z.string(), pattern: z.instanceof(RegExp, { error: 'must be a RegExp with the g flag' }) }), { error: 'must be a list of detectors, for example piiDetectors()' }).optional(),
        maxLength: z.union([z.number({ error: maxLengthError }).int({ error: maxLengthError }).positive({ error: maxLengthError }), z.literal(false)], { error: maxLengthError }).optional(),
      })
      .optional(),
    onHookError: z.custom<HookErrorHandler>((value) => typeof value === 'function', { message: 'must be a function (error, hook) => void' }).optional(),
    cost: z.union([z.literal(false), z.record(z.string(), z.unknown())]).optional(),
    queue: z.record(z.string(), z.unknown()).optional(),
    secrets: z.array(z.string()).optional(),
    store: z
      .custom<SharedStore>(
        (value) => typeof value === 'object' && value !== null && ['increment', 'get', 'set', 'delete', 'addToWindow', 'readWindow', 'windowValues'].every((method) => typeof (value as Record<string, unknown>)[method] === 'function'),
        { message: 'must be a shared store, for example memoryStore() or redisStore({ url })' },
      )
      .optional(),
    profile: z.union([z.boolean(), z.object({ onProfile: z.custom<ProfileOptions['onProfile']>((value) => typeof value === 'function', { message: 'must be a function (layers, ctx) => void' }).optional() }).strict()], { error: 'must be true, false or { onProfile: (layers, ctx) => void }' }).optional(),
  }),
)

/** Options of {@link createClient}; every one has a default. */
export interface ClientOptions {
  /** Providers by name, merged over the defaults (`mock`, plus `openai` / `gemini` when their keys are in the environment). */
  providers?: Record<string, Provider>
  /** Layers to start with, outermost first; `use()` adds more inside them. */
  middleware?: Middleware[]
  /** Model aliases: `{ fast: 'openai/gpt-4o-mini' }` lets requests say `model: 'fast'`. */
  aliases?: Record<string, string>
  /**
   * What every event and export leaves out: `{ messages: true }` replaces prompt and reply content
   * with `"[redacted]"`; `maxLength` cuts content strings longer than 100,000 characters (a base64
   * image, a long document) with a marker; `mask` and `detectors` mask content.
   */
  redact?: RedactOptions
  /** Where errors of isolated hooks go (default: one `console.warn` per hook). */
  onHookError?: HookErrorHandler
  /** Cost from usage, on by default; `false` turns it off, an object sets price overrides. */
  cost?: false | CostOptions
  /** The shared delivery queue of every exporter. */
  queue?: DeliveryQueueOptions
  /**
   * More credentials to scrub by value from everything that leaves the process, besides those the
   * client finds itself (providers' keys, the environment's credential variables, integrations' keys).
   * Default none.
   */
  secrets?: string[]
  /**
   * The shared store every call reaches as `ctx.store` (default: an in-memory store of this client's
   * own). Pass `redisStore()` to count across processes. The client does not close a store it is
   * given: close it after the client (docs/shared-state.md).
   */
  store?: SharedStore
  /**
   * Records each layer's own time before and after `next()` on every call: on the event (`layers`),
   * for `otel()` and `prometheus()`, and to `onProfile`. Default `false`, which costs nothing: the
   * choice is made once, when the layers are composed (docs/profile.md).
   */
  profile?: boolean | ProfileOptions
}

