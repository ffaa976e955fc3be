/**
 * Model names to providers: `provider/model` picks the provider; a bare name goes through the
 * aliases, then the known prefixes (`gpt-` → openai, `gemini-` → gemini, ...).
 */
import { NotFoundError } from '../errors'
import type { Provider } from '../types'
import { descriptorForPrefix, providerDescriptors } from './descriptors'

/** A model resolved to the provider that serves it. */
export interface Route {
  provider: Provider
  /** The model name as the provider knows it. */
  model: string
}

const knownPrefixes: Array<[RegExp, string]> = providerDescriptors.flatMap((descriptor) =>
  descriptor.bareModels ? [[descriptor.bareModels, descriptor.name] as [RegExp, string]] : [],
)

/** The provider a bare model name belongs to by its prefix, if any. */
export function providerForBareModel(model: string): string | undefined {
  for (const [pattern, provider] of knownPrefixes) if (pattern.test(model)) return provider
  return undefined
}

/**
 * Resolves `model` against `providers`, following `aliases` (alias → full model name) first.
 * Throws {@link NotFoundError} naming the configured providers when none serves it.
 */
export function resolveRoute(
  requested: string,
  providers: Readonly<Record<string, Provider>>,
  aliases: Readonly<Record<string, string>>,
): Route {
  let model = requested
  for (let hops = 0; aliases[model] !== undefined && hops < 10; hops++) model = aliases[model]!
  const slash = model.indexOf('/')
  if (slash > 0) {
    const name = model.slice(0, slash)
    // A LiteLLM alias prefix (`ollama_chat`, `custom_openai`) reaches the provider under its own name.
    const provider = providers[name] ?? providers[descriptorForPrefix(name)?.name ?? '']
    if (provider) return { provider, model: model.slice(slash + 1) }
    if (!providerForBareModel(model)) throw unknownProvider(requested, name, providers)
  }
  const name = providerForBareModel(model)
  const provider = name ? providers[name] : undefined
  if (provider) return { provider, model }
  throw unknownProvider(requested, name, providers)
}

function unknownProvider(requested: string, name: string | undefined, providers: Readonly<Record<string, Provider>>): NotFoundError {
  const configured = Object.keys(providers)
  const list = configured.length > 0 ? configured.join(', ') : 'none'
  const descriptor = name === undefined ? undefined : descriptorForPrefix(name)
  const hint =
    name === 'openai'
      ? ' Set OPENAI_API_KEY or pass providers: { openai: openai({ apiKey }) } to createClient.'
      : name === 'gemini'
        ? ' Set GEMINI_API_KEY or pass providers: { gemini: gemini({ apiKey }) } to createClient.'
        : descriptor?.switchOnHint
          ? ` ${descriptor.switchOnHint}`
          : descriptor && descriptor.keyVariables.length > 0
            ? ` Set ${descriptor.keyVariables[0]}${descriptor.defaultBaseURL ? '' : ` and ${descriptor.baseVariables[0]}`} (docs/providers.md).`
            : descriptor && descriptor.baseVariables.length > 0
              ? ` Set ${descriptor.baseVariables[0]} (docs/providers.md).`
              : ' Prefix the model with a configured provider ("mock/my-model"), or add an alias.'
  return new NotFoundError(
    `No provider serves model "${requested}"${name ? ` (provider "${name}" is not configured)` : ''}. Configured providers: ${list}.${hint}`,
    { model: requested, provider: name, retryable: false },
  )
}
