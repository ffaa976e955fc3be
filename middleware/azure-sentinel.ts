/**
 * Microsoft Sentinel (its Log Analytics workspace): batches of call events as JSON arrays, the way
 * LiteLLM's `azure_sentinel` callback sends its standard logging payloads
 * (litellm/integrations/azure_sentinel/azure_sentinel.py). Two transports, chosen by the settings:
 * - the Azure Monitor Logs Ingestion API (LiteLLM's today): `POST {endpoint}/dataCollectionRules/{dcr}
 *   /streams/{stream}?api-version=2023-01-01` with an Entra bearer token (client credentials);
 * - the HTTP Data Collector API (LiteLLM's before, retired by Microsoft in September 2026):
 *   `POST https://{workspace}.ods.opinsights.azure.com/api/logs?api-version=2016-04-01` signed with
 *   the workspace's shared key (HMAC-SHA256).
 */
import { z } from 'zod'
import { ValidationError } from '../src/errors'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, readSetting, type Environment } from '../src/integrations/options'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'
import { azureMonitorScope, entraAuthorization, sharedKeyHeaders } from './azure-sentinel-auth'
import { isoTime } from '../src/iso-time'

const azureSentinelOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      dcrImmutableId: z.string().min(1).optional(),
      streamName: z.string().min(1).optional(),
      endpoint: z.url().optional(),
      tenantId: z.string().min(1).optional(),
      clientId: z.string().min(1).optional(),
      clientSecret: z.string().min(1).optional(),
      authorityHost: z.url().optional(),
      scope: z.string().min(1).optional(),
      workspaceId: z.string().min(1).optional(),
      sharedKey: z.base64('must be the workspace key as Azure shows it (base64)').optional(),
      logType: z.string().regex(/^[A-Za-z0-9_]{1,100}$/, 'letters, digits and underscores, at most 100').optional(),
      gzip: z.boolean().optional(),
      maxBatchSize: z.number().int().min(1).max(1000).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link azureSentinel}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * Logs Ingestion API (used when a DCR id is set):
 * - `dcrImmutableId`: default `AZURE_SENTINEL_DCR_IMMUTABLE_ID`; `streamName`: default
 *   `AZURE_SENTINEL_STREAM_NAME`, else `Custom-LiteLLM`.
 * - `endpoint` (or `baseUrl`): the data collection endpoint, default `AZURE_SENTINEL_ENDPOINT` (required).
 * - `tenantId`, `clientId`, `clientSecret`: default `AZURE_SENTINEL_TENANT_ID` / `_CLIENT_ID` /
 *   `_CLIENT_SECRET`, else `AZURE_TENANT_ID` / `AZURE_CLIENT_ID` / `AZURE_CLIENT_SECRET` (required).
 * - `authorityHost`: where tokens come from, default `AZURE_AUTHORITY_HOST`, else `https://login.microsoftonline.com`.
 * - `scope`: default `https://monitor.azure.com//.default`; `gzip`: default true; `maxBatchSize`: default 25
 *   (the API takes at most 1 MB per request).
 * HTTP Data Collector API (used when a workspace id is set and no DCR id):
 * - `workspaceId`: default `AZURE_SENTINEL_WORKSPACE_ID`; `sharedKey`: default `AZURE_SENTINEL_SHARED_KEY`.
 * - `logType`: the custom log's name (table `<logType>_CL`), default `AZURE_SENTINEL_LOG_TYPE`, else `LiteLLM`.
 * - `endpoint` (or `baseUrl`): default `AZURE_SENTINEL_ENDPOINT`, else `https://<workspace id>.ods.opinsights.azure.com`.
 * - `maxBatchSize`: default 100.
 * Both: `moments` default `['success', 'failure']`; `timeoutMs` default 10,000.
 */
export type AzureSentinelOptions = z.input<typeof azureSentinelOptionsSchema>

type Settings = z.output<typeof azureSentinelOptionsSchema>

/** One record: the standard event (docs/event.md) with `TimeGenerated`, the time column Log Analytics tables have. */
export type AzureSentinelRecord = CallEvent & { TimeGenerated: string }

/**
 * azureSentinel() in the catalogue: LiteLLM's `azure_sentinel` callback name.
 *
 * @example
 * ```ts
 * azureSentinelIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['azure_sentinel'] }) builds
 * ```
 */
export const azureSentinelIntegration = defineIntegration({
  name: 'azureSentinel',
  aliases: ['azure_sentinel'],
  switchedOnBy: [
    ['AZURE_SENTINEL_DCR_IMMUTABLE_ID', 'AZURE_SENTINEL_ENDPOINT', 'AZURE_SENTINEL_TENANT_ID', 'AZURE_SENTINEL_CLIENT_ID', 'AZURE_SENTINEL_CLIENT_SECRET'],
    ['AZURE_SENTINEL_WORKSPACE_ID', 'AZURE_SENTINEL_SHARED_KEY'],
  ],
  position: 'exporters',
  takesEnv: true,
  factory: azureSentinel,
})

/**
 * Sends every call's standard event to the Log Analytics workspace behind Microsoft Sentinel, in
 * batches: through a data collection rule with an Entra app's credentials when
 * `AZURE_SENTINEL_DCR_IMMUTABLE_ID` is set, else through the Data Collector API with the
 * workspace's shared key.
 *
 * @example
 * ```ts
 * // AZURE_SENTINEL_DCR_IMMUTABLE_ID, AZURE_SENTINEL_ENDPOINT, AZURE_SENTINEL_TENANT_ID,
 * // AZURE_SENTINEL_CLIENT_ID and AZURE_SENTINEL_CLIENT_SECRET in the environment
 * client.use(azureSentinel())
 * // or the Data Collector API: AZURE_SENTINEL_WORKSPACE_ID and AZURE_SENTINEL_SHARED_KEY
 * client.use(azureSentinel({ logType: 'LlmCalls' }))
 * ```
 */
export function azureSentinel(options: AzureSentinelOptions = {}): Middleware {
  const settings = validate(azureSentinelOptionsSchema, options, 'azureSentinel() options')
  const env = settings.env ?? process.env
  const timeoutMs = settings.timeoutMs ?? 10_000
  const dcrImmutableId = readSetting(settings.dcrImmutableId, 'AZURE_SENTINEL_DCR_IMMUTABLE_ID', env)
  const workspaceId = readSetting(settings.workspaceId, 'AZURE_SENTINEL_WORKSPACE_ID', env)
  if (dcrImmutableId === undefined && workspaceId === undefined) {
    throw new ValidationError(
      'azureSentinel() needs AZURE_SENTINEL_DCR_IMMUTABLE_ID (the Logs Ingestion API, with AZURE_SENTINEL_ENDPOINT and an app\'s ' +
        'AZURE_SENTINEL_TENANT_ID, AZURE_SENTINEL_CLIENT_ID and AZURE_SENTINEL_CLIENT_SECRET) or AZURE_SENTINEL_WORKSPACE_ID with ' +
        'AZURE_SENTINEL_SHARED_KEY (the Data Collector API); set them in the environment or pass { dcrImmutableId, ... } or { workspaceId, sharedKey }.',
      [{ path: 'dcrImmutableId', message: 'missing; set AZURE_SENTINEL_DCR_IMMUTABLE_ID or AZURE_SENTINEL_WORKSPACE_ID' }],
    )
  }
  const sink = dcrImmutableId !== undefined ? logsIngestionSink(settings, env, dcrImmutableId, timeoutMs) : dataCollectorSink(settings, env, workspaceId!, timeoutMs)
  return defineExporter<AzureSentinelRecord>({
    name: 'azureSentinel',
    moments: settings.moments,
    redact: settings.redact,
    sink,
    toItems: toAzureSentinelRecord,
  })
}

/**
 * The standard event with `TimeGenerated` (the end of the call, ISO 8601): the column every Log
 * Analytics table has, which a data collection rule maps and the Data Collector API is told to use.
 *
 * @example
 * ```ts
 * toAzureSentinelRecord(event).TimeGenerated // '2026-12-04T19:23:01.123Z'
 * ```
 */
export function toAzureSentinelRecord(event: CallEvent): AzureSentinelRecord {
  return { TimeGenerated: isoTime(event.endTime), ...event }
}

function logsIngestionSink(settings: Settings, env: Environment, dcrImmutableId: string, timeoutMs: number) {
  const endpoint = required(settings.endpoint ?? settings.baseUrl, 'endpoint', ['AZURE_SENTINEL_ENDPOINT'], env)
  const tenantId = required(settings.tenantId, 'tenantId', ['AZURE_SENTINEL_TENANT_ID', 'AZURE_TENANT_ID'], env)
  const clientId = required(settings.clientId, 'clientId', ['AZURE_SENTINEL_CLIENT_ID', 'AZURE_CLIENT_ID'], env)
  const clientSecret = required(settings.clientSecret, 'clientSecret', ['AZURE_SENTINEL_CLIENT_SECRET', 'AZURE_CLIENT_SECRET'], env)
  const streamName = readSetting(settings.streamName, 'AZURE_SENTINEL_STREAM_NAME', env) ?? 'Custom-LiteLLM'
  const authority = urlSetting(readSetting(settings.authorityHost, 'AZURE_AUTHORITY_HOST', env) ?? 'https://login.microsoftonline.com', 'authorityHost')
  const tokenUrl = `${authority}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`
  return httpSink<AzureSentinelRecord>({
    name: 'azureSentinel',
    url: `${urlSetting(endpoint, 'endpoint')}/dataCollectionRules/${encodeURIComponent(dcrImmutableId)}/streams/${encodeURIComponent(streamName)}?api-version=2023-01-01`,
    contentType: 'application/json',
    gzip: settings.gzip ?? true,
    maxBatchSize: settings.maxBatchSize ?? 25,
    encode: (records) => JSON.stringify(records),
    headersFor: entraAuthorization({ tokenUrl, clientId, clientSecret, scope: settings.scope ?? azureMonitorScope }, timeoutMs),
    timeoutMs,
  })
}

function dataCollectorSink(settings: Settings, env: Environment, workspaceId: string, timeoutMs: number) {
  const sharedKey = required(settings.sharedKey, 'sharedKey', ['AZURE_SENTINEL_SHARED_KEY'], env)
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(sharedKey)) {
    throw new ValidationError('azureSentinel(): AZURE_SENTINEL_SHARED_KEY is not base64; copy the primary or secondary key of the workspace as Azure shows it.', [
      { path: 'sharedKey', message: 'not base64' },
    ])
  }
  const logType = readSetting(settings.logType, 'AZURE_SENTINEL_LOG_TYPE', env) ?? 'LiteLLM'
  if (!/^[A-Za-z0-9_]{1,100}$/.test(logType)) {
    throw new ValidationError(`azureSentinel(): AZURE_SENTINEL_LOG_TYPE ${JSON.stringify(logType)} may hold only letters, digits and underscores (at most 100).`, [
      { path: 'logType', message: 'letters, digits and underscores, at most 100' },
    ])
  }
  const base = urlSetting(settings.endpoint ?? settings.baseUrl ?? readSetting(undefined, 'AZURE_SENTINEL_ENDPOINT', env) ?? `https://${workspaceId}.ods.opinsights.azure.com`, 'endpoint')
  return httpSink<AzureSentinelRecord>({
    name: 'azureSentinel',
    url: `${base}/api/logs?api-version=2016-04-01`,
    contentType: 'application/json',
    maxBatchSize: settings.maxBatchSize ?? 100,
    // A string, so the signature covers the very bytes sent (no gzip: the length is signed).
    encode: (records) => JSON.stringify(records),
    headersFor: sharedKeyHeaders({ workspaceId, sharedKey, logType }),
    timeoutMs,
  })
}

/** An option, else the first of `variables` that is set; a missing one fails naming them all. */
function required(value: string | undefined, option: string, variables: string[], env: Environment): string {
  for (const variable of variables) {
    const found = readSetting(value, variable, env)
    if (found !== undefined) return found
  }
  throw new ValidationError(`azureSentinel() needs ${variables.join(' or ')}: set it in the environment or pass { ${option}: '...' } to azureSentinel().`, [
    { path: option, message: `missing; set ${variables[0]}` },
  ])
}

function urlSetting(value: string, option: string): string {
  if (!URL.canParse(value)) throw new ValidationError(`azureSentinel(): ${option} is not a URL (${JSON.stringify(value)}).`, [{ path: option, message: 'not a URL' }])
  return value.replace(/\/+$/, '')
}
