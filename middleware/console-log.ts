/**
 * A readable console line per call, for development: status, model, latency, tokens, cost.
 */
import { z } from 'zod'
import type { Context } from '../src/context'
import type { CallEvent } from '../src/event'
import { integrationOptionsSchema } from '../src/integrations/options'
import { defineObservingLayer } from '../src/integrations/observing-layer'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defaultMoments } from '../src/integrations/exporter'
import { defineIntegration } from '../src/integrations/descriptor'

const consoleLogOptionsSchema = integrationOptionsSchema
  .omit({ baseUrl: true, env: true })
  .extend({
    write: z.custom<(line: string) => void>((value) => typeof value === 'function', { message: 'must be a function (line: string) => void' }).optional(),
    prefix: z.string().optional(),
  })
  .strict()

/**
 * Options of {@link consoleLog}, besides `moments` (default `['success', 'failure']`) and `redact`.
 * - `write`: where each line goes, default `console.log`.
 * - `prefix`: starts every line, default `[llm-onion]`.
 */
export type ConsoleLogOptions = z.input<typeof consoleLogOptionsSchema>

/**
 * consoleLog() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * consoleLogIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['consoleLog'] }) builds
 * ```
 */
export const consoleLogIntegration = defineIntegration({
  name: 'consoleLog',
  aliases: [],
  switchedOnBy: [],
  position: 'local',
  takesEnv: false,
  factory: consoleLog,
})

/**
 * Prints one line per finished call:
 * `[llm-onion] success chat mock/echo (mock) 12 ms, first chunk 3 ms, 10 in + 5 out tokens, $0.000021, call 3f2a…`.
 * Failures name the error. A throwing `write` never fails the call (it goes to `onHookError`).
 *
 * @example
 * ```ts
 * client.use(consoleLog())
 * // or into your logger
 * client.use(consoleLog({ write: (line) => logger.info(line) }))
 * ```
 */
export function consoleLog(options: ConsoleLogOptions = {}): Middleware {
  const settings = validate(consoleLogOptionsSchema, options, 'consoleLog() options')
  const write = settings.write ?? ((line: string) => console.log(line))
  const prefix = settings.prefix ?? '[llm-onion]'
  const redact = settings.redact

  const print = (ctx: Context) => write(formatCallLine(ctx.toEvent({ redact }), prefix))

  return defineObservingLayer({ name: 'consoleLog', moments: settings.moments ?? defaultMoments, success: print, failure: print })
}

/** The line {@link consoleLog} prints for an event. */
export function formatCallLine(event: CallEvent, prefix = '[llm-onion]'): string {
  const kind = event.type === 'chat' ? (event.streaming ? 'stream' : 'chat') : 'embedding'
  const parts = [`${prefix} ${event.status} ${kind} ${event.model}${event.provider ? ` (${event.provider})` : ''} ${Math.round(event.latencyMs)} ms`]
  if (event.ttftMs !== undefined) parts.push(`first chunk ${Math.round(event.ttftMs)} ms`)
  if (event.usage) parts.push(`${event.usage.inputTokens} in + ${event.usage.outputTokens} out tokens`)
  if (event.cost) parts.push(`$${formatUsd(event.cost.total)}`)
  else if (event.status === 'success') parts.push('cost unknown')
  if (event.error) parts.push(`${event.error.type}: ${event.error.message}`)
  parts.push(`call ${event.id}`)
  return parts.join(', ')
}

function formatUsd(amount: number): string {
  // Enough digits for sub-cent calls, without a tail of zeros.
  return amount >= 0.01 ? amount.toFixed(4) : amount.toPrecision(3)
}
