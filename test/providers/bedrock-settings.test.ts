/**
 * Where the bedrock/ provider gets its region, credentials and endpoint (as LiteLLM reads them: the
 * options, LiteLLM's variables, then the AWS SDK's own chain), when it is on by default, and what
 * its calls cost by the price data; against the local Bedrock fake, which checks every signature.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { bedrock, createClient, isNotFoundError } from '../../src/index'
import { defaultProviders } from '../../src/providers/defaults'
import { startBedrockFake, type BedrockFake } from '../../src/testing/bedrock-server'
import { failureOf, fakePerTest } from './provider-test-kit'

const messages = [{ role: 'user' as const, content: 'Say hello' }]
const model = 'bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0'
const providerOn = (fake: BedrockFake, options: Parameters<typeof bedrock>[0] = {}) =>
  bedrock({ endpoint: fake.url, region: 'us-east-1', ...fake.credentials, ...options }, {})
const { fake, client } = fakePerTest(
  () => startBedrockFake(),
  (started) => createClient({ providers: { bedrock: providerOn(started) } }),
)

describe('bedrock() options: region, credentials and endpoint as LiteLLM reads them', () => {
  const chatOn = async (provider: ReturnType<typeof bedrock>) => {
    const own = createClient({ providers: { bedrock: provider } })
    try {
      return await own.chat({ model, messages })
    } finally {
      await own.close()
    }
  }

  it('takes the region from AWS_REGION_NAME before AWS_REGION, and the keys from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY', async () => {
    await chatOn(
      bedrock({}, {
        AWS_REGION_NAME: 'eu-central-1',
        AWS_REGION: 'us-east-2',
        AWS_ACCESS_KEY_ID: fake.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: fake.credentials.secretAccessKey,
        AWS_BEDROCK_RUNTIME_ENDPOINT: fake.url,
      }),
    )
    expect(fake.requests[0]!.auth).toEqual({ scheme: 'sigv4', accessKeyId: fake.credentials.accessKeyId, region: 'eu-central-1', service: 'bedrock' })
  })

  it('sends a session token as x-amz-security-token, signed', async () => {
    const withToken = await startBedrockFake({ credentials: { accessKeyId: 'ASIAFAKETEMPORARY001', secretAccessKey: 'fake-temporary-secret-00000000000', sessionToken: 'fake-session-token-0000000000' } })
    try {
      await chatOn(bedrock({ endpoint: withToken.url, region: 'us-east-1', ...withToken.credentials }, {}))
      expect(withToken.requests[0]!.headers['x-amz-security-token']).toBe('fake-session-token-0000000000')
      expect(withToken.requests[0]!.auth.scheme).toBe('sigv4')
    } finally {
      await withToken.close()
    }
  })

  it('finds credentials and the region through the AWS SDK’s chain: a profile in the shared credentials and config files', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'llm-onion-bedrock-'))
    try {
      await writeFile(join(directory, 'credentials'), `[bedrock-test]\naws_access_key_id = ${fake.credentials.accessKeyId}\naws_secret_access_key = ${fake.credentials.secretAccessKey}\n`)
      await writeFile(join(directory, 'config'), '[profile bedrock-test]\nregion = ap-southeast-2\n')
      vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(directory, 'credentials'))
      vi.stubEnv('AWS_CONFIG_FILE', join(directory, 'config'))
      await chatOn(bedrock({ endpoint: fake.url }, { AWS_PROFILE_NAME: 'bedrock-test' }))
      expect(fake.requests[0]!.auth).toEqual({ scheme: 'sigv4', accessKeyId: fake.credentials.accessKeyId, region: 'ap-southeast-2', service: 'bedrock' })
    } finally {
      vi.unstubAllEnvs()
      await rm(directory, { recursive: true, force: true })
    }
  })

  it('sends a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) as a bearer token instead of a signature', async () => {
    const withKey = await startBedrockFake({ bearerToken: 'fake-bedrock-api-key-000000000' })
    try {
      await chatOn(bedrock({ endpoint: withKey.url, region: 'us-east-1' }, { AWS_BEARER_TOKEN_BEDROCK: 'fake-bedrock-api-key-000000000' }))
      expect(withKey.requests[0]!.headers.authorization).toBe('Bearer fake-bedrock-api-key-000000000')
      expect(withKey.requests[0]!.auth).toEqual({ scheme: 'bearer' })
    } finally {
      await withKey.close()
    }
  })

  it('is on by default when AWS credentials are in the environment, and otherwise says what to set', async () => {
    const environment = {
      AWS_ACCESS_KEY_ID: fake.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: fake.credentials.secretAccessKey,
      AWS_REGION_NAME: 'us-west-1',
      AWS_BEDROCK_RUNTIME_ENDPOINT: fake.url,
    }
    const providers = defaultProviders(environment)
    expect(Object.keys(providers)).toContain('bedrock')
    expect(providers.bedrock!.secrets).toContain(fake.credentials.secretAccessKey)
    await chatOn(providers.bedrock!)
    expect(fake.requests[0]!.auth).toMatchObject({ scheme: 'sigv4', region: 'us-west-1' })
    const without = createClient({ providers: defaultProviders({}) })
    const error = await failureOf(without.chat({ model, messages }))
    await without.close()
    expect(isNotFoundError(error)).toBe(true)
    expect(error.message).toMatch(/provider "bedrock" is not configured.*AWS_ACCESS_KEY_ID/)
  })

  it('rejects half an access key and a malformed region, naming the field', () => {
    expect(() => bedrock({ accessKeyId: 'AKIA-only-half' }, {})).toThrow(/aws_secret_access_key \(AWS_SECRET_ACCESS_KEY\)/)
    expect(() => bedrock({ region: 'US East' }, {})).toThrow(/bedrock\(\) options: region/)
    expect(() => bedrock({}, { AWS_REGION: 'not a region' })).toThrow(/not an AWS region/)
  })
})

describe('bedrock provider: costs from the price data', () => {
  const million = { inputTokens: 1_000_000, outputTokens: 1_000_000 }
  const costOf = async (name: string) => {
    fake.enqueue({ kind: 'chat', usage: million })
    let seen: { cost: unknown; reason: string | undefined } | undefined
    client.use(async (ctx, next) => {
      await next()
      seen = { cost: ctx.cost, reason: ctx.costUnknownReason }
    })
    await client.chat({ model: name, messages })
    return seen!
  }

  it.each([
    // The price data's AWS Bedrock prices per million tokens, input + output; a cross-region profile costs what its model does.
    ['bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0', 3 + 15],
    ['bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0', 0.8 + 4],
    ['bedrock/converse/amazon.nova-pro-v1:0', 0.8 + 3.2],
  ])('prices %s at $%d for a million tokens in and out', async (name, dollars) => {
    const { cost } = await costOf(name)
    expect((cost as { total: number }).total).toBeCloseTo(dollars, 6)
  })

  it('says it does not know a model the price data lacks, as for any unknown model', async () => {
    const { cost, reason } = await costOf('bedrock/my-imported-model-v1:0')
    expect(cost).toBeUndefined()
    expect(reason).toMatch(/No price data for model "my-imported-model-v1:0" of provider "aws"/)
  })
})

describe('bedrock provider: the example of docs/providers.md', () => {
  it('calls a Claude model on Bedrock with a region and the AWS credentials', async () => {
    const credentials = fake.credentials
    const endpoint = fake.url
    const bedrockClient = createClient({ providers: { bedrock: bedrock({ region: 'us-east-1', endpoint, ...credentials }) } })
    const reply = await bedrockClient.chat({ model: 'bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0', messages: [{ role: 'user', content: 'Hi' }] })
    await bedrockClient.close()
    expect(reply.choices[0]!.message.content).toBe('Hello from the fake Bedrock server.')
    expect(fake.requests[0]!.auth).toMatchObject({ scheme: 'sigv4', region: 'us-east-1' })
  })
})
