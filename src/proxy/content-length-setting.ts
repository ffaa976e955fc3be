/**
 * How long a content string the proxy's events keep (`redact.maxLength`, src/content-cut.ts): LiteLLM's
 * `MAX_STRING_LENGTH_PROMPT_IN_DB` when it is set, which there caps the strings of the spend logs and
 * here every event's content, so what a LiteLLM user raised it to for long transcripts keeps them
 * whole; else the library's default (100,000 characters).
 */
import { maxContentLengthRule } from '../content-cut'
import { ConfigError } from './config-error'

/**
 * `MAX_STRING_LENGTH_PROMPT_IN_DB` of `env` as a length, or undefined when it is not set; throws a
 * {@link ConfigError} naming it when it is no whole number above 0.
 *
 * @example
 * ```ts
 * maxLengthFromEnvironment({ MAX_STRING_LENGTH_PROMPT_IN_DB: '500000' }) // 500000
 * ```
 */
export function maxLengthFromEnvironment(env: Record<string, string | undefined>): number | undefined {
  const text = env.MAX_STRING_LENGTH_PROMPT_IN_DB?.trim()
  if (!text) return undefined
  const length = Number(text)
  if (Number.isInteger(length) && length > 0) return length
  const message = `is ${JSON.stringify(text)}; set it to ${maxContentLengthRule}, the longest content string an event keeps`
  throw new ConfigError(`MAX_STRING_LENGTH_PROMPT_IN_DB ${message}`, [{ path: 'MAX_STRING_LENGTH_PROMPT_IN_DB', message }])
}
