/**
 * The answers a request with a virtual key gets when it may not go on, with LiteLLM's status, `type`,
 * `param` and `code` (a string, as LiteLLM's `ProxyException` sends it) and LiteLLM's wording, so a
 * client written against LiteLLM's proxy sees what it expects:
 * - litellm/proxy/auth/user_api_key_auth.py and auth_checks.py: unknown, blocked and expired keys
 *   (401), models the key may not call (401 `key_model_access_denied`);
 * - litellm/proxy/auth/auth_exception_handler.py: a budget exceeded is 400 `budget_exceeded`;
 * - litellm/proxy/hooks/parallel_request_limiter_v3.py: rate limits are 429 with `retry-after`.
 * Messages name the key by its hash or `sk-...` and four characters, never by the key itself.
 */
import { openAiError, type OpenAiErrorResponse } from '../openai-errors'

/**
 * A key that is neither the master key nor a known virtual key.
 *
 * @example
 * ```ts
 * send(response, unknownKey('sk-...RXkA', 'authorization'))
 * ```
 */
export function unknownKey(shownKey: string, header: string): OpenAiErrorResponse {
  return openAiError(401, `Authentication Error, Invalid proxy server token passed. Received API Key = ${shownKey} (in the ${header} header): it is not the master key, and no virtual key has it. Send a key from /key/generate, or the master key.`, { type: 'token_not_found_in_db', param: 'key', code: '401' })
}

/** A blocked key (`/key/block`). */
export function blockedKey(): OpenAiErrorResponse {
  return openAiError(401, "Authentication Error, Key is blocked. Update via `/key/unblock` if you're an admin.", { type: 'auth_error', param: 'None', code: '401' })
}

/** A key of a blocked team. */
export function blockedTeam(teamId: string): OpenAiErrorResponse {
  return openAiError(401, `Authentication Error, Team=${teamId} is blocked. Update the team (blocked: false) if you're an admin.`, { type: 'team_blocked', param: 'None', code: '401' })
}

/** A key past its `expires`. */
export function expiredKey(expires: string, now: number, shownKey: string): OpenAiErrorResponse {
  return openAiError(401, `Authentication Error - Expired Key. Key Expiry time ${expires} and current time ${new Date(now).toISOString()}. Generate a new key, or extend this one with /key/update (duration).`, { type: 'expired_key', param: shownKey, code: '401' })
}

/** A model outside the key's (or its team's) `models`. */
export function modelNotAllowed(model: string, allowed: string[], owner: 'key' | 'team'): OpenAiErrorResponse {
  return openAiError(401, `${owner} not allowed to access model. This ${owner} can only access models=${JSON.stringify(allowed)}. Tried to access ${model}`, { type: `${owner}_model_access_denied`, param: 'model', code: '401' })
}

/** Whose budget ran out, and the numbers. */
export interface BudgetOverrun {
  owner: 'key' | 'user' | 'team'
  id: string
  spend: number
  maxBudget: number
}

/**
 * A budget exceeded, as LiteLLM words it for a key, a team and a user.
 *
 * @example
 * ```ts
 * budgetExceeded({ owner: 'key', id: token, spend: 0.0021, maxBudget: 0.002 }).status // 400
 * ```
 */
export function budgetExceeded(overrun: BudgetOverrun): OpenAiErrorResponse {
  const { owner, id, spend, maxBudget } = overrun
  const message =
    owner === 'key'
      ? `Budget has been exceeded! Current cost: ${spend}, Max budget: ${maxBudget}`
      : owner === 'team'
        ? `Budget has been exceeded! Team=${id} Current cost: ${spend}, Max budget: ${maxBudget}`
        : `ExceededBudget: User=${id} over budget. Spend=${spend}, Budget=${maxBudget}`
  return openAiError(400, message, { type: 'budget_exceeded', param: null, code: '400' })
}

/** A limit reached: whose, which, how many, and when the window ends (epoch ms). */
export interface LimitReached {
  scope: 'api_key' | 'user' | 'team'
  id: string
  type: 'requests' | 'tokens' | 'max_parallel_requests'
  limit: number
  resetAt: number
}

/**
 * A rate limit reached: 429 with `retry-after` (seconds until the window ends; one for requests in
 * flight), and LiteLLM's `rate_limit_type` and `reset_at` headers.
 *
 * @example
 * ```ts
 * rateLimited({ scope: 'api_key', id: token, type: 'requests', limit: 5, resetAt: Date.now() + 30_000 }, Date.now())
 * ```
 */
export function rateLimited(reached: LimitReached, now: number): OpenAiErrorResponse {
  const resetAt = formatUtc(reached.resetAt)
  const retryAfter = Math.max(1, Math.ceil((reached.resetAt - now) / 1000))
  const message = `Rate limit exceeded for ${reached.scope}: ${reached.id}. Limit type: ${reached.type}. Current limit: ${reached.limit}, Remaining: 0. Limit resets at: ${resetAt}`
  return openAiError(429, message, {
    type: 'None',
    param: 'None',
    code: '429',
    headers: { 'retry-after': String(retryAfter), rate_limit_type: reached.type, reset_at: resetAt },
  })
}

/** The store (fail-closed) or the database could not be asked, and the request is refused rather than let through unchecked. */
export function checksUnavailable(what: 'store' | 'database', detail: string): OpenAiErrorResponse {
  const message =
    what === 'store'
      ? `The shared store (Redis) could not be reached to check this key's budget and limits (${detail}), and it is set to fail closed (router_settings.redis_failure_mode): try again shortly.`
      : `PostgreSQL could not be reached to check this key (${detail}), and general_settings.allow_requests_on_db_unavailable is false: try again shortly.`
  return openAiError(503, message, { type: 'service_unavailable', code: '503', headers: { 'retry-after': '1' } })
}

/** `2026-04-26 00:21:59 UTC`, as LiteLLM writes `reset_at`. */
function formatUtc(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ')} UTC`
}
