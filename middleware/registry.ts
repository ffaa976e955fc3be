/**
 * Built-in integrations by the names LiteLLM users know (`'helicone'`, `'sentry'`, ...), for
 * `callbacks({ success: [...] })` and the proxy's `success_callback` / `failure_callback`.
 * Each factory takes its usual options plus `moments`, the moments the list it was named in asks for.
 */
import type { IntegrationMoment } from '../src/exporter'
import type { Middleware } from '../src/types'

export type IntegrationFactory = (options?: { moments?: IntegrationMoment[] } & Record<string, unknown>) => Middleware

export const integrations: Record<string, IntegrationFactory> = {
  // Entries are added as `name: factory as IntegrationFactory,` — one line each, alphabetical.
}
