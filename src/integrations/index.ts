// `llm-onion/integrations`: the kit every built-in integration is made with, to write your own.
// An exporter is a sink plus a mapping (defineExporter, httpSink, otlpSink); any other layer that
// watches calls is defineObservingLayer; settings come from options first, then the environment
// (requireSetting, readSetting, readBaseUrl); options are checked with a zod schema extending
// integrationOptionsSchema (validateOptions). The walk-through is docs/integrations/writing-your-own.md.
export { defineExporter, backgroundReporter, defaultMoments } from './exporter'
export type { ExporterDefinition, CapturingExporterDefinition, IntegrationMoment } from './exporter'
export { httpSink } from '../delivery/http-sink'
export type { HttpSinkOptions } from '../delivery/http-sink'
export type { Sink } from '../delivery/sink'
export { otlpSink, tracedCall, defineOtlpExporter, otlpPresetOptionsSchema, serviceNameOf } from './otel/otlp-exporter'
export type { OtlpExporterDefinition, FinishedCall } from './otel/otlp-exporter'
export type { OtlpDestination, TracedCall } from './otel/pipeline'
export { integrationOptionsSchema, readSetting, requireSetting, readBaseUrl } from './options'
export type { IntegrationOptions, Environment } from './options'
export { validate as validateOptions } from '../validate'
export { defineObservingLayer, recordError } from './observing-layer'
export type { ObservingLayerDefinition, MomentHandler, OutcomeHandler } from './observing-layer'
export { runHook } from './run-hook'
export type { HookSettings } from './run-hook'
export { defineIntegration, onionPositions } from './descriptor'
export type { IntegrationDescriptor, OnionPosition, FactoryOptions } from './descriptor'
export { chainLayers } from './chain'
