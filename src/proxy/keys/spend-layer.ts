/**
 * The proxy's outermost layer when virtual keys are on: before the call it writes who is calling
 * into `ctx.metadata` under LiteLLM's names (`user_api_key_hash`, `user_api_key_alias`,
 * `user_api_key_user_id`, `user_api_key_team_id`, `user_api_key_team_alias`; LiteLLM's
 * StandardLoggingMetadata), so every exporter and the
 * spend-log rows carry them (values a client sent under those names are dropped: they would let it
 * spend in another's name); after the call, success or not, it adds the call's cost to the running
 * totals of its key, user, team, end user (the request's `user`), tags and model, adds its tokens to
 * the rate-limit windows it was counted in (through the counter buffer, which sends them in batches),
 * and gives back its slot in flight (held by the rate windows for the key's next request, returned to
 * the store in the background), so a store that is slow or down never holds a reply.
 */
import type { Context } from '../../context'
import type { Middleware } from '../../types'
import { ticketSlot, type Ticket } from './access'
import type { CounterBuffer } from './counter-buffer'
import { keyPlan } from './key-plan'
import type { RateWindows } from './rate-windows'
import { addSpend, recordSpend } from './spend-ledger'

/** Which tokens count against `tpm_limit` (LiteLLM's `general_settings.token_rate_limit_type`, default `total`). */
export type TokenCount = 'total' | 'input' | 'output'

const identityFields = ['user_api_key', 'user_api_key_hash', 'user_api_key_alias', 'user_api_key_user_id', 'user_api_key_team_id', 'user_api_key_team_alias', 'user_api_key_org_id'] as const

/** What the layer needs. */
export interface SpendLayerOptions {
  /** Spend and tokens go through the counter buffer; the slot in flight back to the windows, which hold it a while for the key's next request. */
  counters: CounterBuffer
  windows: RateWindows
  tokenCount?: TokenCount
  now?: () => number
}

/**
 * The spend-tracking layer.
 *
 * @example
 * ```ts
 * const spend = spendLayer({ counters, windows })
 * const client = createClient({ middleware: [spend, ...layers] })
 * ```
 */
export function spendLayer(options: SpendLayerOptions): Middleware {
  const { counters, windows } = options
  const now = options.now ?? Date.now
  const tokenCount = options.tokenCount ?? 'total'

  /** Adds the call's spend and tokens to the counters (no round trip: the buffer sends them); gives back its slot in flight. */
  const settle = (ctx: Context, ticket: Ticket | undefined): void => {
    const cost = ctx.cost?.total ?? 0
    const at = now()
    if (ticket !== undefined) {
      const usage = ctx.usage
      const tokens = usage === undefined ? 0 : tokenCount === 'input' ? usage.inputTokens : tokenCount === 'output' ? usage.outputTokens : usage.totalTokens
      for (const window of ticket.windows) windows.addTokens(window, tokens)
      if (ticket.inFlight) windows.leave(ticket.token)
      addSpend(counters, keyPlan(ticket.token, ticket.found, at).spendCounters, cost, at)
    }
    recordSpend(counters, { tags: ctx.tags, model: ctx.requestedModel, ...(ctx.user ? { endUser: ctx.user } : {}) }, cost, at)
  }

  const layer: Middleware = async function keySpend(ctx, next) {
    const ticket = ctx.slot<Ticket>(ticketSlot)
    stampIdentity(ctx, ticket)
    try {
      await next()
    } finally {
      settle(ctx, ticket)
    }
  }
  return layer
}

/** LiteLLM's identity fields in the call's metadata: the ticket's, or none. */
function stampIdentity(ctx: Context, ticket: Ticket | undefined): void {
  const metadata = ctx.metadata
  let sent = false
  for (const field of identityFields) if (field in metadata) sent = true
  if (ticket === undefined && !sent) return
  // Copied without the fields a client sent rather than copied and then deleted from: a `delete` turns the object into a slow dictionary for every reader after.
  const stamped: Record<string, unknown> = sent ? {} : { ...metadata }
  if (sent) for (const name of Object.keys(metadata)) if (!(identityFields as readonly string[]).includes(name)) stamped[name] = metadata[name]
  if (ticket !== undefined) {
    const { key, team } = ticket.found
    stamped.user_api_key_hash = ticket.token
    if (key.key_alias !== null) stamped.user_api_key_alias = key.key_alias
    if (key.user_id !== null) stamped.user_api_key_user_id = key.user_id
    if (key.team_id !== null) stamped.user_api_key_team_id = key.team_id
    if (team?.team_alias) stamped.user_api_key_team_alias = team.team_alias
  }
  ctx.metadata = stamped
}
