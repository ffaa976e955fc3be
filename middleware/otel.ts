/**
 * OpenTelemetry GenAI spans through `@opentelemetry/api`, so they join the application's own tracer
 * provider, exporters and context: one CLIENT span per call, and one child span per attempt when a
 * retry or fallback layer inside it made several.
 */
import type * as Api from '@opentelemetry/api'
import { z } from 'zod'
import type { Context } from '../src/context'
import { operationOf } from '../src/otel/attributes'
import { callSpanTree, completeCallSpan } from '../src/otel/span-record'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defaultMoments } from '../src/exporter'

const otelOptionsSchema = z
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
  .strict()

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
 * Records every call as an OpenTelemetry GenAI span in the application's tracer provider: kind
 * CLIENT, named `"{operation} {model}"`, started at the call's start and ended after its last stream
 * chunk, with the GenAI attributes (provider, models, response id, finish reasons, request
 * parameters, usage, time to first chunk, server address) and `error.type` plus status ERROR on
 * failure. While the call runs its span is the active one, so spans of inner layers and HTTP
 * instrumentation nest under it.
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
  let api: typeof Api | undefined
  let tracer: Api.Tracer
  let loading: Promise<typeof Api> | undefined
  function loadApi(): Promise<typeof Api> {
    loading ??= import('@opentelemetry/api').then(
      (loaded) => {
        const provider = settings.tracerProvider ?? loaded.trace.getTracerProvider()
        tracer = provider.getTracer(settings.tracerName ?? 'llm-onion')
        return (api = loaded)
      },
      (error: unknown) => {
        loading = undefined
        throw error
      },
    )
    return loading
  }
  const captureContent = settings.captureContent ?? false
  const moments = settings.moments ?? defaultMoments
  const onSuccess = moments.includes('success')
  const onFailure = moments.includes('failure')
  const live = onSuccess && onFailure

  const eventOptions = { redact: settings.redact }

  function complete(api: typeof Api, ctx: Context, span: Api.Span, parentContext: Api.Context, firstAttempt: number): void {
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
    } catch (error) {
      if (span.isRecording()) span.end()
      ctx.services.reportHookError(error, 'otel')
    }
  }

  function start(api: typeof Api, ctx: Context, parentContext: Api.Context): Api.Span {
    return tracer.startSpan(
      `${operationOf(ctx.type)} ${ctx.model}`,
      { kind: api.SpanKind.CLIENT, startTime: ctx.timing.start, attributes: { 'gen_ai.operation.name': operationOf(ctx.type) } },
      parentContext,
    )
  }

  return async function otel(ctx, next) {
    let loaded = api
    if (!loaded) {
      try {
        loaded = await loadApi()
      } catch (error) {
        // A tracing layer that cannot load never fails the call it traces.
        ctx.services.reportHookError(error, 'otel')
        return next()
      }
    }
    const parentContext = loaded.context.active()
    const firstAttempt = ctx.attempts.length
    if (!live) {
      const recordAfter = () => {
        try {
          complete(loaded, ctx, start(loaded, ctx, parentContext), parentContext, firstAttempt)
        } catch (error) {
          ctx.services.reportHookError(error, 'otel')
        }
      }
      try {
        await next()
      } catch (error) {
        if (onFailure) recordAfter()
        throw error
      }
      if (onSuccess) recordAfter()
      return
    }
    let span: Api.Span
    try {
      span = start(loaded, ctx, parentContext)
    } catch (error) {
      ctx.services.reportHookError(error, 'otel')
      return next()
    }
    try {
      await loaded.context.with(loaded.trace.setSpan(parentContext, span), next)
    } catch (error) {
      complete(loaded, ctx, span, parentContext, firstAttempt)
      throw error
    }
    complete(loaded, ctx, span, parentContext, firstAttempt)
  }
}
