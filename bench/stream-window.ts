/**
 * The stream window's CPU per chunk: what a guardrail on a stream adds for each chunk it holds back
 * and releases (pii() and hideSecrets() detectors together, a 48-character look-ahead), on chunks of
 * a few characters as providers send them. Budget: under 5 µs per chunk. No timers are involved, so
 * the window adds no delay beyond the characters it holds.
 *
 * `npx tsx bench/stream-window.ts` prints ns per chunk; `npm run bench -- stream-window` records it.
 */
import os from 'node:os'
import { piiDetectors, secretDetectors } from '../src/guardrails/detectors'
import { createStreamWindow } from '../src/guardrails/stream-window'
import { emitResult, median, quick, round } from './stats'

const log = (line: string) => process.stderr.write(`${line}\n`)
const reply =
  'Sure. Here is the summary of the meeting: the team agreed to ship the release on Friday, ' +
  'to write to ada.lovelace@example.com about the invoice, and to rotate the key that was pasted in the chat. ' +
  'Nothing else needs attention this week; the numbers 12, 345 and 6789 are order counts, not card numbers. '
// Words with their leading space, as OpenAI-style providers stream them (about 5 characters each).
const chunks = reply.repeat(20).split(/(?<=\S)(?=\s)/)
const detectors = [...secretDetectors(), ...piiDetectors()]

function run(makeWindow: () => { push(text: string): string; flush(): string }): number {
  const window = makeWindow()
  let released = 0
  for (const chunk of chunks) released += window.push(chunk).length
  return released + window.flush().length
}

const passThrough = () => ({ push: (text: string) => text, flush: () => '' })
const guarded = () => createStreamWindow(detectors)

/** CPU time (user + system) of `work`, in ns: unlike wall time, it leaves out time the process waited for a core. */
function cpuNs(work: () => void): number {
  const before = process.cpuUsage()
  work()
  const spent = process.cpuUsage(before)
  return (spent.user + spent.system) * 1000
}

const samples: { window: number[]; baseline: number[] } = { window: [], baseline: [] }
const rounds = quick ? 10 : 60
const perSample = 20
for (let warmup = 0; warmup < 50; warmup++) run(guarded)
for (let round = 0; round < rounds; round++) {
  samples.baseline.push(cpuNs(() => { for (let index = 0; index < perSample; index++) run(passThrough) }) / (perSample * chunks.length))
  samples.window.push(cpuNs(() => { for (let index = 0; index < perSample; index++) run(guarded) }) / (perSample * chunks.length))
}
const result = {
  chunks: chunks.length,
  averageChunkCharacters: round(reply.length * 20 / chunks.length),
  detectors: detectors.length,
  windowNsPerChunk: round(median(samples.window)),
  baselineNsPerChunk: round(median(samples.baseline)),
  measuredOn: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, load average ${os.loadavg().map((value) => value.toFixed(1)).join(', ')}`,
}
log(`stream window (pii + hideSecrets detectors, 48-character look-ahead): ${result.windowNsPerChunk} ns of CPU per chunk of ~${result.averageChunkCharacters} characters (pass-through ${result.baselineNsPerChunk} ns); budget 5,000 ns`)
emitResult(result)
