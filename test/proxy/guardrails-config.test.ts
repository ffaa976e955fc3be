import { describe, expect, it } from 'vitest'
import { guardrailLayers } from '../../src/proxy/guardrails-config'
import { parseConfig } from '../../src/proxy/config'

const models = [{ model_name: 'echo', litellm_params: { model: 'mock/echo' } }]

describe('the guardrails section', () => {
  it('is read from the config without a warning', () => {
    const config = parseConfig({ model_list: models, guardrails: [{ guardrail_name: 'g', litellm_params: { guardrail: 'hide-secrets', mode: 'pre_call' } }] })
    expect(config.guardrails).toHaveLength(1)
    expect(config.warnings).toEqual([])
    expect(guardrailLayers(config.guardrails).map((layer) => layer.name)).toEqual(['hideSecrets'])
  })

  it('fails at start on a guardrail type it does not run, naming the entry and the known types', () => {
    expect(() => guardrailLayers([{ guardrail_name: 'x', litellm_params: { guardrail: 'lakera_v2', mode: 'pre_call' } }])).toThrow(/guardrails\[0\]\.litellm_params\.guardrail is not a guardrail llm-onion runs; use one of .*presidio/)
  })

  it('fails at start on a bad mode and on missing keywords', () => {
    expect(() => guardrailLayers([{ guardrail_name: 'x', litellm_params: { guardrail: 'presidio', mode: 'sometimes' } }])).toThrow(/guardrails\[0\]\.litellm_params\.mode\[0\] must be pre_call, during_call or post_call/)
    expect(() => guardrailLayers([{ guardrail_name: 'x', litellm_params: { guardrail: 'banned_keywords' } }])).toThrow(/guardrails\[0\]\.litellm_params \(x\): Invalid bannedKeywords\(\) options: keywords: is required/)
  })

  it('maps presidio entities to pii() entities and refuses one it cannot detect', () => {
    expect(() => guardrailLayers([{ guardrail_name: 'p', litellm_params: { guardrail: 'presidio', pii_entities_config: { US_SSN: 'MASK' } } }])).toThrow(/pii_entities_config\.US_SSN is not detected here/)
  })
})
