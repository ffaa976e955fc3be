/**
 * The provider SDKs, loaded on a provider's first call, not when `llm-onion` is imported: `openai`,
 * `@anthropic-ai/sdk` and `@google/generative-ai` take a noticeable share of a cold start (docs/benchmarks.md), and an
 * application that only calls mock models, or only one provider, should not pay for them.
 *
 * A module is loaded once per process; `loaded…()` answers without waiting once it has, so a warm
 * call takes no extra async step. Error mapping asks `loaded…()` too: an error can only be an
 * instance of an SDK's class if that SDK was loaded.
 */
type OpenAIModule = typeof import('openai')
type GeminiModule = typeof import('@google/generative-ai')
type AnthropicModule = typeof import('@anthropic-ai/sdk')
/** AWS's Bedrock runtime client, with the HTTP/1.1 handler it is given (src/providers/bedrock/provider.ts says why). */
export interface BedrockModule {
  runtime: typeof import('@aws-sdk/client-bedrock-runtime')
  http: typeof import('@smithy/node-http-handler')
}

let openaiLoading: Promise<OpenAIModule> | undefined
let openaiModule: OpenAIModule | undefined
let geminiLoading: Promise<GeminiModule> | undefined
let geminiModule: GeminiModule | undefined
let anthropicLoading: Promise<AnthropicModule> | undefined
let anthropicModule: AnthropicModule | undefined
let bedrockLoading: Promise<BedrockModule> | undefined
let bedrockModule: BedrockModule | undefined

/**
 * Starts loading the `openai` SDK (once per process) and resolves with it.
 *
 * @example
 * ```ts
 * const { OpenAI } = await loadOpenAI()
 * ```
 */
export function loadOpenAI(): Promise<OpenAIModule> {
  openaiLoading ??= import('openai').then(
    (loaded) => (openaiModule = loaded),
    (error: unknown) => {
      openaiLoading = undefined
      throw unloadable('openai', error)
    },
  )
  return openaiLoading
}

/**
 * The `openai` SDK if it has finished loading, else undefined.
 *
 * @example
 * ```ts
 * const sdk = loadedOpenAI()
 * if (sdk && error instanceof sdk.APIError) console.log(error.status)
 * ```
 */
export function loadedOpenAI(): OpenAIModule | undefined {
  return openaiModule
}

/**
 * Starts loading `@google/generative-ai` (once per process) and resolves with it.
 *
 * @example
 * ```ts
 * const { GoogleGenerativeAI } = await loadGemini()
 * ```
 */
export function loadGemini(): Promise<GeminiModule> {
  geminiLoading ??= import('@google/generative-ai').then(
    (loaded) => (geminiModule = loaded),
    (error: unknown) => {
      geminiLoading = undefined
      throw unloadable('@google/generative-ai', error)
    },
  )
  return geminiLoading
}

/**
 * `@google/generative-ai` if it has finished loading, else undefined.
 *
 * @example
 * ```ts
 * const sdk = loadedGemini()
 * if (sdk && error instanceof sdk.GoogleGenerativeAIFetchError) console.log(error.status)
 * ```
 */
export function loadedGemini(): GeminiModule | undefined {
  return geminiModule
}

/**
 * Starts loading `@anthropic-ai/sdk` (once per process) and resolves with it.
 *
 * @example
 * ```ts
 * const { Anthropic } = await loadAnthropic()
 * ```
 */
export function loadAnthropic(): Promise<AnthropicModule> {
  anthropicLoading ??= import('@anthropic-ai/sdk').then(
    (loaded) => (anthropicModule = loaded),
    (error: unknown) => {
      anthropicLoading = undefined
      throw unloadable('@anthropic-ai/sdk', error)
    },
  )
  return anthropicLoading
}

/**
 * `@anthropic-ai/sdk` if it has finished loading, else undefined.
 *
 * @example
 * ```ts
 * const sdk = loadedAnthropic()
 * if (sdk && error instanceof sdk.APIError) console.log(error.status)
 * ```
 */
export function loadedAnthropic(): AnthropicModule | undefined {
  return anthropicModule
}

/**
 * Starts loading `@aws-sdk/client-bedrock-runtime` and `@smithy/node-http-handler` (once per process)
 * and resolves with both.
 *
 * @example
 * ```ts
 * const { runtime } = await loadBedrock()
 * const client = new runtime.BedrockRuntimeClient({ region: 'us-east-1' })
 * ```
 */
export function loadBedrock(): Promise<BedrockModule> {
  bedrockLoading ??= Promise.all([import('@aws-sdk/client-bedrock-runtime'), import('@smithy/node-http-handler')]).then(
    ([runtime, http]) => (bedrockModule = { runtime, http }),
    (error: unknown) => {
      bedrockLoading = undefined
      throw unloadable('@aws-sdk/client-bedrock-runtime', error)
    },
  )
  return bedrockLoading
}

/**
 * The Bedrock runtime client's modules if they have finished loading, else undefined.
 *
 * @example
 * ```ts
 * const sdk = loadedBedrock()
 * if (sdk && error instanceof sdk.runtime.ThrottlingException) console.log('slow down')
 * ```
 */
export function loadedBedrock(): BedrockModule | undefined {
  return bedrockModule
}

function unloadable(name: string, error: unknown): Error {
  return new Error(
    `The ${name} package could not be loaded (${error instanceof Error ? error.message : String(error)}). It ships with llm-onion; reinstall the package (npm install llm-onion) if node_modules is incomplete.`,
    { cause: error },
  )
}
