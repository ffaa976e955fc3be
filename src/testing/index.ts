// Helpers for testing your own layers and integrations: the mock provider, an event recorder, local
// fake servers that speak the OpenAI, Gemini, Anthropic and Bedrock HTTP APIs, and a receiver that records what exporters send.
// None of them depends on a test framework.
export { mock } from '../providers/mock/provider'
export type { MockOptions } from '../providers/mock/provider'
export { createRecorder } from './recorder'
export type { Recorder } from './recorder'
export { startOpenAIFake } from './openai-server'
export type { OpenAIFake, OpenAIFakeReply, OpenAIChatScript, FakeRequest } from './openai-server'
export { startGeminiFake } from './gemini-server'
export type { GeminiFake, GeminiFakeReply, GeminiChatScript, GeminiFakeRequest } from './gemini-server'
export { startAnthropicFake } from './anthropic-server'
export type { AnthropicFake, AnthropicFakeReply, AnthropicMessageScript, AnthropicFakeRequest } from './anthropic-server'
export { startBedrockFake } from './bedrock-server'
export type { BedrockFake, BedrockFakeReply, BedrockChatScript, BedrockFakeRequest, BedrockFakeOptions } from './bedrock-server'
export { startReceiver } from './receiver'
export type { Receiver, ReceivedRequest } from './receiver'
