/**
 * Built-in integrations by the names LiteLLM users know (`'helicone'`, `'sentry'`, ...), for
 * `callbacks({ success: [...] })` and the proxy's `success_callback` / `failure_callback`.
 * Each factory takes its usual options plus `moments`, the moments the list it was named in asks for.
 */
import type { IntegrationMoment } from '../src/exporter'
import type { Middleware } from '../src/types'
import { athina } from './athina'
import { consoleLog } from './console-log'
import { helicone } from './helicone'
import { jsonLog } from './json-log'
import { loki } from './loki'
import { lunary } from './lunary'
import { posthog } from './posthog'
import { prometheus } from './prometheus'
import { slack } from './slack'

export type IntegrationFactory = (options?: { moments?: IntegrationMoment[] } & Record<string, unknown>) => Middleware

export const integrations: Record<string, IntegrationFactory> = {
  // Entries are added as `name: factory as IntegrationFactory,` — one line each, alphabetical.
  athina: athina as IntegrationFactory,
  consoleLog: consoleLog as IntegrationFactory,
  helicone: helicone as IntegrationFactory,
  jsonLog: jsonLog as IntegrationFactory,
  loki: loki as IntegrationFactory,
  lunary: lunary as IntegrationFactory,
  posthog: posthog as IntegrationFactory,
  prometheus: prometheus as IntegrationFactory,
  slack: slack as IntegrationFactory,
}
