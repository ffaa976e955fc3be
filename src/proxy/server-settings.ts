/**
 * The proxy's own HTTP settings in `general_settings`: which browser origins and `Host` names it
 * serves, how long a slow client may hold a connection, how many connections it takes, how long a
 * callback module may take to load, and how many model names `/metrics` keeps. Kept apart from the
 * LiteLLM keys so each default is written once, here.
 */
import { z } from 'zod'

/**
 * The settings after defaults, as `ProxyConfig.server` carries them.
 *
 * @example
 * ```ts
 * const { server } = await loadConfig('config.yaml')
 * console.log(server.maxConnections) // 4096 unless general_settings.max_connections says otherwise
 * ```
 */
export interface ServerSettings {
  /** `allowed_origins`: browser origins allowed besides local ones (`*` for any); default none, or any with a master key. */
  allowedOrigins: string[]
  /** `allowed_hosts`: `Host` names served besides local ones when there is no master key (`*` for any); default none. */
  allowedHosts: string[]
  /** `request_body_timeout_ms`: the whole request (headers and body) must arrive within this, else 408; default 30,000. */
  requestBodyTimeoutMs: number
  /** `stream_write_timeout_ms`: a streamed reply whose client reads nothing for this long is cut; default 60,000. */
  streamWriteTimeoutMs: number
  /** `max_connections`: client connections held at once; more are closed as they arrive; default 4,096. */
  maxConnections: number
  /** `callback_load_timeout_ms`: how long a callback module may take to load; default 30,000. */
  callbackLoadTimeoutMs: number
  /** `metrics_max_models`: distinct model names `/metrics` keeps before counting under `model="other"`; default 500. */
  metricsMaxModels: number
  /** `spool_dir`: the delivery queue's durable spool directory (`--spool`); default none (in memory only). */
  spoolDir?: string
}

/** Every default, in one place (docs/proxy.md lists the same). */
export const serverDefaults = {
  requestBodyTimeoutMs: 30_000,
  streamWriteTimeoutMs: 60_000,
  maxConnections: 4_096,
  callbackLoadTimeoutMs: 30_000,
  metricsMaxModels: 500,
} as const

/** The `general_settings` keys this file reads. */
export const serverSettingKeys = [
  'allowed_origins',
  'allowed_hosts',
  'request_body_timeout_ms',
  'stream_write_timeout_ms',
  'max_connections',
  'callback_load_timeout_ms',
  'metrics_max_models',
  'spool_dir',
] as const

/** One `allowed_origins` entry. */
export const originSchema = z
  .string()
  .regex(/^(\*|[a-z][a-z0-9+.-]*:\/\/[^/\s?#]+)$/i, 'must be an origin such as https://app.example.com or http://localhost:3000 (scheme, host and port, no path), or * for any')
/** One `allowed_hosts` entry. */
export const hostSchema = z.string().regex(/^(\*|[^\s/:]+|\[[0-9a-f:.]+\])$/i, 'must be a host name or address without scheme or port, such as proxy.example.com, or * for any')

/**
 * The zod shape of these keys, built from the config schema's own list and number readers so that
 * `os.environ/NAME` values and single names given for a list work as for every other key.
 *
 * @example
 * ```ts
 * z.looseObject({ master_key: text.optional(), ...serverSettingsShape(number, listOf) })
 * ```
 */
export function serverSettingsShape(number: z.ZodType<number, unknown>, listOf: <Item extends z.ZodType>(item: Item) => z.ZodType<Array<z.output<Item>>, unknown>) {
  const milliseconds = number.pipe(z.number().int('must be a whole number of milliseconds').positive('must be above 0'))
  return {
    allowed_origins: listOf(originSchema).optional(),
    allowed_hosts: listOf(hostSchema).optional(),
    request_body_timeout_ms: milliseconds.optional(),
    stream_write_timeout_ms: milliseconds.optional(),
    max_connections: number.pipe(z.number().int().positive('must be above 0')).optional(),
    callback_load_timeout_ms: milliseconds.optional(),
    metrics_max_models: number.pipe(z.number().int().positive('must be above 0')).optional(),
    spool_dir: z.string().min(1, 'must be the path of a directory for the spool files, e.g. ./.llm-onion-spool').optional(),
  }
}

/**
 * The settings from validated `general_settings`, defaults filled in.
 *
 * @example
 * ```ts
 * readServerSettings({ max_connections: 100 }).maxConnections // 100
 * ```
 */
export function readServerSettings(general: {
  allowed_origins?: string[]
  allowed_hosts?: string[]
  request_body_timeout_ms?: number
  stream_write_timeout_ms?: number
  max_connections?: number
  callback_load_timeout_ms?: number
  metrics_max_models?: number
  spool_dir?: string
}): ServerSettings {
  return {
    allowedOrigins: general.allowed_origins ?? [],
    allowedHosts: (general.allowed_hosts ?? []).map((name) => name.toLowerCase()),
    requestBodyTimeoutMs: general.request_body_timeout_ms ?? serverDefaults.requestBodyTimeoutMs,
    streamWriteTimeoutMs: general.stream_write_timeout_ms ?? serverDefaults.streamWriteTimeoutMs,
    maxConnections: general.max_connections ?? serverDefaults.maxConnections,
    callbackLoadTimeoutMs: general.callback_load_timeout_ms ?? serverDefaults.callbackLoadTimeoutMs,
    metricsMaxModels: general.metrics_max_models ?? serverDefaults.metricsMaxModels,
    ...(general.spool_dir === undefined ? {} : { spoolDir: general.spool_dir }),
  }
}
