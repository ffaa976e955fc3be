/**
 * The `general_settings` keys of virtual keys, spend and limits, with LiteLLM's names where LiteLLM
 * has the setting: `database_url` (else `DATABASE_URL`), `user_api_key_cache_ttl`,
 * `allow_requests_on_db_unavailable`, `disable_spend_logs`, `token_rate_limit_type`. (What happens
 * while Redis is down is the store's setting, `router_settings.redis_failure_mode`.) The rate-limit window is LiteLLM's
 * `LITELLM_RATE_LIMIT_WINDOW_SIZE` (seconds, default 60). Every default is written once, here.
 */
import { z } from 'zod'
import type { TokenCount } from './spend-layer'

/**
 * The settings after defaults, as `ProxyConfig.keys` carries them.
 *
 * @example
 * ```ts
 * const { keys } = await loadConfig('config.yaml')
 * console.log(keys.databaseUrl ? 'keys in PostgreSQL' : 'keys in memory')
 * ```
 */
export interface KeySettings {
  /** `database_url`, else `DATABASE_URL`: keys, users, teams and spend rows in PostgreSQL; none: keys in memory, no spend rows. */
  databaseUrl?: string
  /** `user_api_key_cache_ttl` (seconds): how long a process keeps a key it read; default 60 s. */
  cacheTtlMs: number
  /** `allow_requests_on_db_unavailable`: a virtual key is let through unchecked while PostgreSQL is down (true), or answered 503 (false, the default). */
  allowOnDbUnavailable: boolean
  /** `disable_spend_logs`: no spend-log rows (totals and budgets still kept); default false. */
  disableSpendLogs: boolean
  /** `token_rate_limit_type`: which tokens count against `tpm_limit`; default `total`. */
  tokenCount: TokenCount
  /** `LITELLM_RATE_LIMIT_WINDOW_SIZE` seconds as ms: the rate-limit window; default 60,000. */
  windowMs: number
}

/** Every default, in one place (docs/proxy.md lists the same). */
export const keyDefaults = { cacheTtlMs: 60_000, allowOnDbUnavailable: false, disableSpendLogs: false, tokenCount: 'total', windowMs: 60_000 } as const

/** The `general_settings` keys this file reads. */
export const keySettingKeys = ['database_url', 'user_api_key_cache_ttl', 'allow_requests_on_db_unavailable', 'disable_spend_logs', 'token_rate_limit_type'] as const

/**
 * The zod shape of these keys, from the config schema's own readers (so `os.environ/NAME` works).
 *
 * @example
 * ```ts
 * z.looseObject({ master_key: text.optional(), ...keySettingsShape(number, nonEmpty) })
 * ```
 */
export function keySettingsShape(number: z.ZodType<number, unknown>, text: z.ZodType<string, unknown>) {
  const flag = z.boolean({ error: 'must be true or false' })
  return {
    database_url: text.pipe(z.string().regex(/^postgres(?:ql)?:\/\/\S+$/i, 'must be a PostgreSQL URL such as postgresql://user:password@127.0.0.1:5432/litellm')).optional(),
    user_api_key_cache_ttl: number.pipe(z.number().min(0, 'must be 0 or more (seconds)')).optional(),
    allow_requests_on_db_unavailable: flag.optional(),
    disable_spend_logs: flag.optional(),
    token_rate_limit_type: text.pipe(z.enum(['total', 'input', 'output'], { error: 'must be total, input or output' })).optional(),
  }
}

/**
 * The settings from validated `general_settings` and the environment, defaults filled in.
 *
 * @example
 * ```ts
 * readKeySettings({ user_api_key_cache_ttl: 5 }, process.env).cacheTtlMs // 5000
 * ```
 */
export function readKeySettings(
  general: {
    database_url?: string
    user_api_key_cache_ttl?: number
    allow_requests_on_db_unavailable?: boolean
    disable_spend_logs?: boolean
    token_rate_limit_type?: TokenCount
  },
  environment: Record<string, string | undefined>,
): KeySettings {
  const databaseUrl = general.database_url ?? (environment.DATABASE_URL || undefined)
  const windowSeconds = Number(environment.LITELLM_RATE_LIMIT_WINDOW_SIZE)
  return {
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
    cacheTtlMs: general.user_api_key_cache_ttl === undefined ? keyDefaults.cacheTtlMs : general.user_api_key_cache_ttl * 1000,
    allowOnDbUnavailable: general.allow_requests_on_db_unavailable ?? keyDefaults.allowOnDbUnavailable,
    disableSpendLogs: general.disable_spend_logs ?? keyDefaults.disableSpendLogs,
    tokenCount: general.token_rate_limit_type ?? keyDefaults.tokenCount,
    windowMs: Number.isFinite(windowSeconds) && windowSeconds > 0 ? Math.max(1, Math.round(windowSeconds * 1000)) : keyDefaults.windowMs,
  }
}
