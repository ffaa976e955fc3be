import type { ProviderUsage } from './schema'
import type { Usage } from './types'

/** OpenAI-style usage → the context's usage. */
export function usageFromProvider(usage: ProviderUsage | null | undefined): Usage | undefined {
  if (!usage) return undefined
  const result: Usage = {
    inputTokens: usage.prompt_tokens ?? 0,
    outputTokens: usage.completion_tokens ?? 0,
    totalTokens: usage.total_tokens ?? (usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0),
  }
  const cached = usage.prompt_tokens_details?.cached_tokens
  if (cached) result.cachedInputTokens = cached
  const written = usage.prompt_tokens_details?.cache_creation_tokens ?? usage.cache_creation_input_tokens
  if (written) result.cacheCreationInputTokens = written
  const reasoning = usage.completion_tokens_details?.reasoning_tokens
  if (reasoning) result.reasoningTokens = reasoning
  return result
}
