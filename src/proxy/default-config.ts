/**
 * The config `llm-onion serve` runs without `--config`: mock models always, and each real provider
 * whose key is in the environment, in LiteLLM's shape so it goes through the same validation.
 */
import { switchedOn } from '../providers/descriptor'
import { providerDescriptors } from '../providers/descriptors'
import type { Environment } from './config-schema'

/**
 * The embedded default config for `environment`:
 * - `mock/*` (any `mock/<name>` model: deterministic replies and embeddings, no network);
 * - with `OPENAI_API_KEY`: `openai/*`, plus bare `gpt-*`, `o1*`, `o3*`, `o4*` and `text-embedding-*` names;
 * - with `GEMINI_API_KEY` (or `GOOGLE_API_KEY`): `gemini/*`, plus bare `gemini-*` names;
 * - every other provider of docs/providers.md that is on by its variables (`GROQ_API_KEY`, `AZURE_API_KEY`
 *   with `AZURE_API_BASE`, `OLLAMA_API_BASE`, ...): `<provider>/*`.
 *
 * @example
 * ```ts
 * const config = parseConfig(defaultConfig(process.env))
 * ```
 */
export function defaultConfig(environment: Environment = process.env): Record<string, unknown> {
  const models: Array<Record<string, unknown>> = [{ model_name: 'mock/*', litellm_params: { model: 'mock/*' } }]
  if (environment.OPENAI_API_KEY) {
    const openai = (name: string, model: string) => ({
      model_name: name,
      litellm_params: { model, api_key: 'os.environ/OPENAI_API_KEY', ...(environment.OPENAI_BASE_URL ? { api_base: 'os.environ/OPENAI_BASE_URL' } : {}) },
    })
    models.push(openai('openai/*', 'openai/*'))
    for (const prefix of ['gpt-', 'o1', 'o3', 'o4', 'text-embedding-']) models.push(openai(`${prefix}*`, `openai/${prefix}*`))
  }
  const geminiVariable = environment.GEMINI_API_KEY ? 'GEMINI_API_KEY' : environment.GOOGLE_API_KEY ? 'GOOGLE_API_KEY' : undefined
  if (geminiVariable) {
    const key = `os.environ/${geminiVariable}`
    models.push({ model_name: 'gemini/*', litellm_params: { model: 'gemini/*', api_key: key } })
    models.push({ model_name: 'gemini-*', litellm_params: { model: 'gemini/gemini-*', api_key: key } })
  }
  for (const descriptor of providerDescriptors) {
    if (['mock', 'openai', 'gemini'].includes(descriptor.name) || !switchedOn(descriptor, environment)) continue
    const keyVariable = descriptor.keyVariables.find((variable) => environment[variable])
    const baseVariable = descriptor.baseVariables.find((variable) => environment[variable])
    const parameters: Record<string, unknown> = { model: `${descriptor.name}/*` }
    if (keyVariable) parameters.api_key = `os.environ/${keyVariable}`
    if (baseVariable) parameters.api_base = `os.environ/${baseVariable}`
    models.push({ model_name: `${descriptor.name}/*`, litellm_params: parameters })
  }
  return { model_list: models }
}
