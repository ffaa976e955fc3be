/**
 * route(): decides once a call has finished which integrations get its event — tail sampling (keep
 * every failure, slow or expensive call, sample routine successes), per-team destinations with
 * their own credentials, per-request opt-out. The destinations are ordinary integration layers
 * (`langfuse(...)`, `webhook(...)`, `customLogger(...)`): each chosen one is run over the finished
 * call, so it builds and sends the same event it would have sent had it been `use()`d directly.
 */
import { z } from 'zod'
import type { Context } from '../src/context'
import type { CallEvent } from '../src/event'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'

/** One rule: the calls it matches, where they go, and what share of them. */
export interface RouteRule {
  /** Which finished calls the rule takes; default every call. */
  when?: (event: CallEvent) => boolean
  /** The integration layers that get the matching calls. */
  to: Middleware[]
  /** Share of the matching calls kept, 0 to 1, decided per call. Default 1 (all). */
  sample?: number
}

export interface RouteOptions {
  /** The random source of `sample` (return values in [0, 1)); pass a seeded one for reproducible sampling. Default `Math.random`. */
  random?: () => number
  /**
   * A call that returns true sends nothing anywhere. Default: the request's `no-log: true` (body or
   * `metadata`), as LiteLLM's clients send it.
   */
  optOut?: (ctx: Context) => boolean
}

const ruleSchema = lazySchema(() =>
  z
    .object({
      when: z.custom<RouteRule['when']>((value) => typeof value === 'function', 'must be a function (event) => boolean').optional(),
      to: z.array(z.custom<Middleware>((value) => typeof value === 'function', 'must be an integration layer, for example langfuse()'), { error: 'is required: list the integration layers, for example to: [langfuse()]' }).min(1, 'list at least one integration layer'),
      sample: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1').optional(),
    })
    .strict(),
)
const routeOptionsSchema = lazySchema(() =>
  z
    .object({
      random: z.custom<() => number>((value) => typeof value === 'function', 'must be a function returning a number in [0, 1)').optional(),
      optOut: z.custom<(ctx: Context) => boolean>((value) => typeof value === 'function', 'must be a function (ctx) => boolean').optional(),
    })
    .strict(),
)

/** The request asked for no logging: LiteLLM's `no-log: true`, in the body or in `metadata`. */
export function requestedNoLog(ctx: Context): boolean {
  return (ctx.request as Record<string, unknown>)['no-log'] === true || ctx.metadata['no-log'] === true || ctx.metadata.no_log === true
}

/**
 * A layer that routes each finished call's event to the integrations its rules choose. A layer in
 * several matching rules gets the event once. Place it outermost, outside `retry()`, so it sees
 * the call once.
 *
 * @example
 * ```ts
 * client.use(route([
 *   { when: (event) => event.status !== 'success' || event.latencyMs > 10_000, to: [langfuse()] },
 *   { when: (event) => event.status === 'success', to: [langfuse()], sample: 0.05 },
 *   { when: (event) => event.metadata.team === 'a', to: [langfuse({ publicKey: teamA.publicKey, secretKey: teamA.secretKey })] },
 * ]))
 * ```
 */
export function route(rules: RouteRule[], options: RouteOptions = {}): Middleware {
  if (!Array.isArray(rules)) throw new TypeError('route() takes a list of rules, for example route([{ to: [langfuse()] }])')
  const checked = rules.map((rule, index) => validate(ruleSchema, rule, `route() rules[${index}]`))
  const settings = validate(routeOptionsSchema, options, 'route() options')
  const random = settings.random ?? Math.random
  const optOut = settings.optOut ?? requestedNoLog

  return async function route(ctx: Context, next: () => Promise<void>): Promise<void> {
    try {
      await next()
    } catch (error) {
      ctx.error ??= error as Error
      await deliver(ctx)
      throw error
    }
    await deliver(ctx)
  }

  async function deliver(ctx: Context): Promise<void> {
    if (optOut(ctx)) return
    const event = ctx.toEvent()
    const chosen = new Set<Middleware>()
    for (const rule of checked) {
      if (rule.when && !safely(ctx, () => rule.when!(event))) continue
      if (rule.sample !== undefined && rule.sample < 1 && !(random() < rule.sample)) continue
      for (const destination of rule.to) chosen.add(destination)
    }
    for (const destination of chosen) await replay(ctx, destination)
  }
}

function safely(ctx: Context, decide: () => boolean): boolean {
  try {
    return decide() === true
  } catch (error) {
    ctx.services.reportHookError(error, 'route.when')
    return false
  }
}

/** Runs an integration layer over a call that has already finished: its `next()` settles as the call did. */
async function replay(ctx: Context, destination: Middleware): Promise<void> {
  const finished = ctx.error
  try {
    await destination(ctx, () => (finished ? Promise.reject(finished) : Promise.resolve()))
  } catch (error) {
    if (error !== finished) ctx.services.reportHookError(error, `route(${destination.name || 'destination'})`)
  }
}
