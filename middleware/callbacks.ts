/**
 * LiteLLM's three callback lists as one layer — `callbacks({ input, success, failure })` — and
 * `asMiddleware(value, where)`, which turns whatever a user hands over (a layer, an observer object,
 * a CustomLogger) into a layer, as the proxy does for `litellm_settings.callbacks: module.instance`.
 */
import { z } from 'zod'
import type { Context } from '../src/context'
import { chooseLoggerHooks, CustomLogger, snakeCaseHint } from '../src/litellm/custom-logger'
import { ValidationError } from '../src/errors'
import type { CallEvent } from '../src/event'
import type { IntegrationMoment } from '../src/integrations/exporter'
import { findCallback, knownIntegrationNames, type CallbackEntry, type CatalogueEntry, type OptionsOf } from '../src/integrations/catalogue'
import { chainLayers } from '../src/integrations/chain'
import { defineObservingLayer } from '../src/integrations/observing-layer'
import type { RedactOptions } from '../src/redact'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { customLogger } from './custom-logger'
import { hasProxyHooks } from './custom-logger-proxy-hooks'
import { observer, runHook, type ObserverOptions } from './observer'
import { lazySchema } from '../src/lazy-schema'

/** What an `input` function receives: the call as it starts, without outcome fields. */
export type CallStartEvent = Omit<
  CallEvent,
  'status' | 'response' | 'error' | 'usage' | 'cost' | 'costUnknownReason' | 'endTime' | 'latencyMs' | 'firstChunkTime' | 'ttftMs'
> & { status: 'started' }

/** A plain function in a list; isolated like an observer hook. */
export type EventCallback<Event = CallEvent> = (event: Event, ctx: Context) => void | Promise<void>

/** Options of {@link callbacks}; every list defaults to empty. */
export interface CallbacksOptions {
  /** Before the provider is called: built-in names (`'sentry'`) or functions of the {@link CallStartEvent}. */
  input?: Array<string | EventCallback<CallStartEvent>>
  /** After a successful call: built-in names (`'helicone'`, `'langfuse'`) or functions of the event. */
  success?: Array<string | EventCallback>
  /** After a failed or cancelled call: built-in names (`'sentry'`, `'slack'`) or functions of the event. */
  failure?: Array<string | EventCallback>
  /** Options per built-in (by its name, not an alias), passed to its factory (default none: each reads its environment variables). */
  integrationOptions?: IntegrationOptionsByName
  /** Redaction of the events the functions receive (default: the client's `redact`). */
  redact?: RedactOptions
  /** Wait for async functions before the call goes on (default false). */
  await?: boolean
  /** How long an async function may stay pending before it is reported and no longer waited for (default 10,000 ms). */
  timeoutMs?: number
}

/** Options of each built-in, by name, typed from the catalogue. */
export type IntegrationOptionsByName = { [Entry in CatalogueEntry as Entry['name']]?: OptionsOf<Entry> }

const entrySchema = lazySchema(() =>
  z.union([
    z.string().min(1),
    z.custom<EventCallback>((value) => typeof value === 'function', { message: 'must be a built-in name or a function (event) => void' }),
  ]),
)
const callbacksSchema = lazySchema(() =>
  z
    .object({
      input: z.array(entrySchema).default([]),
      success: z.array(entrySchema).default([]),
      failure: z.array(entrySchema).default([]),
      integrationOptions: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
      redact: z.object({ messages: z.boolean().optional() }).strict().optional(),
      await: z.boolean().default(false),
      timeoutMs: z.number().positive().default(10_000),
    })
    .strict(),
)

const outcomeFields = ['response', 'error', 'usage', 'cost', 'costUnknownReason', 'endTime', 'latencyMs', 'firstChunkTime', 'ttftMs'] as const

/**
 * LiteLLM's `input_callback`, `success_callback` and `failure_callback` as one layer. A built-in named
 * in several lists is built once, sending at each moment it was named for; an unknown name fails here,
 * listing the known ones. Names mean what LiteLLM's do: `datadog` sends Datadog logs and
 * `datadog_llm_observability` LLM Observability spans (`datadog()` itself sends both). Functions are
 * isolated: errors go to `onHookError`, never to the call.
 *
 * @example
 * ```ts
 * client.use(callbacks({
 *   input: ['sentry'],
 *   success: ['helicone', 'langfuse', (event) => console.log(event.id, event.cost?.total)],
 *   failure: ['sentry', 'slack'],
 * }))
 * ```
 */
export function callbacks(options: CallbacksOptions): Middleware {
  const settings = validate(callbacksSchema, options, 'callbacks() options')
  const hookSettings = { await: settings.await, timeoutMs: settings.timeoutMs }
  const eventOptions = { redact: settings.redact }
  const moments = new Map<string, { entry: CallbackEntry; at: Set<IntegrationMoment> }>()
  const functions: { input: EventCallback<CallStartEvent>[]; success: EventCallback[]; failure: EventCallback[] } = { input: [], success: [], failure: [] }
  // From the typed options (validated above): the input list's functions take the start event.
  const collect = <Event>(moment: IntegrationMoment, list: Array<string | EventCallback<Event>> | undefined, into: EventCallback<Event>[]) => {
    for (const entry of list ?? []) {
      if (typeof entry !== 'string') {
        into.push(entry)
        continue
      }
      const found = findCallback(entry)
      if (!found) throw unknownIntegration(entry, moment)
      let listed = moments.get(found.id)
      if (!listed) moments.set(found.id, (listed = { entry: found, at: new Set() }))
      listed.at.add(moment)
    }
  }
  collect('input', options.input, functions.input)
  collect('success', options.success, functions.success)
  collect('failure', options.failure, functions.failure)
  const integrationOptions: Partial<Record<string, object>> = options.integrationOptions ?? {}
  const builtIns = [...moments.values()].map(({ entry, at }) => entry.integration.factory({ ...entry.implied, ...integrationOptions[entry.integration.name], moments: [...at] }))

  const fire = <Event>(ctx: Context, list: EventCallback<Event>[], moment: string, event: () => Event) => {
    const waiting: Promise<void>[] = []
    list.forEach((callback, index) => {
      const pending = runHook(ctx, `callbacks.${moment}[${callback.name || index}]`, hookSettings, () => callback(event(), ctx))
      if (pending) waiting.push(pending)
    })
    return waiting.length > 0 ? Promise.all(waiting).then(() => undefined) : undefined
  }

  const layer = defineObservingLayer({
    name: 'callbacks',
    recordError: true,
    input: functions.input.length > 0 ? (ctx) => fire(ctx, functions.input, 'input', () => startEvent(ctx.toEvent(eventOptions))) : undefined,
    success: functions.success.length > 0 ? (ctx) => fire(ctx, functions.success, 'success', () => ctx.toEvent(eventOptions)) : undefined,
    failure: functions.failure.length > 0 ? (ctx) => fire(ctx, functions.failure, 'failure', () => ctx.toEvent(eventOptions)) : undefined,
  })
  // The functions' layer outermost, as if it wrapped the built-ins: observing layers side by side run in
  // one frame (observing-group.ts) and join a chain this one is part of (the proxy's, one per integration).
  // The chain declares the built-ins' sinks, which a client with a durable spool replays.
  return builtIns.length > 0 ? chainLayers([layer, ...builtIns]) : layer
}

function startEvent(event: CallEvent): CallStartEvent {
  const start: Record<string, unknown> = { ...event, status: 'started' }
  for (const field of outcomeFields) delete start[field]
  return start as CallStartEvent
}

function unknownIntegration(name: string, moment: string): ValidationError {
  const list = knownIntegrationNames.join(', ')
  return new ValidationError(
    `callbacks(): unknown integration '${name}' in ${moment}. Known: ${list}. For your own code pass a function (event) => { ... } instead of a name.`,
    [{ path: moment, message: `unknown integration '${name}'` }],
  )
}

const observerHooks = ['onStart', 'onSuccess', 'onFailure', 'onChunk', 'onAttempt'] as const

/**
 * Turns a user-supplied value into a layer: a middleware function as it is, an observer-hooks object
 * (`{ onStart?, onSuccess?, onFailure?, onChunk?, onAttempt? }`) through `observer()`, a CustomLogger
 * instance (or any object with its camelCased methods) through `customLogger()`. Anything else fails
 * with a message naming `where` and what was found.
 *
 * @example
 * ```ts
 * const loaded = await import('./proxy_callbacks.ts')
 * client.use(asMiddleware(loaded.proxyLogger, 'litellm_settings.callbacks[0] (proxy_callbacks.proxyLogger)'))
 * ```
 */
export function asMiddleware(value: unknown, where: string): Middleware {
  if (typeof value === 'function') {
    if (isClass(value)) {
      throw new TypeError(
        `${where} is the class ${value.name || '(anonymous)'}, not an instance. Export an instance: \`export const handler = new ${value.name || 'MyHandler'}()\`.`,
      )
    }
    return value as Middleware
  }
  if (value !== null && typeof value === 'object') {
    if (value instanceof CustomLogger || Object.keys(chooseLoggerHooks(value)).length > 0 || hasProxyHooks(value)) return customLogger(value)
    const record = value as Record<string, unknown>
    const hooks = observerHooks.filter((hook) => typeof record[hook] === 'function')
    if (hooks.length > 0) {
      const options: ObserverOptions = { name: where.length <= 60 ? where : 'observer' }
      for (const hook of hooks) (options as Record<string, unknown>)[hook] = (record[hook] as (...args: unknown[]) => unknown).bind(value)
      return observer(options)
    }
  }
  throw new TypeError(
    `${where} must be a middleware function (ctx, next) => { ... await next() ... }, an observer object ({ onStart, onSuccess, onFailure, onChunk, onAttempt }) or a CustomLogger instance; found ${describe(value)}.` +
      (value !== null && typeof value === 'object' ? snakeCaseHint(value) : ''),
  )
}

function isClass(value: Function): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(value))
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined (is the export name right?)'
  if (value === null) return 'null'
  if (typeof value === 'string') return `the string ${JSON.stringify(value)} (a built-in integration goes in success_callback / failure_callback, or callbacks({ success: [${JSON.stringify(value)}] }))`
  if (Array.isArray(value)) return 'an array (pass its entries one by one)'
  if (typeof value === 'object') {
    const keys = Object.keys(value)
    const name = (value as { constructor?: { name?: string } }).constructor?.name
    const kind = name && name !== 'Object' ? `an instance of ${name}` : 'an object'
    return keys.length > 0 ? `${kind} with keys ${keys.slice(0, 8).join(', ')}` : `${kind} with no hook methods`
  }
  return `a ${typeof value}`
}
