/**
 * The vendor presets of `otlp()`, in one table: for each vendor the variables it reads (LiteLLM's
 * names where LiteLLM has the integration), its traces endpoint, its auth headers and its attribute
 * conventions. Sources and uncertainties are in docs/integrations/otlp-presets.md. Each preset is
 * still its own layer with its own name in the catalogue (`arize`, `arizePhoenix`, ...).
 */
import { openInferenceAttributes } from '../src/integrations/otel/openinference'
import { agentOpsAuthorization } from './agentops-token'
import { basicAuthorization, defineOtlpPreset, tracesUrlOf } from './otlp-preset'

/**
 * Arize AX: OpenInference attributes, headers `space_id` and `api_key` (LiteLLM: `ARIZE_SPACE_KEY`
 * or `ARIZE_SPACE_ID`, `ARIZE_API_KEY`, `ARIZE_HTTP_ENDPOINT` / `ARIZE_ENDPOINT`; default
 * `https://otlp.arize.com/v1/traces`), the project as the `model_id` resource attribute.
 *
 * @example
 * ```ts
 * client.use(arize({ spaceId: 'U3BhY2U6...', apiKey: process.env.ARIZE_API_KEY, projectName: 'checkout' }))
 * ```
 */
export const { factory: arize, integration: arizeIntegration } = defineOtlpPreset({
  name: 'arize',
  aliases: [],
  switchedOnBy: [['ARIZE_API_KEY', 'ARIZE_SPACE_KEY'], ['ARIZE_API_KEY', 'ARIZE_SPACE_ID']],
  settings: {
    apiKey: { variables: ['ARIZE_API_KEY'], required: true, secret: true },
    spaceId: { variables: ['ARIZE_SPACE_ID', 'ARIZE_SPACE_KEY'], required: true },
    endpoint: { variables: ['ARIZE_HTTP_ENDPOINT', 'ARIZE_ENDPOINT'], fallback: 'https://otlp.arize.com/v1' },
    projectName: { variables: ['ARIZE_PROJECT_NAME'], fallback: 'llm-onion' },
  },
  url: (values, baseUrl) => tracesUrlOf(baseUrl ?? values.endpoint!),
  headers: (values) => ({ space_id: values.spaceId!, api_key: values.apiKey! }),
  resource: (values) => ({ model_id: values.projectName!, 'openinference.project.name': values.projectName! }),
  attributes: (event, captureContent) => openInferenceAttributes(event, captureContent),
  captureContent: true,
})

/**
 * Arize Phoenix (self-hosted or Phoenix Cloud): OpenInference attributes, `Authorization: Bearer`
 * when `PHOENIX_API_KEY` is set (LiteLLM's variables: `PHOENIX_COLLECTOR_HTTP_ENDPOINT`, else
 * `PHOENIX_COLLECTOR_ENDPOINT`, else `http://localhost:6006/v1/traces`; `PHOENIX_PROJECT_NAME`).
 *
 * @example
 * ```ts
 * client.use(arizePhoenix({ endpoint: 'http://localhost:6006', projectName: 'checkout' }))
 * ```
 */
export const { factory: arizePhoenix, integration: arizePhoenixIntegration } = defineOtlpPreset({
  name: 'arizePhoenix',
  aliases: ['arize_phoenix'],
  switchedOnBy: [['PHOENIX_COLLECTOR_HTTP_ENDPOINT'], ['PHOENIX_COLLECTOR_ENDPOINT'], ['PHOENIX_API_KEY']],
  settings: {
    apiKey: { variables: ['PHOENIX_API_KEY'], secret: true },
    endpoint: { variables: ['PHOENIX_COLLECTOR_HTTP_ENDPOINT', 'PHOENIX_COLLECTOR_ENDPOINT'], fallback: 'http://localhost:6006' },
    projectName: { variables: ['PHOENIX_PROJECT_NAME'], fallback: 'default' },
  },
  url: (values, baseUrl) => tracesUrlOf(baseUrl ?? values.endpoint!),
  headers: (values): Record<string, string> => (values.apiKey ? { authorization: `Bearer ${values.apiKey}` } : {}),
  resource: (values) => ({ 'openinference.project.name': values.projectName! }),
  attributes: (event, captureContent) => openInferenceAttributes(event, captureContent),
  captureContent: true,
})

/**
 * Langtrace: header `x-api-key` (`LANGTRACE_API_KEY`), `{LANGTRACE_API_HOST}/api/trace` (default
 * `https://app.langtrace.ai`).
 *
 * @example
 * ```ts
 * client.use(langtrace({ apiKey: process.env.LANGTRACE_API_KEY }))
 * ```
 */
export const { factory: langtrace, integration: langtraceIntegration } = defineOtlpPreset({
  name: 'langtrace',
  aliases: [],
  switchedOnBy: [['LANGTRACE_API_KEY']],
  settings: {
    apiKey: { variables: ['LANGTRACE_API_KEY'], required: true, secret: true },
    host: { variables: ['LANGTRACE_API_HOST'], fallback: 'https://app.langtrace.ai' },
  },
  url: (values, baseUrl) => `${baseUrl ?? values.host!.replace(/\/+$/, '')}/api/trace`,
  headers: (values) => ({ 'x-api-key': values.apiKey! }),
  captureContent: true,
})

/**
 * W&B Weave over OpenTelemetry: `https://trace.wandb.ai/otel/v1/traces`, `Authorization: Basic
 * base64("api:" + WANDB_API_KEY)` and header `project_id: <entity>/<project>` (`WANDB_PROJECT_ID`).
 *
 * @example
 * ```ts
 * client.use(weaveOtel({ apiKey: process.env.WANDB_API_KEY, projectId: 'my-team/checkout' }))
 * ```
 */
export const { factory: weaveOtel, integration: weaveOtelIntegration } = defineOtlpPreset({
  name: 'weaveOtel',
  aliases: ['weave_otel'],
  switchedOnBy: [['WANDB_API_KEY', 'WANDB_PROJECT_ID']],
  settings: {
    apiKey: { variables: ['WANDB_API_KEY'], required: true, secret: true },
    projectId: { variables: ['WANDB_PROJECT_ID'], required: true },
    host: { variables: ['WANDB_HOST'], fallback: 'https://trace.wandb.ai' },
  },
  url: (values, baseUrl) => `${baseUrl ?? values.host!.replace(/\/+$/, '')}/otel/v1/traces`,
  headers: (values) => ({ authorization: basicAuthorization('api', values.apiKey!), project_id: values.projectId! }),
  captureContent: true,
})

/**
 * Comet Opik: `{OPIK_URL_OVERRIDE}/v1/private/otel/v1/traces` (default
 * `https://www.comet.com/opik/api`), `Authorization: <OPIK_API_KEY>`, `Comet-Workspace` and
 * `projectName` headers.
 *
 * @example
 * ```ts
 * client.use(opik({ apiKey: process.env.OPIK_API_KEY, workspace: 'my-team', projectName: 'checkout' }))
 * ```
 */
export const { factory: opik, integration: opikIntegration } = defineOtlpPreset({
  name: 'opik',
  aliases: [],
  switchedOnBy: [['OPIK_API_KEY']],
  settings: {
    apiKey: { variables: ['OPIK_API_KEY'], secret: true },
    workspace: { variables: ['OPIK_WORKSPACE'], fallback: 'default' },
    projectName: { variables: ['OPIK_PROJECT_NAME'], fallback: 'Default Project' },
    host: { variables: ['OPIK_URL_OVERRIDE'], fallback: 'https://www.comet.com/opik/api' },
  },
  url: (values, baseUrl) => `${baseUrl ?? values.host!.replace(/\/+$/, '')}/v1/private/otel/v1/traces`,
  headers: (values): Record<string, string> => ({
    ...(values.apiKey ? { authorization: values.apiKey } : {}),
    'comet-workspace': values.workspace!,
    projectname: values.projectName!,
  }),
  captureContent: true,
})

/**
 * Braintrust: `{BRAINTRUST_API_BASE}/otel/v1/traces` (default `https://api.braintrust.dev`),
 * `Authorization: Bearer <BRAINTRUST_API_KEY>`, `x-bt-parent: project_id:<id>` or `project_name:<name>`.
 *
 * @example
 * ```ts
 * client.use(braintrust({ apiKey: process.env.BRAINTRUST_API_KEY, projectName: 'checkout' }))
 * ```
 */
export const { factory: braintrust, integration: braintrustIntegration } = defineOtlpPreset({
  name: 'braintrust',
  aliases: [],
  switchedOnBy: [['BRAINTRUST_API_KEY']],
  settings: {
    apiKey: { variables: ['BRAINTRUST_API_KEY'], required: true, secret: true },
    host: { variables: ['BRAINTRUST_API_BASE'], fallback: 'https://api.braintrust.dev' },
    projectId: { variables: ['BRAINTRUST_PROJECT_ID'] },
    projectName: { variables: ['BRAINTRUST_PROJECT_NAME'], fallback: 'llm-onion' },
  },
  url: (values, baseUrl) => `${baseUrl ?? values.host!.replace(/\/+$/, '').replace(/\/v1$/, '')}/otel/v1/traces`,
  headers: (values) => ({
    authorization: `Bearer ${values.apiKey!}`,
    'x-bt-parent': values.projectId ? `project_id:${values.projectId}` : `project_name:${values.projectName!}`,
  }),
  captureContent: true,
})

/**
 * MLflow tracking server (3.x, OTLP ingestion): `{MLFLOW_TRACKING_URI}/v1/traces`, header
 * `x-mlflow-experiment-id` (`MLFLOW_EXPERIMENT_ID`, default `0`), `Bearer MLFLOW_TRACKING_TOKEN` or
 * Basic `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD` when set.
 *
 * @example
 * ```ts
 * client.use(mlflow({ trackingUri: 'http://localhost:5000', experimentId: '12' }))
 * ```
 */
export const { factory: mlflow, integration: mlflowIntegration } = defineOtlpPreset({
  name: 'mlflow',
  aliases: [],
  switchedOnBy: [['MLFLOW_TRACKING_URI']],
  settings: {
    trackingUri: { variables: ['MLFLOW_TRACKING_URI'], required: true },
    experimentId: { variables: ['MLFLOW_EXPERIMENT_ID'], fallback: '0' },
    token: { variables: ['MLFLOW_TRACKING_TOKEN'], secret: true },
    username: { variables: ['MLFLOW_TRACKING_USERNAME'] },
    password: { variables: ['MLFLOW_TRACKING_PASSWORD'], secret: true },
  },
  url: (values, baseUrl) => tracesUrlOf(baseUrl ?? values.trackingUri!),
  headers: (values): Record<string, string> => ({
    'x-mlflow-experiment-id': values.experimentId!,
    ...(values.token ? { authorization: `Bearer ${values.token}` } : values.username && values.password ? { authorization: basicAuthorization(values.username, values.password) } : {}),
  }),
  captureContent: true,
})

/**
 * AgentOps: `https://otlp.agentops.cloud/v1/traces` with `Authorization: Bearer <JWT>`, the JWT
 * fetched from `https://api.agentops.ai/v3/auth/token` with `AGENTOPS_API_KEY` in the background
 * before the first export (as LiteLLM does), `AGENTOPS_SERVICE_NAME`, `AGENTOPS_ENVIRONMENT`.
 *
 * @example
 * ```ts
 * client.use(agentops({ apiKey: process.env.AGENTOPS_API_KEY }))
 * ```
 */
export const { factory: agentops, integration: agentopsIntegration } = defineOtlpPreset({
  name: 'agentops',
  aliases: [],
  switchedOnBy: [['AGENTOPS_API_KEY']],
  settings: {
    apiKey: { variables: ['AGENTOPS_API_KEY'], required: true, secret: true },
    endpoint: { variables: ['AGENTOPS_EXPORTER_ENDPOINT'], fallback: 'https://otlp.agentops.cloud/v1/traces' },
    authEndpoint: { variables: ['AGENTOPS_AUTH_ENDPOINT'], fallback: 'https://api.agentops.ai/v3/auth/token' },
    serviceName: { variables: ['AGENTOPS_SERVICE_NAME'], fallback: 'agentops' },
    environment: { variables: ['AGENTOPS_ENVIRONMENT'], fallback: 'production' },
  },
  url: (values, baseUrl) => (baseUrl ? tracesUrlOf(baseUrl) : values.endpoint!),
  headers: () => ({}),
  headersFor: (values, timeoutMs) => agentOpsAuthorization(values.authEndpoint!, values.apiKey!, timeoutMs),
  serviceName: (values) => values.serviceName,
  resource: (values) => ({ 'deployment.environment': values.environment!, 'telemetry.sdk.name': 'agentops' }),
  captureContent: true,
})

/**
 * New Relic: `https://otlp.nr-data.net/v1/traces` (`https://otlp.eu01.nr-data.net` for an EU
 * license key, which starts with `eu`), header `api-key: <NEW_RELIC_LICENSE_KEY>`, service
 * `NEW_RELIC_APP_NAME`.
 *
 * @example
 * ```ts
 * client.use(newrelic({ licenseKey: process.env.NEW_RELIC_LICENSE_KEY }))
 * ```
 */
export const { factory: newrelic, integration: newrelicIntegration } = defineOtlpPreset({
  name: 'newrelic',
  aliases: [],
  switchedOnBy: [['NEW_RELIC_LICENSE_KEY']],
  settings: {
    licenseKey: { variables: ['NEW_RELIC_LICENSE_KEY'], required: true, secret: true },
    appName: { variables: ['NEW_RELIC_APP_NAME'] },
  },
  url: (values, baseUrl) => tracesUrlOf(baseUrl ?? (values.licenseKey!.startsWith('eu') ? 'https://otlp.eu01.nr-data.net' : 'https://otlp.nr-data.net')),
  headers: (values) => ({ 'api-key': values.licenseKey! }),
  serviceName: (values) => values.appName,
  captureContent: false,
})

/**
 * Honeycomb (LiteLLM has none): `{HONEYCOMB_API_ENDPOINT}/v1/traces` (default
 * `https://api.honeycomb.io`), header `x-honeycomb-team: <HONEYCOMB_API_KEY>`, and
 * `x-honeycomb-dataset` for classic environments (`HONEYCOMB_DATASET`).
 *
 * @example
 * ```ts
 * client.use(honeycomb({ apiKey: process.env.HONEYCOMB_API_KEY }))
 * ```
 */
export const { factory: honeycomb, integration: honeycombIntegration } = defineOtlpPreset({
  name: 'honeycomb',
  aliases: [],
  switchedOnBy: [['HONEYCOMB_API_KEY']],
  settings: {
    apiKey: { variables: ['HONEYCOMB_API_KEY'], required: true, secret: true },
    endpoint: { variables: ['HONEYCOMB_API_ENDPOINT'], fallback: 'https://api.honeycomb.io' },
    dataset: { variables: ['HONEYCOMB_DATASET'] },
  },
  url: (values, baseUrl) => tracesUrlOf(baseUrl ?? values.endpoint!),
  headers: (values): Record<string, string> => ({ 'x-honeycomb-team': values.apiKey!, ...(values.dataset ? { 'x-honeycomb-dataset': values.dataset } : {}) }),
  captureContent: false,
})

/**
 * Grafana Tempo (LiteLLM has none): `{TEMPO_URL}/v1/traces` (a Grafana Cloud OTLP gateway such as
 * `https://otlp-gateway-prod-eu-west-2.grafana.net/otlp` works too), Basic auth from
 * `TEMPO_USERNAME`/`TEMPO_PASSWORD` when set, `X-Scope-OrgID` from `TEMPO_TENANT_ID`.
 *
 * @example
 * ```ts
 * client.use(tempo({ url: 'http://tempo:4318' }))
 * ```
 */
export const { factory: tempo, integration: tempoIntegration } = defineOtlpPreset({
  name: 'tempo',
  aliases: [],
  switchedOnBy: [['TEMPO_URL']],
  settings: {
    url: { variables: ['TEMPO_URL'], required: true },
    username: { variables: ['TEMPO_USERNAME'] },
    password: { variables: ['TEMPO_PASSWORD'], secret: true },
    tenantId: { variables: ['TEMPO_TENANT_ID'] },
  },
  url: (values, baseUrl) => tracesUrlOf(baseUrl ?? values.url!),
  headers: (values): Record<string, string> => ({
    ...(values.username && values.password ? { authorization: basicAuthorization(values.username, values.password) } : {}),
    ...(values.tenantId ? { 'x-scope-orgid': values.tenantId } : {}),
  }),
  captureContent: false,
})

/**
 * Every preset, for code (and the parameterised test) that walks them all.
 *
 * @example
 * ```ts
 * otlpPresetIntegrations.map((integration) => integration.name) // ['arize', 'arizePhoenix', ...]
 * ```
 */
export const otlpPresetIntegrations = [
  arizeIntegration,
  arizePhoenixIntegration,
  langtraceIntegration,
  weaveOtelIntegration,
  opikIntegration,
  braintrustIntegration,
  mlflowIntegration,
  agentopsIntegration,
  newrelicIntegration,
  honeycombIntegration,
  tempoIntegration,
] as const
