/**
 * bannedKeywords(): blocks (or masks) calls whose prompt or reply contains a banned word or phrase,
 * matched case-insensitively as whole words, streams included.
 */
import { z } from 'zod'
import { keywordDetector } from '../src/guardrails/detectors'
import { modesOf, textGuardrail, textGuardrailShape, type GuardrailMode } from '../src/guardrails/text-guardrail'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'

export interface BannedKeywordsOptions {
  /** The words and phrases to refuse (whole words, any case; spaces match any whitespace). Required. */
  keywords: string[]
  /** The guardrail's name in errors and the proxy's replies. Default `banned-keywords`. */
  name?: string
  /** `pre_call` / `during_call`: the prompt; `post_call`: the reply, streamed or not. Default `['pre_call', 'post_call']`. */
  mode?: GuardrailMode | GuardrailMode[]
  /** `block` refuses the call with a `GuardrailError`; `mask` replaces each with `[BANNED_KEYWORD]`. Default `block`. */
  action?: 'mask' | 'block'
  /** Characters of a streamed reply held back so a keyword split across chunks is caught. Default 48 (at least the longest keyword). */
  lookahead?: number
}

const bannedKeywordsOptionsSchema = lazySchema(() =>
  z
    .object({
      ...textGuardrailShape,
      keywords: z.array(z.string().trim().min(1, 'must not be empty'), { error: 'is required: list the banned words, for example { keywords: ["project falcon"] }' }).min(1, 'list at least one keyword'),
    })
    .strict(),
)

/**
 * A guardrail layer for banned words (LiteLLM's `banned_keywords`).
 *
 * @example
 * ```ts
 * const client = createClient({ providers: { mock: mock() }, middleware: [bannedKeywords({ keywords: ['project falcon'] })] })
 * await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'status of Project Falcon?' }] })
 * // throws GuardrailError (status 400, guardrail 'banned-keywords')
 * ```
 */
export function bannedKeywords(options: BannedKeywordsOptions): Middleware {
  const parsed = validate(bannedKeywordsOptionsSchema, options, 'bannedKeywords() options')
  const longest = Math.max(...parsed.keywords.map((keyword) => keyword.length))
  return textGuardrail({
    layerName: 'bannedKeywords',
    guardrail: parsed.name ?? 'banned-keywords',
    detectors: [keywordDetector(parsed.keywords)],
    action: parsed.action ?? 'block',
    modes: modesOf(parsed.mode, ['pre_call', 'post_call']),
    lookahead: Math.max(parsed.lookahead ?? 48, longest + 1),
  })
}
