/**
 * OpenTelemetry GenAI spans through `@opentelemetry/api`, so they join the application's own tracer
 * provider, exporters and context: one CLIENT span per call, and one child span per attempt when a
 * retry or fallback layer inside it made several.
 */
import type * as Api from '@opentelemetry/api'
import { z } from 'zod'
import type { Context } from '../src/context'
import { operationOf } from '../src/integrations/otel/attributes'
import { callSpanTree, completeCallSpan } from '../src/integrations/otel/span-record'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defaultMoments } from '../src/integrations/exporter'
import { defineObservingLayer } from '../src/integrations/observing-layer'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'
import { whenProfiled } from '../src/profile'
import { writeLayerSpans } from '../src/integrations/otel/layer-spans'

const otelOptionsSchema = lazySchema(() =>
  z
    .object({
      tracerProvider: z
        .custom<Api.TracerProvider>((value) => typeof (value as Api.TracerProvider | undefined)?.getTracer === 'function', {
          message: 'must be an OpenTelemetry TracerProvider (an object with getTracer)',
        })
        .optional(),
      tracerName: z.string().min(1).optional(),
      captureContent: z.boolean().optional(),
      moments: z.array(z.enum(['input', 'success', 'failure'])).optional(),
      redact: z.object({ messages: z.boolean().optional() }).strict().optional(),
    })
    .strict(),
)

/**
 * Options of {@link otel}.
 * - `tracerProvider`: default the global one (`trace.getTracerProvider()`), so spans go wherever the application's go.
 * - `tracerName`: default `llm-onion`.
 * - `captureContent`: default `false`; `true` adds `gen_ai.input.messages`, `gen_ai.output.messages`
 *   and `gen_ai.system_instructions` (opt-in, as the conventions ask; redaction still applies).
 * - `moments`: default `['success', 'failure']`; with only one of them, spans of that outcome are
 *   recorded after the call instead of live (same times and attributes, no active span inside).
 * - `redact`: default the client's setting.
 */
export type OtelOptions = z.input<typeof otelOptionsSchema>

/**
 * otel() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * otelIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['otel'] }) builds
 * ```
 */
export const otelIntegration = defineIntegration({
  name: 'otel',
  // LiteLLM's registry also maps `opentelemetry` to its OpenTelemetry logger.
  aliases: ['opentelemetry'],
  switchedOnBy: [['OTEL_EXPORTER_OTLP_ENDPOINT'], ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']],
  position: 'tracing',
  takesEnv: false,
  factory: otel,
})

/**
 * Records every call as an OpenTelemetry GenAI span in the application's tracer provider: kind
 * CLIENT, named `"{operation} {model}"`, started at the call's start and ended after its last stream
 * chunk, with the GenAI attributes (provider, models, response id, finish reasons, request
 * parameters, usage, time to first chunk, server address) and `error.type` plus status ERROR on
 * failure. While the call runs its span is the active one, so spans of inner layers and HTTP
 * instrumentation nest under it.
 *
 * On a client with `profile: true`, each layer's own time becomes a child span `layer {name}`
 * (docs/profile.md).
 *
 * Put it outside `retry()` / `fallback()` to get one span per call with each attempt as a child span;
 * inside them it records one span per attempt.
 *
 * @example
 * ```ts
 * // the application has registered its tracer provider (NodeSDK, or trace.setGlobalTracerProvider)
 * client.use(otel(), retry({ retries: 2 }))
 * ```
 */
export function otel(options: OtelOptions = {}): Middleware {
  const settings = validate(otelOptionsSchema, options, 'otel() options')
  // `@opentelemetry/api` loads on the first call, not at import (cold start, docs/benchmarks.md); its
  // globals live on `globalThis`, so the tracer provider an application registered is found then.
  let layer: Middleware | undefined
  let loading: Promise<Middleware> | undefined
  const load = () => (loading ??= import('@opentelemetry/api').then((api) => (layer = tracingLayer(api, settings))))
  return async function otel(ctx, next) {
    if (layer) return layer(ctx, next)
    let loaded: Middleware
    try {
      loaded = await load()
    } catch (error) {
      // A tracing layer that cannot load never fails the call it traces.
      ctx.services.reportHookError(error, 'otel')
      return next()
    }
    return loaded(ctx, next)
  }
}

/** The layer itself, once `@opentelemetry/api` has loaded. */
function tracingLayer(api: typeof Api, settings: z.output<typeof otelOptionsSchema>): Middleware {
  const provider = settings.tracerProvider ?? api.trace.getTracerProvider()
  const tracer = provider.getTracer(settings.tracerName ?? 'llm-onion')
  const captureContent = settings.captureContent ?? false
  const moments = settings.moments ?? defaultMoments
  const onSuccess = moments.includes('success')
  const onFailure = moments.includes('failure')
  const live = onSuccess && onFailure

  const eventOptions = { redact: settings.redact }

  function complete(ctx: Context, span: Api.Span, parentContext: Api.Context, firstAttempt: number): void {
    try {
      // A span the application does not record (no tracer provider registered, or sampled out)
      // ignores names and attributes: mapping the call for it would be work for nothing.
      if (!span.isRecording()) {
        span.end()
        return
      }
      const event = ctx.toEvent(eventOptions)
      const tree = callSpanTree(event, { captureContent, requestModel: ctx.model, attempts: event.attempts.slice(firstAttempt) })
      completeCallSpan(api, tracer, span, tree, parentContext)
      // On a profiled client, each layer as a child span, once the outermost layer has finished.
      if (ctx.profile) whenProfiled(ctx, (_layers, profile) => writeLayerSpans(api, tracer, span, parentContext, profile.spans()))
    } catch (error) {
      if (span.isRecording()) span.end()
      ctx.services.reportHookError(error, 'otel')
    }
  }

  function start(ctx: Context, parentContext: Api.Context): Api.Span {
    return tracer.startSpan(
      `${operationOf(ctx.type)} ${ctx.model}`,
      { kind: api.SpanKind.CLIENT, startTime: ctx.timing.start, attributes: { 'gen_ai.operation.name': operationOf(ctx.type) } },
      parentContext,
    )
  }

  // Recorded after the call: the span is started and ended at once, with the call's times.
  const recordAfter = (ctx: Context, call: { parentContext: Api.Context; firstAttempt: number } | undefined) => {
    const parentContext = call?.parentContext ?? api.context.active()
    complete(ctx, start(ctx, parentContext), parentContext, call?.firstAttempt ?? 0)
  }
  if (!live) {
    return defineObservingLayer({
      name: 'otel',
      moments,
      start: (ctx) => ({ parentContext: api.context.active(), firstAttempt: ctx.attempts.length }),
      success: recordAfter,
      failure: recordAfter,
    })
  }
  // Live: the span is active while the inner layers run, so their spans nest under it.
  const completeLive = (ctx: Context, call: LiveCall | undefined) => {
    if (call?.span) complete(ctx, call.span, call.parentContext, call.firstAttempt)
  }
  return defineObservingLayer<LiveCall>({
    name: 'otel',
    start: (ctx) => {
      const call: LiveCall = { parentContext: api.context.active(), firstAttempt: ctx.attempts.length }
      call.span = start(ctx, call.parentContext)
      return call
    },
    around: (_ctx, next, call) => (call?.span ? api.context.with(api.trace.setSpan(call.parentContext, call.span), next) : next()),
    success: completeLive,
    failure: completeLive,
  })
}

/** A call as the live layer sees it: where it started, and its span (none when starting one failed). */
interface LiveCall {
  parentContext: Api.Context
  firstAttempt: number
  span?: Api.Span
}
