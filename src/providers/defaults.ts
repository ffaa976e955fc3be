import type { Provider } from '../types'
import { gemini } from './gemini/provider'
import { mock } from './mock/provider'
import { openai } from './openai/provider'

/**
 * The providers a client has without options: `mock` always; `openai` when `OPENAI_API_KEY` is set
 * (at `OPENAI_BASE_URL` when that is set too); `gemini` when `GEMINI_API_KEY` or `GOOGLE_API_KEY` is set.
 * `environment` is a parameter so tests (and the proxy) can pass their own.
 */
export function defaultProviders(environment: NodeJS.ProcessEnv = process.env): Record<string, Provider> {
  const providers: Record<string, Provider> = { mock: mock() }
  if (environment.OPENAI_API_KEY) {
    providers.openai = openai({ apiKey: environment.OPENAI_API_KEY, baseURL: environment.OPENAI_BASE_URL || undefined })
  }
  const geminiKey = environment.GEMINI_API_KEY || environment.GOOGLE_API_KEY
  if (geminiKey) providers.gemini = gemini({ apiKey: geminiKey })
  return providers
}
