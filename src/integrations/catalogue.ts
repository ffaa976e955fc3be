/**
 * The one catalogue of built-in integrations, in onion order (outermost first). `observability()`,
 * `callbacks({ input, success, failure })`, the proxy's `success_callback` / `failure_callback` /
 * `input_callback` and the option types all read it. Adding an integration is one file (its factory
 * and its descriptor), one line here, a docs page and a test.
 *
 * The core never imports this file (it loads every integration); the middleware and the proxy do.
 */
import { athinaIntegration } from '../../middleware/athina'
import { consoleLogIntegration } from '../../middleware/console-log'
import { datadogIntegration } from '../../middleware/datadog'
import { heliconeIntegration } from '../../middleware/helicone'
import { jsonLogIntegration } from '../../middleware/json-log'
import { langfuseIntegration } from '../../middleware/langfuse'
import { logfireIntegration } from '../../middleware/logfire'
import { lokiIntegration } from '../../middleware/loki'
import { lunaryIntegration } from '../../middleware/lunary'
import { otelIntegration } from '../../middleware/otel'
import { posthogIntegration } from '../../middleware/posthog'
import { prometheusIntegration } from '../../middleware/prometheus'
import { sentryIntegration } from '../../middleware/sentry'
import { slackIntegration } from '../../middleware/slack'
import { traceloopIntegration } from '../../middleware/traceloop'
// databases (postgres, supabase, clickhouse)
import { postgresIntegration } from '../../middleware/postgres'
import { supabaseIntegration } from '../../middleware/supabase'
import { clickhouseIntegration } from '../../middleware/clickhouse'
// object stores (s3, azure_storage, gcs_bucket)
import { s3Integration } from '../../middleware/s3'
import { gcsBucketIntegration } from '../../middleware/gcs-bucket'
import { azureStorageIntegration } from '../../middleware/azure-storage'
// cloud tables and queues (dynamodb, aws_sqs, gcs_pubsub)
import { dynamodbIntegration } from '../../middleware/dynamodb'
import { awsSqsIntegration } from '../../middleware/aws-sqs'
import { gcsPubsubIntegration } from '../../middleware/gcs-pubsub'
// otlp-webhook: the generic OTLP exporter, its vendor presets and the webhook.
import { otlpIntegration } from '../../middleware/otlp'
import { otlpPresetIntegrations } from '../../middleware/otlp-presets'
import { webhookIntegration } from '../../middleware/webhook'
import { namesOf, onionPositions, type FactoryOptions, type IntegrationDescriptor } from './descriptor'
// native mappings (issue 16)
import { langsmithIntegration } from '../../middleware/langsmith'
import { pagerdutyIntegration } from '../../middleware/pagerduty'
import { teamsIntegration } from '../../middleware/teams'
import { discordIntegration } from '../../middleware/discord'
import { resendEmailIntegration } from '../../middleware/resend-email'
import { sendgridEmailIntegration } from '../../middleware/sendgrid-email'
import { smtpEmailIntegration } from '../../middleware/smtp-email'
import { openmeterIntegration } from '../../middleware/openmeter'
import { lagoIntegration } from '../../middleware/lago'
import { cloudzeroIntegration } from '../../middleware/cloudzero'
import { greenscaleIntegration } from '../../middleware/greenscale'
import { promptlayerIntegration } from '../../middleware/promptlayer'
import { humanloopIntegration } from '../../middleware/humanloop'
import { argillaIntegration } from '../../middleware/argilla'
import { azureSentinelIntegration } from '../../middleware/azure-sentinel'
import { deepevalIntegration } from '../../middleware/deepeval'
import { literalaiIntegration } from '../../middleware/literalai'
import { galileoIntegration } from '../../middleware/galileo'

/**
 * Every built-in integration, outermost first (the order of their `position`, then of this list).
 *
 * @example
 * ```ts
 * for (const integration of catalogue) console.log(integration.name, integration.switchedOnBy)
 * ```
 */
export const catalogue = inOnionOrder([
  otelIntegration,
  sentryIntegration,
  langfuseIntegration,
  logfireIntegration,
  traceloopIntegration,
  datadogIntegration,
  heliconeIntegration,
  posthogIntegration,
  lunaryIntegration,
  athinaIntegration,
  lokiIntegration,
  // databases: exporters, so listed before the alerts to keep the onion order
  postgresIntegration,
  supabaseIntegration,
  clickhouseIntegration,
  // object stores: last of the exporters (the list is in onion order)
  s3Integration,
  gcsBucketIntegration,
  azureStorageIntegration,
  // cloud tables and queues: exporters
  dynamodbIntegration,
  awsSqsIntegration,
  gcsPubsubIntegration,
  // native mappings (issue 16): exporters
  langsmithIntegration,
  openmeterIntegration,
  lagoIntegration,
  cloudzeroIntegration,
  greenscaleIntegration,
  promptlayerIntegration,
  humanloopIntegration,
  argillaIntegration,
  azureSentinelIntegration,
  deepevalIntegration,
  literalaiIntegration,
  galileoIntegration,
  slackIntegration,
  // native mappings (issue 16): alerts
  pagerdutyIntegration,
  teamsIntegration,
  discordIntegration,
  resendEmailIntegration,
  sendgridEmailIntegration,
  smtpEmailIntegration,
  jsonLogIntegration,
  prometheusIntegration,
  consoleLogIntegration,
  // otlp-webhook
  otlpIntegration,
  ...otlpPresetIntegrations,
  webhookIntegration,
])

/**
 * The list sorted by `position` (stable, so the list's order holds within a position): entries can
 * be appended at the end of the list whatever their place in the onion.
 */
function inOnionOrder<Entry extends { readonly position: IntegrationDescriptor['position'] }>(entries: Entry[]): Entry[] {
  const rank = (entry: Entry) => onionPositions.indexOf(entry.position)
  return entries.map((entry, index) => ({ entry, index })).sort((a, b) => rank(a.entry) - rank(b.entry) || a.index - b.index).map(({ entry }) => entry)
}

/** One entry of the catalogue, with its own option and layer types. */
export type CatalogueEntry = (typeof catalogue)[number]

/** The names `observability()` knows, in the order it composes them. */
export type IntegrationName = CatalogueEntry['name']

/** The options an entry's factory takes. */
export type OptionsOf<Entry extends CatalogueEntry> = NonNullable<Parameters<Entry['factory']>[0]>

/** The catalogue seen through the common descriptor type, for code that builds any entry. */
export const integrations: readonly IntegrationDescriptor[] = catalogue

const byName = new Map<string, IntegrationDescriptor>()
for (const integration of integrations) for (const name of namesOf(integration)) byName.set(name, integration)

/**
 * The integration a callback list names, by its name or one of its aliases (LiteLLM's names).
 *
 * @example
 * ```ts
 * findIntegration('langfuse_otel')?.name // 'langfuse'
 * ```
 */
export function findIntegration(name: string): IntegrationDescriptor | undefined {
  return byName.get(name)
}

/** What a name in a callback list builds: its integration, with the options the name implies. */
export interface CallbackEntry {
  integration: IntegrationDescriptor
  /**
   * What the name is told apart by: the integration's name, or the name itself when it implies options
   * of its own (`datadog_llm_observability`). Names with the same id build one layer.
   */
  id: string
  /** The options the name implies (see `callbackOptions` of the descriptor), none for most. */
  implied: Readonly<FactoryOptions> | undefined
}

/**
 * What a name in a callback list means: its integration, and the options the name implies where
 * LiteLLM's callback of that name sends only part of what the integration sends by default.
 *
 * @example
 * ```ts
 * findCallback('datadog')                   // { integration: datadog, id: 'datadog', implied: { llmObservability: false } }
 * findCallback('datadog_llm_observability') // { integration: datadog, id: 'datadog_llm_observability', implied: { logs: false } }
 * findCallback('langfuse_otel')?.id         // 'langfuse'
 * ```
 */
export function findCallback(name: string): CallbackEntry | undefined {
  const integration = byName.get(name)
  if (!integration) return undefined
  const implied = integration.callbackOptions?.[name]
  return { integration, id: implied === undefined ? integration.name : name, implied }
}

/** Every name a callback list accepts, sorted, for "Known: ..." messages. */
export const knownIntegrationNames: readonly string[] = [...byName.keys()].sort()
