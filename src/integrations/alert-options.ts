/**
 * The options every alerting integration takes besides its destination (Slack, Teams, Discord,
 * PagerDuty, the emails): the slow-call threshold, the merge window, and the window rules
 * (latency, outage, hanging calls) that `defineAlertLayer` evaluates.
 */
import { z } from 'zod'
import { lazySchema } from '../lazy-schema'
import { integrationOptionsSchema } from './options'

/**
 * The options every alerting integration takes, besides its destination: `thresholdMs` (a successful
 * call slower than this is alerted as slow, default 300,000, LiteLLM's `alerting_threshold`; `false`
 * turns slow alerts off), `windowMs` (identical alerts within it are merged, default 60,000; 0 sends
 * each), `timeoutMs`, and the common `moments`, `redact`, `env`.
 */
export const alertOptionsSchema = lazySchema(() =>
  integrationOptionsSchema.omit({ baseUrl: true }).extend({
    thresholdMs: z.union([z.number().positive(), z.literal(false)]).optional(),
    windowMs: z.number().int().min(0).optional(),
    timeoutMs: z.number().int().positive().optional(),
    latency: z
      .object({
        window: durationSchema(),
        average: z.number().positive().optional(),
        p95: z.number().positive().optional(),
        models: z.array(z.string().min(1)).optional(),
        minCalls: z.number().int().min(1).optional(),
      })
      .strict()
      .refine((rule) => rule.average !== undefined || rule.p95 !== undefined, { message: 'needs average or p95 (milliseconds), for example { window: "5m", average: 5000 }' })
      .optional(),
    outage: z
      .object({
        window: durationSchema(),
        errors: z.union([z.number().int().positive(), z.array(z.number().int().positive()).min(1)]).optional(),
        rate: z.number().min(0).max(1).optional(),
        minCalls: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
    hanging: z.object({ afterMs: z.number().positive() }).strict().optional(),
  }),
)

function durationSchema() {
  return z.union([
    z.number().int().positive(),
    z.string().regex(/^\s*\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)\s*$/, 'must be a duration such as "30s", "5m", "1h", "1d", or a number of milliseconds'),
  ])
}

/** The window rules of the alert options, as `defineAlertLayer` takes them. */
export interface AlertRules {
  latency?: { window: string | number; average?: number; p95?: number; models?: string[]; minCalls?: number }
  outage?: { window: string | number; errors?: number | number[]; rate?: number; minCalls?: number }
  hanging?: { afterMs: number }
}

/**
 * The window rules out of validated alert options, to hand to `defineAlertLayer`.
 *
 * @example
 * ```ts
 * defineAlertLayer({ name: 'chat', sink, toMessage, ...alertRules(settings) })
 * ```
 */
export function alertRules(settings: AlertRules): AlertRules {
  return { latency: settings.latency, outage: settings.outage, hanging: settings.hanging }
}
