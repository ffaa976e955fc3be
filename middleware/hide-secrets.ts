/**
 * hideSecrets(): masks (or blocks) credentials in prompts and replies — API keys of the common
 * providers by their shape, AWS access key ids, GitHub / Slack / Stripe / Google tokens, JSON Web
 * Tokens, `Bearer` tokens and PEM private keys — streams included. Credentials the client knows by
 * value (its providers' keys, the environment's) never leave in events anyway (src/secret-scrubber.ts);
 * this layer keeps secrets a user pasted into a prompt from reaching the provider at all.
 */
import { z } from 'zod'
import { secretDetectors } from '../src/guardrails/detectors'
import { modesOf, textGuardrail, textGuardrailShape, type GuardrailMode } from '../src/guardrails/text-guardrail'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'

export interface HideSecretsOptions {
  /** The guardrail's name in errors and the proxy's replies. Default `hide-secrets`. */
  name?: string
  /** `pre_call` / `during_call`: the prompt; `post_call`: the reply, streamed or not. Default `['pre_call', 'post_call']`. */
  mode?: GuardrailMode | GuardrailMode[]
  /** `mask` replaces each secret with `[SECRET]`; `block` refuses the call with a `GuardrailError`. Default `mask`. */
  action?: 'mask' | 'block'
  /** Characters of a streamed reply held back so a secret split across chunks is caught. Default 48. */
  lookahead?: number
}

const hideSecretsOptionsSchema = lazySchema(() =>
  z.object(textGuardrailShape).strict(),
)

/**
 * A guardrail layer for credentials pasted into prompts (LiteLLM's `hide-secrets`).
 *
 * @example
 * ```ts
 * const client = createClient({ providers: { mock: mock() }, middleware: [hideSecrets()] })
 * await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'use sk-proj-abcdefghijklmnopqrstuvwx' }] })
 * // the provider receives 'use [SECRET]'
 * ```
 */
export function hideSecrets(options: HideSecretsOptions = {}): Middleware {
  const parsed = validate(hideSecretsOptionsSchema, options, 'hideSecrets() options')
  return textGuardrail({
    layerName: 'hideSecrets',
    guardrail: parsed.name ?? 'hide-secrets',
    detectors: secretDetectors(),
    action: parsed.action ?? 'mask',
    modes: modesOf(parsed.mode, ['pre_call', 'post_call']),
    lookahead: parsed.lookahead,
  })
}
