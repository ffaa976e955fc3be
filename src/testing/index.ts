// Helpers for testing your own layers: the mock provider and recorders.
export { mock } from '../providers/mock'
