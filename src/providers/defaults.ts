import type { Provider } from '../types'
import { switchedOn } from './descriptor'
import { providerDescriptors } from './descriptors'

/**
 * The providers a client has without options: `mock` always; every other provider of
 * docs/providers.md when its key variable is set (`OPENAI_API_KEY`, `GROQ_API_KEY`, ...; keyless local
 * servers such as Ollama when their base variable is set), at its base variable's URL when that is set.
 * `environment` is a parameter so tests (and the proxy) can pass their own.
 *
 * @example
 * ```ts
 * const client = createClient({ providers: defaultProviders({ ...process.env, GROQ_API_KEY: 'gsk-...' }) })
 * ```
 */
export function defaultProviders(environment: NodeJS.ProcessEnv = process.env): Record<string, Provider> {
  const providers: Record<string, Provider> = {}
  for (const descriptor of providerDescriptors) {
    if (switchedOn(descriptor, environment)) providers[descriptor.name] = descriptor.create({ environment })
  }
  return providers
}
