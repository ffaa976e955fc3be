/**
 * Built-in integrations by the names LiteLLM users know (`'helicone'`, `'sentry'`, ...), for
 * `callbacks({ success: [...] })` and the proxy's `success_callback` / `failure_callback`.
 * Each factory takes its usual options plus `moments`, the moments the list it was named in asks for.
 */
import type { IntegrationMoment } from '../src/exporter'
import type { Middleware } from '../src/types'
import { athina } from './athina'
import { consoleLog } from './console-log'
import { datadog } from './datadog'
import { helicone } from './helicone'
import { jsonLog } from './json-log'
import { langfuse } from './langfuse'
import { logfire } from './logfire'
import { loki } from './loki'
import { lunary } from './lunary'
import { otel } from './otel'
import { posthog } from './posthog'
import { prometheus } from './prometheus'
import { sentry } from './sentry'
import { slack } from './slack'
import { traceloop } from './traceloop'

export type IntegrationFactory = (options?: { moments?: IntegrationMoment[] } & Record<string, unknown>) => Middleware

export const integrations: Record<string, IntegrationFactory> = {
  // Entries are added as `name: factory as IntegrationFactory,` — one line each, alphabetical.
  athina: athina as IntegrationFactory,
  consoleLog: consoleLog as IntegrationFactory,
  datadog: datadog as IntegrationFactory,
  helicone: helicone as IntegrationFactory,
  jsonLog: jsonLog as IntegrationFactory,
  langfuse: langfuse as IntegrationFactory,
  logfire: logfire as IntegrationFactory,
  loki: loki as IntegrationFactory,
  lunary: lunary as IntegrationFactory,
  otel: otel as IntegrationFactory,
  posthog: posthog as IntegrationFactory,
  prometheus: prometheus as IntegrationFactory,
  sentry: sentry as IntegrationFactory,
  slack: slack as IntegrationFactory,
  traceloop: traceloop as IntegrationFactory,
}
