/**
 * LiteLLM's `litellm_settings.s3_callback_params`, `aws_sqs_callback_params` and
 * `dynamodb_table_name` in a proxy config: `llm-onion serve` reads them as LiteLLM does (the config's
 * value first, then the environment) and delivers to local stand-ins (s3rver, and the SQS and
 * DynamoDB fakes that check SigV4 with aws4); keys with no effect are said at start, keys that
 * would change the credentials or the encryption stop the start; no secret access key is ever printed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from 'llm-onion/proxy'
import { startDynamodbFake, type DynamodbFake } from '../fakes/dynamodb-fake'
import { startLocalS3, type LocalS3 } from '../fakes/s3rver-store'
import { startSqsFake, type SqsFake } from '../fakes/sqs-fake'
import { eventually, spawnProxy, type SpawnedProxy } from './fixtures/spawn-proxy'

// s3rver checks the access key id only, so the planted secret key is the config's own.
const s3Key = { accessKeyId: 'S3RVER', secretAccessKey: 'plant-s3-callback-secret-61a2' }
const sqsKey = { accessKeyId: 'AKIAEXAMPLEPROXYSQS', secretAccessKey: 'plant-sqs-callback-secret-72b3' }
const dynamodbKey = { accessKeyId: 'AKIAEXAMPLEPROXYDDB', secretAccessKey: 'plant-dynamodb-env-secret-83c4' }
const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/proxy-calls'
const secrets = [s3Key.secretAccessKey, sqsKey.secretAccessKey, dynamodbKey.secretAccessKey]
const models = [{ model_name: 'gpt-test', litellm_params: { model: 'mock/gpt-test' } }]

describe('llm-onion serve with LiteLLM\'s AWS callback settings', () => {
  let directory: string
  let store: LocalS3
  let sqs: SqsFake
  let dynamo: DynamodbFake
  let proxy: SpawnedProxy | undefined
  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'llm-onion-aws-callbacks-'))
    ;[store, sqs, dynamo] = await Promise.all([
      startLocalS3(),
      startSqsFake({ keys: [sqsKey], queueUrls: [queueUrl] }),
      startDynamodbFake({ keys: [dynamodbKey], tables: { 'proxy-calls': 'id' } }),
    ])
  })
  afterAll(async () => {
    await proxy?.stop()
    await Promise.all([store?.close(), sqs?.close(), dynamo?.close()])
    rmSync(directory, { recursive: true, force: true })
  })

  it('writes every call to the bucket, the queue and the table the config names, with the credentials it gives', async () => {
    const file = join(directory, 'config.yaml')
    writeFileSync(
      file,
      [
        'model_list:',
        '  - model_name: gpt-test',
        '    litellm_params:',
        '      model: mock/gpt-test',
        'litellm_settings:',
        '  success_callback: ["s3_v2", "aws_sqs", "dynamodb"]',
        '  s3_callback_params:',
        `    s3_bucket_name: ${store.bucket}`,
        '    s3_region_name: us-east-1',
        `    s3_endpoint_url: ${store.url}`,
        `    s3_aws_access_key_id: ${s3Key.accessKeyId}`,
        '    s3_aws_secret_access_key: os.environ/PROXY_TEST_S3_SECRET',
        '    s3_path: proxy-logs',
        '    s3_flush_interval: 10',
        '  aws_sqs_callback_params:',
        `    sqs_queue_url: ${queueUrl}`,
        '    sqs_region_name: eu-west-1',
        `    sqs_endpoint_url: ${sqs.url}`,
        `    sqs_aws_access_key_id: ${sqsKey.accessKeyId}`,
        `    sqs_aws_secret_access_key: ${sqsKey.secretAccessKey}`,
        '  dynamodb_table_name: os.environ/PROXY_TEST_TABLE',
        '',
      ].join('\n'),
    )
    // The environment's AWS key is DynamoDB's: S3 and SQS know only the keys of the config.
    proxy = await spawnProxy(['--config', file], {
      PROXY_TEST_S3_SECRET: s3Key.secretAccessKey,
      PROXY_TEST_TABLE: 'proxy-calls',
      AWS_ACCESS_KEY_ID: dynamodbKey.accessKeyId,
      AWS_SECRET_ACCESS_KEY: dynamodbKey.secretAccessKey,
      AWS_REGION_NAME: 'eu-west-3',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    })
    const response = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'Where do my logs go?' }], mock_response: 'To AWS.' }),
    })
    expect(response.status).toBe(200)
    const reply = (await response.json()) as { id: string }

    await eventually(() => sqs.messages(queueUrl).length === 1 && dynamo.items('proxy-calls').length === 1)
    const message = JSON.parse(sqs.messages(queueUrl)[0]!) as Record<string, unknown>
    expect(message).toMatchObject({ model: 'gpt-test', status: 'success' })
    expect(dynamo.items('proxy-calls')[0]).toMatchObject({ model: 'gpt-test', status: 'success' })
    let keys: string[] = []
    const deadline = Date.now() + 10_000
    while ((keys = await store.list('proxy-logs/')).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(keys).toHaveLength(1)
    expect(keys[0]).toMatch(/^proxy-logs\/\d{4}-\d{2}-\d{2}\/[^/]+\.jsonl$/)
    expect(JSON.parse((await store.get(keys[0]!)).trim())).toMatchObject({ model: 'gpt-test', status: 'success', response: { id: reply.id } })
    // Signed for the region each setting names.
    expect(String(sqs.requests[0]!.headers.authorization)).toContain('/eu-west-1/sqs/aws4_request')
    expect(String(dynamo.requests[0]!.headers.authorization)).toContain('/eu-west-3/dynamodb/aws4_request')

    await proxy.stop()
    const output = proxy.output()
    expect(output).toContain('litellm_settings.s3_callback_params.s3_flush_interval is not read by llm-onion and is ignored: objects are written as the delivery queue sends its batches')
    expect(output).not.toMatch(/dynamodb_table_name|s3_callback_params is not read|aws_sqs_callback_params is not read/)
    const sent = [...sqs.requests, ...dynamo.requests].map((request) => JSON.stringify(request.headers) + request.text).join('\n')
    for (const secret of secrets) {
      expect(output).not.toContain(secret)
      expect(sent).not.toContain(secret)
    }
  })
})

describe('LiteLLM\'s AWS callback settings at start', () => {
  /** The message parseConfig fails with (the config carries the planted secrets). */
  function startError(settings: Record<string, unknown>): string {
    try {
      parseConfig({ model_list: models, litellm_settings: settings })
    } catch (error) {
      return (error as Error).message
    }
    throw new Error('the config was accepted')
  }

  it('refuses AWS profiles and roles, naming the key and what to write instead, without printing the secret key', () => {
    const message = startError({ s3_callback_params: { s3_bucket_name: 'logs', s3_aws_secret_access_key: s3Key.secretAccessKey, s3_aws_role_name: 'arn:aws:iam::123456789012:role/logs' } })
    expect(message).toContain('litellm_settings.s3_callback_params.s3_aws_role_name: is not supported')
    expect(message).toContain('give s3_aws_access_key_id and s3_aws_secret_access_key')
    expect(message).not.toContain(s3Key.secretAccessKey)
  })

  it("refuses encryption it would not apply: S3 server-side encryption headers and SQS's application-level encryption", () => {
    expect(startError({ s3_callback_params: { s3_server_side_encryption: 'aws:kms', s3_sse_kms_key_id: 'key-1' } })).toMatch(
      /s3_callback_params\.s3_server_side_encryption: is not supported.*put-bucket-encryption/,
    )
    const message = startError({ aws_sqs_callback_params: { sqs_aws_use_application_level_encryption: true, sqs_app_encryption_key_b64: 'plant-sqs-app-key-94d5', sqs_aws_secret_access_key: sqsKey.secretAccessKey } })
    expect(message).toMatch(/aws_sqs_callback_params\.sqs_aws_use_application_level_encryption: is not supported.*server-side encryption/)
    expect(message).not.toContain('plant-sqs-app-key-94d5')
    expect(message).not.toContain(sqsKey.secretAccessKey)
  })

  it('names a params key that is not a URL or a reference to an unset variable, under the native names too', () => {
    expect(startError({ aws_sqs_callback_params: { sqs_queue_url: 'proxy-calls' } })).toContain('litellm_settings.aws_sqs_callback_params.sqs_queue_url: must be a URL')
    expect(() => parseConfig({ models: [{ name: 'gpt-test', params: { model: 'mock/gpt-test' } }], settings: { dynamodb_table_name: 'os.environ/UNSET_TABLE_NAME_5e6f' } })).toThrow(
      /settings\.dynamodb_table_name: environment variable UNSET_TABLE_NAME_5e6f is not set/,
    )
  })

  it('reads virtual-hosted style as LiteLLM does and warns, with the reason, about keys with no effect', () => {
    const config = parseConfig({
      model_list: models,
      litellm_settings: { s3_callback_params: { s3_bucket_name: 'logs', s3_endpoint_url: 'https://s3.example.com', s3_use_virtual_hosted_style: true, s3_use_team_prefix: true, s3_made_up: 1 } },
    })
    expect(config.integrationOptions).toEqual({ s3: { bucket: 'logs', baseUrl: 'https://s3.example.com', pathStyle: false } })
    expect(config.warnings).toEqual([
      'litellm_settings.s3_callback_params.s3_use_team_prefix is not read by llm-onion and is ignored: every object goes under s3_path, whatever the team',
      'litellm_settings.s3_callback_params.s3_made_up is not read by llm-onion and is ignored',
    ])
  })
})
