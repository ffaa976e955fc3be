// observability() against local stand-ins: each fake receiver records what its service would get.
// Runs offline: `npx tsx examples/observability.ts`.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from 'llm-onion'
import { observability } from 'llm-onion/middleware'
import { startReceiver, type Receiver } from 'llm-onion/testing'

const names = ['sentry', 'langfuse', 'logfire', 'traceloop', 'datadog', 'helicone', 'posthog', 'lunary', 'athina', 'loki', 'slack'] as const
const receivers = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await startReceiver()] as const))) as Record<
  (typeof names)[number],
  Receiver
>
const folder = await mkdtemp(join(tmpdir(), 'llm-onion-example-'))

// The variables LiteLLM users already have; each *_URL / *_HOST / *_BASE points at a self-hosted
// service, here at the local stand-ins.
process.env.SENTRY_DSN = `http://sentry-public-key@127.0.0.1:${receivers.sentry.port}/42`
process.env.LANGFUSE_PUBLIC_KEY = 'pk-lf-example'
process.env.LANGFUSE_SECRET_KEY = 'sk-lf-example'
process.env.LANGFUSE_HOST = receivers.langfuse.url
process.env.LOGFIRE_TOKEN = 'pylf_v1_us_example'
process.env.LOGFIRE_BASE_URL = receivers.logfire.url
process.env.TRACELOOP_API_KEY = 'tl-example'
process.env.TRACELOOP_BASE_URL = receivers.traceloop.url
process.env.DD_API_KEY = 'dd-example'
process.env.DD_BASE_URL = receivers.datadog.url
process.env.HELICONE_API_KEY = 'sk-helicone-example'
process.env.HELICONE_API_BASE = receivers.helicone.url
process.env.POSTHOG_API_KEY = 'phc_example'
process.env.POSTHOG_API_URL = receivers.posthog.url
process.env.LUNARY_PUBLIC_KEY = 'lunary-example'
process.env.LUNARY_API_URL = receivers.lunary.url
process.env.ATHINA_API_KEY = 'athina-example'
process.env.ATHINA_BASE_URL = receivers.athina.url
process.env.LOKI_URL = receivers.loki.url
process.env.SLACK_WEBHOOK_URL = `${receivers.slack.url}/services/T000/B000/example`
process.env.LLM_ONION_LOG_FILE = join(folder, 'llm-onion.jsonl')

const layer = observability()
const client = createClient().use(layer)
console.log('enabled:', layer.enabled.join(', '))

const messages = [{ role: 'user' as const, content: 'What is the capital of France?' }]
await client.chat({ model: 'mock/demo', messages, mock_response: 'Paris.', user: 'user-42' })
for await (const chunk of client.stream({ model: 'mock/demo', messages, mock_response: 'Paris, streamed.' })) void chunk
try {
  await client.chat({ model: 'mock/demo', messages, mock_error: { status: 429, message: 'Rate limit reached' } })
} catch (error) {
  console.log('the failure reached the caller:', (error as Error).name)
}
await client.flush()

for (const name of names) console.log(describe(name, receivers[name]))
const lines = (await readFile(process.env.LLM_ONION_LOG_FILE, 'utf8')).trimEnd().split('\n')
console.log(`jsonLog    ${lines.length} lines in ${process.env.LLM_ONION_LOG_FILE}, statuses: ${lines.map((line) => JSON.parse(line).status).join(', ')}`)

await client.close()
await Promise.all(Object.values(receivers).map((receiver) => receiver.close()))
await rm(folder, { recursive: true, force: true })

/** One line per receiver: requests, path, content type and encoding, which credential header, what the body holds. */
function describe(name: string, receiver: Receiver): string {
  const first = receiver.requests[0]
  if (!first) return `${name.padEnd(10)} nothing received`
  const authorization = first.headers.authorization
  const credential = authorization
    ? `authorization ${authorization.includes(' ') ? authorization.split(' ')[0] : '<token>'}`
    : (['athina-api-key', 'dd-api-key', 'x-sentry-auth'].find((name) => first.headers[name]) ?? 'none in headers')
  const encoding = first.headers['content-encoding'] ? ` ${first.headers['content-encoding']}` : ''
  const type = String(first.headers['content-type'])
  const body =
    first.json !== undefined
      ? `fields ${Object.keys(first.json as object).join(', ')}`
      : type.includes('protobuf')
        ? `${first.body.length} bytes of OTLP protobuf`
        : `${first.text.split('\n').length} lines of envelope`
  const plural = receiver.requests.length === 1 ? '' : 's'
  const paths = [...new Set(receiver.requests.map((request) => request.path))].join(' and ')
  return `${name.padEnd(10)} ${receiver.requests.length} request${plural} to ${paths} (${type}${encoding}, ${credential}), ${body}`
}
