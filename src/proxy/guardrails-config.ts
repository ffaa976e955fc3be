/**
 * The config's `guardrails:` section, as LiteLLM writes it, turned into guardrail layers:
 *
 * ```yaml
 * guardrails:
 *   - guardrail_name: no-pii
 *     litellm_params: { guardrail: presidio, mode: [pre_call, post_call], pii_entities_config: { EMAIL_ADDRESS: MASK, CREDIT_CARD: BLOCK } }
 * ```
 *
 * LiteLLM's guardrail types map to ours (docs/proxy.md, "Guardrails"); a type we do not run fails
 * at start naming the entry, rather than serving calls with less protection than the file asks for.
 */
import { z } from 'zod'
import { bannedKeywords } from '../../middleware/banned-keywords'
import { hideSecrets } from '../../middleware/hide-secrets'
import { maxCost } from '../../middleware/max-cost'
import { moderation } from '../../middleware/moderation'
import { pii } from '../../middleware/pii'
import { promptInjection } from '../../middleware/prompt-injection'
import type { Context } from '../context'
import type { Middleware } from '../types'
import { ConfigError } from './config'

/** LiteLLM's guardrail type names (and ours), by the layer that runs them. */
export const guardrailTypes = {
  hideSecrets: ['hide-secrets', 'hide_secrets', 'secret_detection'],
  pii: ['presidio', 'pii', 'pii_masking'],
  bannedKeywords: ['banned_keywords', 'banned-keywords'],
  promptInjection: ['detect_prompt_injection', 'prompt_injection', 'prompt-injection'],
  moderation: ['openai_moderation', 'openai_moderations', 'moderation'],
  maxCost: ['max_cost', 'max-cost'],
} as const

type Kind = keyof typeof guardrailTypes
const kindByType = new Map<string, Kind>(Object.entries(guardrailTypes).flatMap(([kind, types]) => types.map((type) => [type, kind as Kind])))
const knownTypes = [...kindByType.keys()].join(', ')

/** Presidio's entity names, for `pii_entities_config`, mapped to `pii()`'s. */
const presidioEntities: Record<string, 'email' | 'phone' | 'card_number' | 'iban' | 'ip_address'> = {
  EMAIL_ADDRESS: 'email',
  PHONE_NUMBER: 'phone',
  CREDIT_CARD: 'card_number',
  IBAN_CODE: 'iban',
  IP_ADDRESS: 'ip_address',
}

const mode = z.enum(['pre_call', 'during_call', 'post_call'], { error: 'must be pre_call, during_call or post_call' })
const entrySchema = z.looseObject({
  guardrail_name: z.string({ error: 'is required: name the guardrail, for example guardrail_name: no-pii' }).min(1),
  litellm_params: z.looseObject({
    guardrail: z.string({ error: `is required: one of ${knownTypes}` }).refine((type) => kindByType.has(type), { error: `is not a guardrail llm-onion runs; use one of ${knownTypes}` }),
    mode: z.preprocess((value) => (typeof value === 'string' ? [value] : value), z.array(mode, { error: 'must be pre_call, during_call or post_call, or a list of them' }).min(1, 'list at least one mode')).optional(),
    default_on: z.boolean().optional(),
    action: z.enum(['mask', 'block'], { error: 'must be mask or block' }).optional(),
  }),
})

/**
 * One layer per `guardrails:` entry, in the file's order. An entry with `default_on: false` runs
 * only for requests that name it (`"guardrails": ["no-pii"]` in the body or in `metadata`).
 *
 * @example
 * ```ts
 * const layers = guardrailLayers(config.guardrails)
 * ```
 */
export function guardrailLayers(entries: ReadonlyArray<unknown>): Middleware[] {
  return entries.map((entry, index) => {
    const where = `guardrails[${index}]`
    const result = entrySchema.safeParse(entry)
    if (!result.success) {
      const issue = result.error.issues[0]!
      const path = where + issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('')
      throw new ConfigError(`${path} ${issue.message}.`, [{ path, message: issue.message }])
    }
    const name = result.data.guardrail_name
    const params = result.data.litellm_params as Record<string, unknown> & z.infer<typeof entrySchema>['litellm_params']
    let layer: Middleware
    try {
      layer = build(kindByType.get(params.guardrail)!, name, params)
    } catch (error) {
      const message = (error as Error).message
      throw new ConfigError(`${where}.litellm_params (${name}): ${message}`, [{ path: `${where}.litellm_params`, message }])
    }
    return params.default_on === false ? onlyWhenNamed(name, layer) : layer
  })
}

function build(kind: Kind, name: string, params: Record<string, unknown> & { mode?: unknown; action?: 'mask' | 'block' }): Middleware {
  const common = { name, ...(params.mode === undefined ? {} : { mode: params.mode as 'pre_call' }) }
  switch (kind) {
    case 'hideSecrets':
      return hideSecrets({ ...common, action: params.action })
    case 'pii':
      return presidioLayers(common, params)
    case 'bannedKeywords':
      return bannedKeywords({ ...common, action: params.action, keywords: (params.banned_keywords_list ?? params.keywords) as string[] })
    case 'promptInjection':
      return promptInjection({ ...common, ...(params.phrases === undefined ? {} : { phrases: params.phrases as string[] }) })
    case 'moderation':
      return moderation({
        ...common,
        ...(typeof params.api_key === 'string' ? { apiKey: params.api_key } : {}),
        ...(typeof params.api_base === 'string' ? { baseUrl: params.api_base } : {}),
        ...(typeof params.model === 'string' ? { model: params.model } : {}),
        ...(Array.isArray(params.categories) ? { categories: params.categories as string[] } : {}),
      })
    case 'maxCost':
      return maxCost({ name, maxCostUsd: Number(params.max_cost_usd ?? params.max_budget) })
  }
}

/** Presidio's `pii_entities_config` (`EMAIL_ADDRESS: MASK`, `CREDIT_CARD: BLOCK`) as one or two `pii()` layers. */
function presidioLayers(common: { name: string; mode?: 'pre_call' }, params: Record<string, unknown> & { action?: 'mask' | 'block' }): Middleware {
  const config = params.pii_entities_config as Record<string, string> | undefined
  if (config === undefined) return pii({ ...common, action: params.action })
  const byAction: Record<'mask' | 'block', Array<(typeof presidioEntities)[string]>> = { mask: [], block: [] }
  for (const [entity, action] of Object.entries(config)) {
    const ours = presidioEntities[entity]
    if (!ours) throw new Error(`pii_entities_config.${entity} is not detected here; use ${Object.keys(presidioEntities).join(', ')}`)
    byAction[String(action).toLowerCase() === 'block' ? 'block' : 'mask'].push(ours)
  }
  const layers = (['block', 'mask'] as const).filter((action) => byAction[action].length > 0).map((action) => pii({ ...common, action, entities: byAction[action] }))
  return async function presidio(ctx, next) {
    const run = (index: number): Promise<void> => (index === layers.length ? next() : Promise.resolve(layers[index]!(ctx, () => run(index + 1))))
    await run(0)
  }
}

/** A `default_on: false` guardrail: it runs for requests that ask for it by name, as LiteLLM's do. */
function onlyWhenNamed(name: string, layer: Middleware): Middleware {
  const asked = (ctx: Context) => {
    const lists = [(ctx.request as { guardrails?: unknown }).guardrails, ctx.metadata.guardrails]
    return lists.some((list) => Array.isArray(list) && list.includes(name))
  }
  return async function guardrailOnRequest(ctx, next) {
    await (asked(ctx) ? layer(ctx, next) : next())
  }
}
