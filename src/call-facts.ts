/**
 * The data a call records (usage, cost, timing, attempts, the HTTP request behind it): plain types
 * that import nothing, so `Context` (src/context.ts), the event (src/event.ts) and the public types
 * (src/types.ts, which re-exports them) all name them without importing one another in a circle.
 */

/** Token counts of a call, whatever the provider called them. */
export interface Usage {
  inputTokens: number
  outputTokens: number
  totalTokens: number
  /** Input tokens read from a prompt cache; part of `inputTokens`. */
  cachedInputTokens?: number
  /** Input tokens written to a prompt cache (Anthropic's cache creation); part of `inputTokens`. */
  cacheCreationInputTokens?: number
  reasoningTokens?: number
  /** True when counted locally (a tokenizer), not reported by the provider. */
  estimated?: boolean
}

/** USD cost of a call. */
export interface Cost {
  input: number
  output: number
  total: number
}

/** Epoch milliseconds. */
export interface Timing {
  start: number
  firstChunk?: number
  end?: number
}

/** One attempt at the provider (retries and fallbacks make several). */
export interface AttemptRecord {
  attempt: number
  model: string
  provider?: string
  start: number
  end?: number
  status: 'success' | 'failure' | 'cancelled' | 'pending'
  error?: { type: string; message: string; status?: number }
}

/** The HTTP request that reached the proxy, credentials removed. */
export interface HttpInfo {
  method: string
  url: string
  headers: Record<string, string>
  clientIp?: string
  body?: unknown
}
