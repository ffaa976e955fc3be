/**
 * The OpenTelemetry SDK, loaded on first use only. Importing `llm-onion` or a layer that does not
 * export OTLP never loads it: these modules are reached through dynamic `import()` alone.
 */
import type * as Api from '@opentelemetry/api'
import type * as Core from '@opentelemetry/core'
import type * as Transformer from '@opentelemetry/otlp-transformer'
import type * as Resources from '@opentelemetry/resources'
import type * as TraceBase from '@opentelemetry/sdk-trace-base'

/** The SDK modules an OTLP pipeline is built from. */
export interface OtelSdk {
  api: typeof Api
  core: typeof Core
  resources: typeof Resources
  traceBase: typeof TraceBase
  transformer: typeof Transformer
}

let loading: Promise<OtelSdk> | undefined
let loaded: OtelSdk | undefined

/** Starts loading the SDK (once per process) and resolves with its modules. */
export function loadOtelSdk(): Promise<OtelSdk> {
  loading ??= Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/otlp-transformer'),
  ]).then(
    ([api, core, resources, traceBase, transformer]) => (loaded = { api, core, resources, traceBase, transformer }),
    (error: unknown) => {
      loading = undefined
      throw new Error(
        `The OpenTelemetry SDK could not be loaded (${(error as Error).message}). It ships with llm-onion; reinstall the package (npm install llm-onion) if node_modules is incomplete.`,
        { cause: error },
      )
    },
  )
  return loading
}

/** The SDK if it has finished loading, so the common case records a span without waiting. */
export function loadedOtelSdk(): OtelSdk | undefined {
  return loaded
}
