/**
 * A LiteLLM config's Bedrock deployments served by `llm-onion serve`, driven by the official `openai`
 * SDK: `model: bedrock/...` with the endpoint in `aws_bedrock_runtime_endpoint` or `api_base` (the
 * local Bedrock fake, which checks every request's SigV4 signature with `aws4`), the credentials and
 * region in `litellm_params`. Chat, streams, tools and errors reach the client in OpenAI's shape; the
 * call is priced from the price data (the `--logs` line says the cost); no AWS secret appears in a
 * reply, an error or the proxy's logs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBedrockFake, type BedrockFake } from '../../src/testing/bedrock-server'
import { spawnProxy, type SpawnedProxy } from './fixtures/spawn-proxy'

/** Planted secrets: each must stay inside the proxy (and reach the fake only as a signature or a session token header). */
const planted = {
  secretAccessKey: 'plant-bedrock-secret-access-key-4f1c9a7e',
  wrongSecret: 'plant-bedrock-wrong-secret-8d2b6e0f',
  masterKey: 'sk-plant-bedrock-master-3a9d',
}

let directory: string
let fake: BedrockFake
let proxy: SpawnedProxy
let openai: OpenAI

beforeAll(async () => {
  fake = await startBedrockFake({ credentials: { accessKeyId: 'AKIAPROXYBEDROCK0001', secretAccessKey: planted.secretAccessKey } })
  directory = await mkdtemp(join(tmpdir(), 'llm-onion-bedrock-serve-'))
  const config = join(directory, 'config.yaml')
  await writeFile(
    config,
    `model_list:
  - model_name: claude-sonnet
    litellm_params:
      model: bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0
      aws_bedrock_runtime_endpoint: ${fake.url}
      aws_access_key_id: AKIAPROXYBEDROCK0001
      aws_secret_access_key: os.environ/BEDROCK_TEST_SECRET
      aws_region_name: eu-west-1
  - model_name: llama
    litellm_params:
      model: bedrock/converse/us.meta.llama3-2-11b-instruct-v1:0
      api_base: ${fake.url}
      aws_access_key_id: AKIAPROXYBEDROCK0001
      aws_secret_access_key: os.environ/BEDROCK_TEST_SECRET
      aws_region_name: us-east-1
  - model_name: wrong-secret
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      api_base: ${fake.url}
      aws_access_key_id: AKIAPROXYBEDROCK0001
      aws_secret_access_key: ${planted.wrongSecret}
      aws_region_name: us-east-1

general_settings:
  master_key: os.environ/BEDROCK_TEST_MASTER_KEY
`,
  )
  // No AWS credentials from the machine: what reaches the fake is what the config says.
  proxy = await spawnProxy(['--config', config, '--logs'], {
    BEDROCK_TEST_SECRET: planted.secretAccessKey,
    BEDROCK_TEST_MASTER_KEY: planted.masterKey,
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_PROFILE: '',
    AWS_BEARER_TOKEN_BEDROCK: '',
  })
  openai = new OpenAI({ apiKey: planted.masterKey, baseURL: `${proxy.url}/v1`, maxRetries: 0 })
}, 60_000)

afterAll(async () => {
  await proxy?.stop()
  await fake?.close()
  if (directory) await rm(directory, { recursive: true, force: true })
})

describe('llm-onion serve with bedrock/ deployments', () => {
  it('answers a chat completion from Bedrock, signed with the config’s key for its region, with usage and a price', async () => {
    fake.enqueue({ kind: 'chat', text: 'Hello from Bedrock', usage: { inputTokens: 1_000_000, outputTokens: 1_000_000 } })
    const reply = await openai.chat.completions.create({ model: 'claude-sonnet', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], max_tokens: 64 })
    expect(reply.choices[0]!.message.content).toBe('Hello from Bedrock')
    expect(reply.usage).toMatchObject({ prompt_tokens: 1_000_000, completion_tokens: 1_000_000 })
    const received = fake.requests.at(-1)!
    expect(received.modelId).toBe('anthropic.claude-3-5-sonnet-20240620-v1:0')
    expect(received.auth).toEqual({ scheme: 'sigv4', accessKeyId: 'AKIAPROXYBEDROCK0001', region: 'eu-west-1', service: 'bedrock' })
    expect(received.body).toMatchObject({ system: [{ text: 'Be brief.' }], inferenceConfig: { maxTokens: 64 } })
    // The --logs line: priced from the price data (Claude 3.5 Sonnet on Bedrock: $3 in, $15 out per million tokens).
    expect(await logLine(/success chat claude-sonnet \(bedrock\) .*1000000 in \+ 1000000 out tokens, \$18\.0000/)).toBeTruthy()
  })

  it('streams through the proxy, with LiteLLM’s bedrock/converse/ form and api_base', async () => {
    fake.enqueue({ kind: 'chat', text: 'one two three' })
    const stream = await openai.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'Count' }], stream: true, stream_options: { include_usage: true } })
    const pieces: string[] = []
    let finish: string | null | undefined
    let usage: unknown
    for await (const chunk of stream) {
      pieces.push(chunk.choices[0]?.delta?.content ?? '')
      finish ??= chunk.choices[0]?.finish_reason
      if (chunk.usage) usage = chunk.usage
    }
    expect(pieces.join('')).toBe('one two three')
    expect(finish).toBe('stop')
    expect(usage).toMatchObject({ completion_tokens: 3 })
    const received = fake.requests.at(-1)!
    expect(received.action).toBe('converse-stream')
    expect(received.modelId).toBe('us.meta.llama3-2-11b-instruct-v1:0')
    expect(received.auth).toMatchObject({ scheme: 'sigv4', region: 'us-east-1' })
  })

  it('passes tools to Converse and Bedrock’s tool use back as tool_calls', async () => {
    fake.enqueue({ kind: 'chat', toolUses: [{ name: 'get_weather', input: { city: 'Paris' }, toolUseId: 'tooluse_proxy' }] })
    const reply = await openai.chat.completions.create({
      model: 'claude-sonnet',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    })
    expect(reply.choices[0]!.finish_reason).toBe('tool_calls')
    expect(reply.choices[0]!.message.tool_calls).toEqual([{ id: 'tooluse_proxy', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }])
    expect((fake.requests.at(-1)!.body.toolConfig as { tools: unknown[] }).tools).toHaveLength(1)
  })

  it('answers a Bedrock ThrottlingException with 429, which the openai SDK raises as RateLimitError', async () => {
    fake.enqueue({ kind: 'error', status: 429, type: 'ThrottlingException', message: 'Too many requests, please wait before trying again.' })
    const error = await openai.chat.completions.create({ model: 'claude-sonnet', messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect((error as Error).message).toContain('Too many requests')
  })

  it('answers a request the fake refuses for its signature (wrong secret) with an authentication error that holds no secret', async () => {
    const error = await openai.chat.completions.create({ model: 'wrong-secret', messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught)
    expect(fake.requests.at(-1)!.auth).toEqual({ scheme: 'refused', reason: 'InvalidSignatureException' })
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(403)
    expect((error as Error).message).toContain('InvalidSignatureException')
    expect(await logLine(/failure chat wrong-secret \(bedrock\) .*AuthenticationError: bedrock answered 403 InvalidSignatureException/)).toBeTruthy()
  })

  it('never lets an AWS secret or the master key out: not in replies, errors, events or the proxy’s logs (planted secrets)', async () => {
    fake.enqueue({ kind: 'error', status: 400, type: 'ValidationException', message: `Malformed input echoing ${planted.secretAccessKey}` })
    const echoed = await openai.chat.completions.create({ model: 'claude-sonnet', messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught)
    expect(echoed).toBeInstanceOf(OpenAI.BadRequestError)
    const seen = [JSON.stringify((echoed as InstanceType<typeof OpenAI.APIError>).error), (echoed as Error).message, proxy.output()]
    for (const text of seen) for (const secret of Object.values(planted)) expect(text).not.toContain(secret)
    // The secret never travelled to the fake either: only its signature did.
    for (const request of fake.requests) expect(JSON.stringify(request.headers)).not.toContain(planted.secretAccessKey)
  })
})

/** Waits for the line of the proxy's output (its --logs lines) that matches `pattern`. */
async function logLine(pattern: RegExp, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms
  for (;;) {
    const line = proxy.output().split('\n').find((candidate) => pattern.test(candidate))
    if (line) return line
    if (Date.now() > deadline) throw new Error(`no line matching ${pattern} in the proxy's output:\n${proxy.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
