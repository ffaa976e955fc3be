/**
 * pii(): masks (or blocks) personal data in prompts and replies — e-mail addresses, phone numbers,
 * payment card numbers (Luhn-checked), IBANs (mod-97-checked) and IP addresses — streams included.
 */
import { z } from 'zod'
import { piiDetectors, type Detector } from '../src/guardrails/detectors'
import { modesOf, textGuardrail, textGuardrailShape, type GuardrailMode } from '../src/guardrails/text-guardrail'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'

const entities = ['email', 'phone', 'card_number', 'iban', 'ip_address'] as const

export interface PiiOptions {
  /** The guardrail's name in errors and the proxy's replies. Default `pii`. */
  name?: string
  /** `pre_call` / `during_call`: the prompt; `post_call`: the reply, streamed or not. Default `['pre_call', 'post_call']`. */
  mode?: GuardrailMode | GuardrailMode[]
  /** `mask` replaces each finding with `[EMAIL]`, `[CARD_NUMBER]`, ...; `block` refuses the call with a `GuardrailError`. Default `mask`. */
  action?: 'mask' | 'block'
  /** The kinds of data to look for. Default all: `email`, `phone`, `card_number`, `iban`, `ip_address`. */
  entities?: Array<(typeof entities)[number]>
  /** Characters of a streamed reply held back so a finding split across chunks is caught. Default 48. */
  lookahead?: number
}

const piiOptionsSchema = lazySchema(() =>
  z.object({ ...textGuardrailShape, entities: z.array(z.enum(entities, { error: `must be one of ${entities.join(', ')}` })).optional() }).strict(),
)

/**
 * A guardrail layer for personal data. Place it outside the logging layers' view of the request
 * you want masked: a layer outside it sees the prompt as the caller sent it.
 *
 * @example
 * ```ts
 * const client = createClient({ providers: { mock: mock() }, middleware: [pii()] })
 * await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'I am ada@example.com' }] })
 * // the provider receives 'I am [EMAIL]'
 * ```
 */
export function pii(options: PiiOptions = {}): Middleware {
  const parsed = validate(piiOptionsSchema, options, 'pii() options')
  const wanted = new Set(parsed.entities ?? entities)
  const detectors: Detector[] = piiDetectors().filter((detector) => wanted.has(detector.name as (typeof entities)[number]))
  return textGuardrail({
    layerName: 'pii',
    guardrail: parsed.name ?? 'pii',
    detectors,
    action: parsed.action ?? 'mask',
    modes: modesOf(parsed.mode, ['pre_call', 'post_call']),
    lookahead: parsed.lookahead,
  })
}
