/**
 * LiteLLM's Bedrock keys in a proxy config: the `aws_*` credentials, region and endpoint are read (not
 * warned about as ignored) and reach the provider, `os.environ/` references included; the role
 * assumption keys llm-onion does not implement are refused with what to write instead, and a wrong
 * value is named by its key path.
 */
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from 'llm-onion/proxy'
import { buildProviders } from '../../src/proxy/providers'

const bedrockEntry = (parameters: Record<string, unknown>) => ({
  model_list: [{ model_name: 'claude', litellm_params: { model: 'bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0', ...parameters } }],
})

describe('a proxy config with bedrock/ deployments', () => {
  it('reads aws_* keys (os.environ/ included) without warnings and gives them to the provider, one provider per distinct set', () => {
    const config = parseConfig(
      {
        model_list: [
          {
            model_name: 'claude',
            litellm_params: {
              model: 'bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0',
              aws_access_key_id: 'os.environ/TEST_AWS_KEY_ID',
              aws_secret_access_key: 'os.environ/TEST_AWS_SECRET',
              aws_session_token: 'os.environ/TEST_AWS_TOKEN',
              aws_region_name: 'eu-west-1',
              aws_bedrock_runtime_endpoint: 'http://127.0.0.1:9',
            },
          },
          { model_name: 'llama', litellm_params: { model: 'bedrock/us.meta.llama3-2-11b-instruct-v1:0', aws_region_name: 'us-east-1', aws_profile_name: 'team' } },
        ],
      },
      { environment: { TEST_AWS_KEY_ID: 'AKIACONFIGKEY0000001', TEST_AWS_SECRET: 'config-secret-0123456789', TEST_AWS_TOKEN: 'config-token-0123456789' } },
    )
    expect(config.warnings).toEqual([])
    expect(config.models[0]!.providerParameters).toEqual({
      aws_access_key_id: 'AKIACONFIGKEY0000001',
      aws_secret_access_key: 'config-secret-0123456789',
      aws_session_token: 'config-token-0123456789',
      aws_region_name: 'eu-west-1',
      aws_bedrock_runtime_endpoint: 'http://127.0.0.1:9',
    })
    const { providers, targets } = buildProviders(config.models)
    expect(Object.keys(providers)).toEqual(['bedrock', 'bedrock-2'])
    expect(providers.bedrock!.apiBase).toBe('http://127.0.0.1:9')
    expect(providers.bedrock!.secrets).toEqual(['AKIACONFIGKEY0000001', 'config-secret-0123456789', 'config-token-0123456789'])
    expect(providers['bedrock-2']!.apiBase).toBe('https://bedrock-runtime.us-east-1.amazonaws.com')
    expect(targets.get(config.models[1]!)).toEqual({ providerKey: 'bedrock-2', providerModel: 'us.meta.llama3-2-11b-instruct-v1:0' })
  })

  it.each(['aws_role_name', 'aws_web_identity_token', 'aws_session_name', 'aws_sts_endpoint', 'aws_external_id'])('refuses %s, which llm-onion does not implement, saying to use a profile', (key) => {
    expect(() => parseConfig(bedrockEntry({ [key]: 'something' }), { environment: {} })).toThrow(
      new RegExp(`model_list\\[0\\]\\.litellm_params\\.${key}.*aws_profile_name`),
    )
  })

  it('names a malformed aws_region_name and half an access key by their key paths', () => {
    expect(() => parseConfig(bedrockEntry({ aws_region_name: 'EU West' }), { environment: {} })).toThrow(/model_list\[0\]\.litellm_params\.aws_region_name/)
    const halfKey = parseConfig(bedrockEntry({ aws_access_key_id: 'AKIAHALFKEY000000001' }), { environment: {} })
    let error: unknown
    try {
      buildProviders(halfKey.models)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).message).toMatch(/aws_secret_access_key/)
    expect((error as { issues: Array<{ path: string }> }).issues[0]!.path).toBe('model_list[0].litellm_params.aws_secret_access_key')
  })
})
