// The core of llm-onion. Exports are listed by name so the public surface is visible here.
export { createClient, Client } from './client'
export type { ClientOptions, ChatStream, LayerChange } from './client'
export type { CostOptions, TokenPrices } from './cost'
export { Context } from './context'
export type { CallType } from './context'
export { defineMiddleware, defineRepeatingMiddleware, composeLayers } from './compose'
export type {
  Middleware,
  RepeatingMiddleware,
  ChunkHandler,
  Provider,
  ProviderCall,
  Usage,
  Cost,
  Timing,
  AttemptRecord,
  HttpInfo,
  CallOptions,
} from './types'
export {
  LlmError,
  BadRequestError,
  ContextWindowExceededError,
  ContentPolicyViolationError,
  GuardrailError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  TimeoutError,
  UnprocessableEntityError,
  RateLimitError,
  InternalServerError,
  ServiceUnavailableError,
  APIConnectionError,
  AbortError,
  ValidationError,
  errorForStatus,
  isLlmError,
  isAbortError,
  isRateLimitError,
  isTimeoutError,
  isValidationError,
  isAuthenticationError,
  isNotFoundError,
  isBadRequestError,
  isContextWindowExceededError,
  isContentPolicyViolationError,
  isGuardrailError,
  isAPIConnectionError,
} from './errors'
export type { LlmErrorOptions } from './errors'
export { chatRequestSchema, embeddingRequestSchema, messageSchema } from './schema'
export type {
  ChatRequest,
  ChatResponse,
  ChatChunk,
  EmbeddingRequest,
  EmbeddingResponse,
  Message,
  Tool,
  ToolCall,
  ProviderUsage,
} from './schema'
export { callEventSchema } from './event'
export type { CallEvent, CallStatus, EventOptions } from './event'
export { ChunkAssembler, responseToChunks } from './stream'
export { wrapChunkStream, answerWithChunks, type ChunkStreamWrapper } from './streamed-call'
export { whenProfiled, type LayerTime, type ProfileOptions } from './profile'
export { composeProfiledLayers } from './profiled-compose'
export { mock } from './providers/mock/provider'
export type { MockOptions } from './providers/mock/provider'
export { openai } from './providers/openai/provider'
export type { OpenAIOptions } from './providers/openai/provider'
export { gemini } from './providers/gemini/provider'
export type { GeminiOptions } from './providers/gemini/provider'
export { azure } from './providers/azure/provider'
export type { AzureOptions } from './providers/azure/provider'
export { anthropic } from './providers/anthropic/provider'
export type { AnthropicOptions } from './providers/anthropic/provider'
export { bedrock } from './providers/bedrock/provider'
export type { BedrockOptions } from './providers/bedrock/provider'
export { resolveRoute } from './providers/router'
export type { RedactOptions } from './redact'
export { REDACTED, stripSecretHeaders, stripSecretKeys, stripSecretQuery, stripBearerTokens, isSecretHeader, isSecretKey, redactMessages, redactChunk, redactBody } from './redact'
export { createSecretScrubber, registerSecret, type SecretScrubber } from './secret-scrubber'
export { askForResponseHeaders, responseHeadersOf } from './response-headers'
export type { Sink, DeliveryQueue, DeliveryStats, DeliveryQueueOptions, QueueSpoolOptions } from './delivery/queue'
export { createDeliveryQueue, DeliveryError } from './delivery/queue'
export type { DropInfo, DropReason, FlushOptions, SendResult, SinkStats } from './delivery/queue'
export { CustomLogger } from './litellm/custom-logger'
export type { LoggerKwargs, LoggerMethods, LoggerResponse, ProxyServerRequest } from './litellm/custom-logger'
export { HTTPException } from './litellm/proxy-hooks'
export type { HookCache, HookRequestData, ProxyCallType, ProxyHookMethods, UserApiKeyAuth } from './litellm/proxy-hooks'
// The proxy has its own entry, `llm-onion/proxy` (src/proxy/index.ts): the core never imports it.
export type { ClientServices, HookErrorHandler } from './services'
// Guardrails' detectors and stream window (docs/guardrails.md): for `redact: { detectors }` and your own guardrails.
export { piiDetectors, secretDetectors, keywordDetector, maskText, passesLuhn, passesIbanCheck } from './guardrails/detectors'
export type { Detector, Finding } from './guardrails/detectors'
export { createStreamWindow, windowedChunks, defaultLookahead } from './guardrails/stream-window'
export type { StreamWindow } from './guardrails/stream-window'
// The shared store (docs/shared-state.md): counters, values and sliding windows, in memory or on Redis.
export { memoryStore, type MemoryStoreOptions } from './shared-state/memory-store'
export { redisStore, type RedisStoreOptions, type RedisSharedStore, type RedisStoreStats, type RedisFailureMode } from './shared-state/redis-store'
export type { SharedStore, WindowTotals } from './shared-state/store'
