/**
 * The provider descriptors and docs/providers.md agree: every provider has a row naming its prefixes,
 * its key and base variables and its default base URL, and every prefix is one the proxy config accepts.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseConfig } from 'llm-onion/proxy'
import { providerDescriptors } from '../../src/providers/descriptors'

const page = readFileSync(new URL('../../docs/providers.md', import.meta.url), 'utf8')
/** The section with one row per provider. */
const section = page.slice(page.indexOf('## Every provider'), page.indexOf('\n## ', page.indexOf('## Every provider') + 1))

describe('provider descriptors', () => {
  it.each(providerDescriptors.map((descriptor) => [descriptor.name, descriptor] as const))('lists %s in docs/providers.md with its prefixes, variables and default base URL', (name, descriptor) => {
    const row = section.split('\n').find((line) => line.startsWith(`| \`${name}\` |`))
    expect(row, `docs/providers.md has no row for ${name}`).toBeDefined()
    for (const prefix of descriptor.prefixes) expect(row).toContain(`\`${prefix}/\``)
    for (const variable of [...descriptor.keyVariables, ...descriptor.baseVariables]) expect(row).toContain(`\`${variable}\``)
    if (descriptor.defaultBaseURL) expect(row).toContain(`\`${descriptor.defaultBaseURL}\``)
    expect(row).toContain(`\`${descriptor.otelName}\``)
  })

  it('accepts every prefix in a proxy config', () => {
    const prefixes = providerDescriptors.flatMap((descriptor) => descriptor.prefixes)
    const config = parseConfig({ model_list: prefixes.map((prefix) => ({ model_name: prefix, litellm_params: { model: `${prefix}/some-model`, api_base: 'http://127.0.0.1:9/v1' } })) })
    expect(config.models.map((deployment) => deployment.model)).toEqual(prefixes.map((prefix) => `${prefix}/some-model`))
  })
})
