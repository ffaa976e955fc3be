/**
 * What one large payload costs the exporters (issue 19, "lean events"): the guide's four success
 * destinations (Langfuse, Helicone, PostHog, Datadog) in one process, every call carrying a picture
 * of about 264 KB as a base64 data URL, with the event's content cut to `redact.maxLength` (the
 * default, 100,000 characters) and kept whole (`maxLength: false`). CPU of the whole process per
 * call, the call and its delivery to the receiver (a process of its own on core 1) included, beside
 * the same calls with no exporter; and the bytes the receiver got per call. The settings alternate
 * over several rounds; medians.
 *
 * `node --import tsx bench/large-content.ts` prints progress and, last, `BENCH_RESULT {json}`.
 */
import { cpus, loadavg } from 'node:os'
import { createClient } from '../src/index'
import { datadog } from '../middleware/datadog'
import { helicone } from '../middleware/helicone'
import { langfuse } from '../middleware/langfuse'
import { posthog } from '../middleware/posthog'
import { integrationEnvironment } from './integrations'
import { startChild, tsNode } from './processes'
import { emitResult, median, quick } from './stats'

const calls = quick ? 60 : 300
const rounds = quick ? 1 : 3
/** About 264 KB of base64, the size of a small photo. */
const picture = `data:image/png;base64,${'iVBORw0KGgo'.repeat(24_000)}`
const request = {
  model: 'mock/echo',
  messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'What is in this picture?' }, { type: 'image_url' as const, image_url: { url: picture } }] }],
  mock_response: 'A cat on a windowsill.',
}
const settings = { cut: {}, whole: { maxLength: false as const }, bare: {} }
/** `bare`: the same calls with no exporter, what the call itself costs (the mock provider reads the picture too). */
type Setting = keyof typeof settings

async function measure(setting: Setting, receiverUrl: string): Promise<{ cpuMicrosPerCall: number; bytesPerCall: number }> {
  const client = createClient({ redact: settings[setting], onHookError: () => {} })
  if (setting !== 'bare') client.use(langfuse(), helicone(), posthog(), datadog())
  // Warm: every exporter's first batch, the SDKs and the price data loaded.
  for (let index = 0; index < 20; index++) await client.chat(request)
  await client.flush()
  const bytesBefore = await receivedBytes(receiverUrl)
  const before = process.cpuUsage()
  for (let index = 0; index < calls; index += 10) await Promise.all(Array.from({ length: 10 }, () => client.chat(request)))
  await client.flush()
  const used = process.cpuUsage(before)
  const bytes = (await receivedBytes(receiverUrl)) - bytesBefore
  const dropped = Object.values(client.services.queue.stats().dropped).reduce((sum, count) => sum + (count ?? 0), 0)
  await client.close()
  if (dropped > 0) throw new Error(`${setting}: ${dropped} events dropped; the measure counts delivered calls only`)
  return { cpuMicrosPerCall: (used.user + used.system) / calls, bytesPerCall: bytes / calls }
}

/** Request body bytes the receiver has read so far (gzip as sent). */
async function receivedBytes(receiverUrl: string): Promise<number> {
  return Number(await (await fetch(`${receiverUrl}/__bytes`)).text())
}

async function main(): Promise<void> {
  const [command, args] = tsNode(new URL('./fake-sink.ts', import.meta.url).pathname)
  const receiver = await startChild(command, args, { core: 1 })
  process.on('exit', () => receiver.process.kill('SIGKILL'))
  Object.assign(process.env, integrationEnvironment(receiver.url).env)
  const load = loadavg().map((value) => Math.round(value * 100) / 100)
  const samples: Record<Setting, Array<{ cpuMicrosPerCall: number; bytesPerCall: number }>> = { cut: [], whole: [], bare: [] }
  try {
    for (let index = 0; index < rounds; index++) {
      for (const setting of index % 2 === 0 ? (['bare', 'cut', 'whole'] as const) : (['whole', 'cut', 'bare'] as const)) {
        process.stderr.write(`round ${index + 1}/${rounds}: ${setting} ...\n`)
        samples[setting].push(await measure(setting, receiver.url))
      }
    }
  } finally {
    await receiver.stop()
  }
  const summary = (setting: Setting) => ({
    cpuMicrosPerCall: Math.round(median(samples[setting].map((sample) => sample.cpuMicrosPerCall))),
    bytesPerCall: Math.round(median(samples[setting].map((sample) => sample.bytesPerCall))),
  })
  const result = { date: new Date().toISOString(), measuredOn: `${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores`, load, calls, rounds, pictureBytes: picture.length, bare: summary('bare'), cut: summary('cut'), whole: summary('whole') }
  process.stderr.write(`bare: ${result.bare.cpuMicrosPerCall} µs; cut: ${result.cut.cpuMicrosPerCall} µs, ${result.cut.bytesPerCall} bytes per call; whole: ${result.whole.cpuMicrosPerCall} µs, ${result.whole.bytesPerCall} bytes per call\n`)
  emitResult(result)
}

await main()
