// Helpers for testing your own layers: the mock provider, an event recorder, a recording HTTP receiver.
export { mock } from '../providers/mock'
export type { MockOptions } from '../providers/mock'
export { createRecorder } from './recorder'
export type { Recorder } from './recorder'
