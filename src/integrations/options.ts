/**
 * What every built-in integration shares: the common options (`moments`, `redact`, `baseUrl`,
 * `env`) and how settings are read, options first, then the environment variables LiteLLM users
 * already have. A missing credential fails at construction with a message naming the variable.
 */
import { z } from 'zod'
import { ValidationError } from '../errors'
import type { IntegrationMoment } from './exporter'
import type { RedactOptions } from '../redact'
import { isSecretSettingName, registerSecret } from '../secret-scrubber'
import { lazySchema } from '../lazy-schema'

/** Where settings are read from when an option does not give them. */
export type Environment = Record<string, string | undefined>

/** Options every built-in integration takes besides its own; each has a default. */
export interface IntegrationOptions {
  /** Which moments send (default: the integration's own, usually `['success', 'failure']`); `callbacks()` narrows them. */
  moments?: IntegrationMoment[]
  /** `{ messages: true }` replaces prompt and completion content with `"[redacted]"` for this integration (default: the client's setting). */
  redact?: RedactOptions
  /** The service's base URL, for a self-hosted service or a local fake (default: the integration's variable, then the public service). */
  baseUrl?: string
  /** Variables to read instead of `process.env` (default `process.env`). */
  env?: Environment
}

/** The zod fields of {@link IntegrationOptions}; integrations `.extend()` it with their own. */
export const integrationOptionsSchema = lazySchema(() =>
  z
    .object({
      moments: z.array(z.enum(['input', 'success', 'failure'])).optional(),
      redact: z.object({ messages: z.boolean().optional() }).strict().optional(),
      baseUrl: z.url().optional(),
      env: z.record(z.string(), z.string().optional()).optional(),
    })
    .strict(),
)

/**
 * An option, else the environment variable; an empty value counts as unset.
 *
 * @example
 * ```ts
 * const host = readSetting(options.host, 'LANGFUSE_HOST', options.env) ?? 'https://cloud.langfuse.com'
 * ```
 */
export function readSetting(value: string | undefined, variable: string, env: Environment = process.env): string | undefined {
  const found = value !== undefined && value !== '' ? value : env[variable]?.trim() || undefined
  // An integration's credential is known to every client's scrubber from now on (src/secret-scrubber.ts).
  if (found !== undefined && isSecretSettingName(variable)) registerSecret(found)
  return found
}

/**
 * Like {@link readSetting}, but throws a {@link ValidationError} naming the variable and the option
 * when neither gives a value.
 *
 * @example
 * ```ts
 * const apiKey = requireSetting({ integration: 'helicone', option: 'apiKey', variable: 'HELICONE_API_KEY' }, options.apiKey, options.env)
 * ```
 */
export function requireSetting(
  where: { integration: string; option: string; variable: string },
  value: string | undefined,
  env: Environment = process.env,
): string {
  const found = readSetting(value, where.variable, env)
  if (found !== undefined) return found
  throw new ValidationError(
    `${where.integration}() needs ${where.variable}: set ${where.variable} in the environment or pass { ${where.option}: '...' } to ${where.integration}().`,
    [{ path: where.option, message: `missing; set ${where.variable}` }],
  )
}

/**
 * The service's base URL: the `baseUrl` option, else `variable`, else `fallback`; without a trailing
 * slash, so paths can be appended. A value that is not a URL fails naming where it came from.
 *
 * @example
 * ```ts
 * const base = readBaseUrl('helicone', options.baseUrl, 'HELICONE_API_BASE', 'https://api.worker.helicone.ai', options.env)
 * const url = `${base}/custom/v1/log`
 * ```
 */
export function readBaseUrl(
  integration: string,
  value: string | undefined,
  variable: string,
  fallback: string,
  env: Environment = process.env,
): string {
  const found = readSetting(value, variable, env) ?? fallback
  if (!URL.canParse(found)) {
    const source = value ? 'the baseUrl option' : variable
    throw new ValidationError(`${integration}(): ${source} is not a URL (${JSON.stringify(found)}); give a full URL such as ${fallback}.`, [
      { path: 'baseUrl', message: 'not a URL' },
    ])
  }
  return found.replace(/\/+$/, '')
}

/**
 * A batch size read from `variable` (a whole number from 1 to `largest`), or `undefined` when the
 * variable is unset; anything else fails naming the variable and the `maxBatchSize` option.
 *
 * @example
 * ```ts
 * const maxBatchSize = options.maxBatchSize ?? readBatchSize({ integration: 'argilla', variable: 'ARGILLA_BATCH_SIZE', largest: 500 }, env) ?? 100
 * ```
 */
export function readBatchSize(where: { integration: string; variable: string; largest: number }, env: Environment = process.env): number | undefined {
  const text = readSetting(undefined, where.variable, env)
  if (text === undefined) return undefined
  const size = Number(text)
  if (Number.isInteger(size) && size >= 1 && size <= where.largest) return size
  throw new ValidationError(`${where.integration}(): ${where.variable} is ${JSON.stringify(text)}; set it to a whole number from 1 to ${where.largest}.`, [
    { path: 'maxBatchSize', message: `${where.variable} must be from 1 to ${where.largest}` },
  ])
}
