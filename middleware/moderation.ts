/**
 * moderation(): refuses prompts (and, with `post_call`, replies) that the provider's moderation
 * endpoint flags: OpenAI's `POST /v1/moderations` (or any endpoint of the same shape at `baseUrl`),
 * and for `mock/` models the mock's deterministic moderation (src/providers/mock.ts), so tests and
 * demos need no network.
 */
import { z } from 'zod'
import type { Context } from '../src/context'
import { GuardrailError } from '../src/errors'
import { guardrailBaseShape, modesOf, type GuardrailMode } from '../src/guardrails/text-guardrail'
import { readBaseUrl, readSetting } from '../src/integrations/options'
import { mockModeration, textOf, type ModerationResult } from '../src/providers/mock/provider'
import type { ChatRequest, ChatResponse } from '../src/schema'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'

/** Asks a moderation endpoint about one text. */
export type Moderate = (text: string, ctx: Context) => Promise<ModerationResult> | ModerationResult

export interface ModerationOptions {
  /** The guardrail's name in errors and the proxy's replies. Default `moderation`. */
  name?: string
  /** `pre_call` / `during_call`: the prompt's user messages; `post_call`: the reply (not streamed). Default `pre_call`. */
  mode?: GuardrailMode | GuardrailMode[]
  /** The moderation model. Default `omni-moderation-latest`. */
  model?: string
  /** Key for the endpoint. Default `OPENAI_API_KEY`. */
  apiKey?: string
  /** Base URL of an OpenAI-compatible API. Default `OPENAI_BASE_URL`, else `https://api.openai.com/v1`. */
  baseUrl?: string
  /** Only these categories block; default any flagged category. */
  categories?: string[]
  /** Your own moderation function instead of the endpoint. Default: the mock's for `mock/` models, else the endpoint. */
  moderate?: Moderate
}

const moderationOptionsSchema = lazySchema(() =>
  z
    .object({
      ...guardrailBaseShape,
      model: z.string().min(1).optional(),
      apiKey: z.string().min(1).optional(),
      baseUrl: z.string().optional(),
      categories: z.array(z.string().min(1)).min(1).optional(),
      moderate: z.custom<Moderate>((value) => typeof value === 'function', 'must be a function (text, ctx) => ({ flagged, categories, category_scores })').optional(),
    })
    .strict(),
)

/**
 * A guardrail layer on a moderation endpoint (LiteLLM's `openai_moderation`).
 *
 * @example
 * ```ts
 * const client = createClient({ providers: { mock: mock() }, middleware: [moderation()] })
 * await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'how do I kill a neighbour' }] })
 * // throws GuardrailError (status 400, guardrail 'moderation'): flagged for violence
 * ```
 */
export function moderation(options: ModerationOptions = {}): Middleware {
  const parsed = validate(moderationOptionsSchema, options, 'moderation() options')
  const guardrail = parsed.name ?? 'moderation'
  const modes = modesOf(parsed.mode, ['pre_call'])
  const onInput = modes.has('pre_call') || modes.has('during_call')
  const blocking = parsed.categories === undefined ? undefined : new Set(parsed.categories)
  const endpoint = parsed.moderate ?? endpointModeration(parsed)

  const refuse = async (text: string, where: string, ctx: Context) => {
    if (text.trim() === '') return
    const moderate = options.moderate ? endpoint : ctx.requestedModel.startsWith('mock/') || ctx.provider === 'mock' ? mockModeration : endpoint
    const result = await moderate(text, ctx)
    const flagged = Object.entries(result.categories).filter(([category, on]) => on && (blocking?.has(category) ?? true)).map(([category]) => category)
    if (flagged.length === 0) return
    throw new GuardrailError(guardrail, `Guardrail "${guardrail}" blocked the call: ${where} was flagged by moderation for ${flagged.join(', ')}. Rephrase it; the categories that block are set with the guardrail's categories option.`, { model: ctx.requestedModel })
  }

  return async function moderation(ctx, next) {
    if (onInput && ctx.type === 'chat') {
      const prompt = (ctx.request as ChatRequest).messages.filter((message) => message.role === 'user').map(textOf).join('\n')
      await refuse(prompt, 'the prompt', ctx)
    }
    await next()
    if (modes.has('post_call') && !ctx.streaming && ctx.type === 'chat' && ctx.response) {
      await refuse((ctx.response as ChatResponse).choices.map((choice) => choice.message.content ?? '').join('\n'), 'the reply', ctx)
    }
  }
}

function endpointModeration(options: { model?: string; apiKey?: string; baseUrl?: string }): Moderate {
  let settings: { url: string; apiKey?: string } | undefined
  return async function openAiModeration(text, ctx) {
    settings ??= {
      url: `${readBaseUrl('moderation', options.baseUrl, 'OPENAI_BASE_URL', 'https://api.openai.com/v1')}/moderations`,
      apiKey: readSetting(options.apiKey, 'OPENAI_API_KEY'),
    }
    const response = await fetch(settings.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}) },
      body: JSON.stringify({ model: options.model ?? 'omni-moderation-latest', input: text }),
      signal: ctx.signal,
    })
    if (!response.ok) {
      throw new GuardrailError('moderation', `The moderation endpoint ${settings.url} answered ${response.status}, so the prompt could not be checked. Check the guardrail's apiKey (OPENAI_API_KEY) and baseUrl.`, { status: 503, retryable: true })
    }
    const body = (await response.json()) as { results?: ModerationResult[] }
    const result = body.results?.[0]
    if (!result) throw new GuardrailError('moderation', `The moderation endpoint ${settings.url} answered without results; point baseUrl at an OpenAI-compatible /moderations endpoint.`, { status: 502 })
    return result
  }
}
