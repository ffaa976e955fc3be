/**
 * AgentOps' OTLP endpoint takes a short-lived JWT, not the API key: the key is exchanged at its auth
 * endpoint (as LiteLLM's litellm/integrations/agentops/agentops.py does), in the background before
 * the first export and again when the token is old.
 */
import { cachedBearer, type BearerHeaders } from '../src/delivery/bearer-token-cache'
import { DeliveryError } from '../src/delivery/sink'

/** How long an AgentOps token is reused before a new one is fetched (its lifetime is not documented). */
const agentOpsTokenMs = 30 * 60_000

/**
 * The `headersFor` of the agentops preset: `Authorization: Bearer <jwt>`, the JWT fetched on the
 * first export and reused for a while.
 *
 * @example
 * ```ts
 * const headersFor = agentOpsAuthorization('https://api.agentops.ai/v3/auth/token', apiKey, 10_000)
 * await headersFor() // { authorization: 'Bearer eyJ...' }
 * ```
 */
export function agentOpsAuthorization(authEndpoint: string, apiKey: string, timeoutMs: number): BearerHeaders {
  return cachedBearer(async () => ({ token: await fetchAgentOpsToken(authEndpoint, apiKey, timeoutMs), renewAt: Date.now() + agentOpsTokenMs }))
}

/**
 * Exchanges an AgentOps API key for the JWT its OTLP endpoint takes: `POST {"api_key"}`, answered
 * `{"token", "project_id"}`. Failures are delivery errors (retried on 429 and 5xx, like an export).
 *
 * @example
 * ```ts
 * const jwt = await fetchAgentOpsToken('https://api.agentops.ai/v3/auth/token', apiKey, 10_000)
 * ```
 */
export async function fetchAgentOpsToken(url: string, apiKey: string, timeoutMs: number): Promise<string> {
  let response: Response
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: apiKey }), signal: AbortSignal.timeout(timeoutMs) })
  } catch (error) {
    throw new DeliveryError(`agentops: could not reach ${new URL(url).origin} for a token: ${(error as Error).message}`, { retryable: true, cause: error })
  }
  const body = (await response.json().catch(() => ({}))) as { token?: unknown }
  if (response.ok && typeof body.token === 'string') {
    return body.token
  }
  // The answer's text is not quoted: it may echo the key.
  throw new DeliveryError(`agentops: the token endpoint answered ${response.status}${response.ok ? ' without a token' : ''}; check AGENTOPS_API_KEY.`, {
    status: response.status,
    retryable: response.status === 429 || response.status >= 500,
  })
}
