/**
 * The machinery every detector-based guardrail layer shares (`pii()`, `hideSecrets()`,
 * `bannedKeywords()`): the options they all take, and one layer that masks or blocks findings in the
 * prompt before the call (`pre_call`, `during_call`) and in the reply after it (`post_call`) — in a
 * streamed reply through the stream window, so no split finding reaches the caller.
 */
import { z } from 'zod'
import type { Context } from '../context'
import { GuardrailError } from '../errors'
import type { ChatRequest, ChatResponse, EmbeddingRequest, Message } from '../schema'
import type { Middleware } from '../types'
import { findFindings, maskText, type Detector, type Finding } from './detectors'
import { createStreamWindow, defaultLookahead, windowedChunks } from './stream-window'
import { lazySchema } from '../lazy-schema'

/** When a guardrail runs, in LiteLLM's words: on the prompt (`pre_call`, `during_call`) or on the reply (`post_call`). */
export type GuardrailMode = 'pre_call' | 'during_call' | 'post_call'

const modeSchema = lazySchema(() =>
  z.enum(['pre_call', 'during_call', 'post_call'], { error: 'must be pre_call, during_call or post_call' }),
)

/** The options every guardrail takes. */
export const guardrailBaseShape = {
  name: lazySchema(() => z.string().min(1, 'must not be empty').optional()),
  mode: lazySchema(() => z.union([modeSchema, z.array(modeSchema).min(1, 'list at least one mode')], { error: 'must be pre_call, during_call or post_call, or a list of them' }).optional()),
}

/** The options of detector-based guardrails. */
export const textGuardrailShape = {
  ...guardrailBaseShape,
  action: lazySchema(() => z.enum(['mask', 'block'], { error: 'must be mask (replace what is found) or block (refuse the call)' }).optional()),
  lookahead: lazySchema(() => z.number().int('must be a whole number of characters').min(1, 'must be at least 1').max(4096, 'must be at most 4096 characters').optional()),
}

/** Modes as a list, with a default. */
export function modesOf(mode: GuardrailMode | GuardrailMode[] | undefined, fallback: GuardrailMode[]): Set<GuardrailMode> {
  return new Set(mode === undefined ? fallback : Array.isArray(mode) ? mode : [mode])
}

/** What a detector-based guardrail layer is built from. */
export interface TextGuardrailSpec {
  layerName: string
  guardrail: string
  detectors: Detector[]
  action: 'mask' | 'block'
  modes: Set<GuardrailMode>
  lookahead?: number
  /** The prompt's roles to check; default every role. */
  roles?: ReadonlySet<string>
}

/**
 * A guardrail layer from detectors: masks or blocks findings in the prompt and in the reply.
 *
 * @example
 * ```ts
 * client.use(textGuardrail({ layerName: 'pii', guardrail: 'pii', detectors: piiDetectors(), action: 'mask', modes: new Set(['pre_call']) }))
 * ```
 */
export function textGuardrail(spec: TextGuardrailSpec): Middleware {
  const { guardrail, detectors, action } = spec
  const onInput = spec.modes.has('pre_call') || spec.modes.has('during_call')
  const onOutput = spec.modes.has('post_call')
  const block = (finding: Finding, where: string, ctx: Context): never => {
    throw new GuardrailError(
      guardrail,
      `Guardrail "${guardrail}" blocked the call: ${where} contains ${article(finding.detector.name)} ${finding.detector.name.replaceAll('_', ' ')}. Remove it from the text, or configure the guardrail with action: mask to mask it instead.`,
      { model: ctx.requestedModel },
    )
  }
  const check = (text: string, where: string, ctx: Context): string => {
    if (action === 'mask') return maskText(text, detectors)
    const [finding] = findFindings(text, detectors)
    return finding ? block(finding, where, ctx) : text
  }
  const layer = async (ctx: Context, next: () => Promise<void>) => {
    if (onInput) ctx.request = ctx.type === 'chat' ? checkChat(ctx.request as ChatRequest, check, ctx, spec.roles) : checkEmbedding(ctx.request as EmbeddingRequest, check, ctx)
    if (onOutput && ctx.streaming) {
      const onFinding = action === 'block' ? (finding: Finding) => block(finding, 'the reply', ctx) : undefined
      ctx.onChunk(windowedChunks(() => createStreamWindow(detectors, { lookahead: spec.lookahead ?? defaultLookahead, onFinding })))
    }
    await next()
    if (onOutput && !ctx.streaming && ctx.type === 'chat' && ctx.response) ctx.response = checkReply(ctx.response as ChatResponse, check, ctx)
  }
  Object.defineProperty(layer, 'name', { value: spec.layerName })
  return layer
}

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a'
}

type Check = (text: string, where: string, ctx: Context) => string

function checkChat(request: ChatRequest, check: Check, ctx: Context, roles: ReadonlySet<string> | undefined): ChatRequest {
  let changed = false
  const messages = request.messages.map((message, index) => {
    if (roles && !roles.has(message.role)) return message
    const checked = checkMessage(message, `messages[${index}]`, check, ctx)
    if (checked !== message) changed = true
    return checked
  })
  return changed ? { ...request, messages } : request
}

function checkMessage(message: Message, where: string, check: Check, ctx: Context): Message {
  const content = (message as { content?: unknown }).content
  if (typeof content === 'string') {
    const checked = check(content, where, ctx)
    return checked === content ? message : ({ ...message, content: checked } as Message)
  }
  if (!Array.isArray(content)) return message
  let changed = false
  const parts = content.map((part: { type?: string; text?: unknown }, index) => {
    if (part?.type !== 'text' || typeof part.text !== 'string') return part
    const checked = check(part.text, `${where}.content[${index}]`, ctx)
    if (checked === part.text) return part
    changed = true
    return { ...part, text: checked }
  })
  return changed ? ({ ...message, content: parts } as Message) : message
}

function checkEmbedding(request: EmbeddingRequest, check: Check, ctx: Context): EmbeddingRequest {
  const input = request.input
  if (typeof input === 'string') {
    const checked = check(input, 'input', ctx)
    return checked === input ? request : { ...request, input: checked }
  }
  if (!Array.isArray(input) || !input.every((item) => typeof item === 'string')) return request
  const checked = (input as string[]).map((item, index) => check(item, `input[${index}]`, ctx))
  return checked.some((item, index) => item !== input[index]) ? { ...request, input: checked } : request
}

function checkReply(response: ChatResponse, check: Check, ctx: Context): ChatResponse {
  let changed = false
  const choices = response.choices.map((choice) => {
    const content = choice.message.content
    if (typeof content !== 'string') return choice
    const checked = check(content, 'the reply', ctx)
    if (checked === content) return choice
    changed = true
    return { ...choice, message: { ...choice.message, content: checked } }
  })
  return changed ? { ...response, choices } : response
}
