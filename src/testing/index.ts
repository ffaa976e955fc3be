// Helpers for testing your own layers and integrations: the mock provider, an event recorder, local
// fake servers that speak the OpenAI and Gemini HTTP APIs, and a receiver that records what exporters send.
// None of them depends on a test framework.
export { mock } from '../providers/mock/provider'
export type { MockOptions } from '../providers/mock/provider'
export { createRecorder } from './recorder'
export type { Recorder } from './recorder'
export { startOpenAIFake } from './openai-server'
export type { OpenAIFake, OpenAIFakeReply, OpenAIChatScript, FakeRequest } from './openai-server'
export { startGeminiFake } from './gemini-server'
export type { GeminiFake, GeminiFakeReply, GeminiChatScript, GeminiFakeRequest } from './gemini-server'
export { startReceiver } from './receiver'
export type { Receiver, ReceivedRequest } from './receiver'
// Cassettes: record real calls once, replay them offline (docs/testing.md).
export { record } from './record'
export type { RecordOptions } from './record'
export { replay, CassetteMissError } from './replay'
export type { ReplayOptions, ReplayProvider, ReplaySleep } from './replay'
export { replaySchedule } from './replay-schedule'
export type { ReplaySpeed, ReplayStep } from './replay-schedule'
export { readCassettes, cassetteFileName } from './cassette-format'
export type { CassetteEntry, LoadedEntry, RecordedChunk, RecordedError } from './cassette-format'
export type { MatchOption } from './cassette-match'
