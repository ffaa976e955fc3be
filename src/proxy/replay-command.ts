/**
 * `llm-onion replay <cassettes>... [--config config.yaml] [--price-as <model>]... [--json]`: what
 * recorded traffic cost, what it costs through another config, and what it would cost on other
 * models. The recordings are read with the cassette reader of `llm-onion/testing`; with `--config`
 * every recorded request is sent again, one at a time, through the client the proxy builds from that
 * config (its models, routing, callbacks and custom prices), without serving HTTP.
 */
import { parseArgs } from 'node:util'
import type { Context } from '../context'
import { createPriceBook } from '../cost'
import { loadPriceData } from '../price-data'
import type { ChatRequest, EmbeddingRequest } from '../schema'
import { readCassettes, type CassetteEntry } from '../testing/cassette-format'
import { loadConfig } from './config'
import { buildReport, formatReport, priceOn, type RerunResult } from './replay-report'
import type { ProxyServer } from './server'

export const replayUsage = `Usage: llm-onion replay <cassettes>... [options]

Prints what recorded traffic cost per model, what it costs re-run through a config, and what its
recorded tokens would cost on other models. <cassettes> are folders or .jsonl files written by
record({ dir }) or llm-onion serve --record <dir>; a day of traffic is <dir>/<YYYY-MM-DD>.*.jsonl.

Options:
  -c, --config <path>      re-run every recorded request through the client this config.yaml
                           builds (its models, routing and callbacks; real providers are called)
      --price-as <model>   also price the recorded tokens on this model (provider/model, or a bare
                           name such as gpt-4o-mini); repeat for more models
      --json               print the report as JSON
  -h, --help               show this help

Prices: @pydantic/genai-prices (offline), and the config's input_cost_per_token /
output_cost_per_token. Docs: docs/testing.md`

/** A wrong argument: the message, then the usage, exit 1. */
export class ReplayUsageError extends Error {
  override name = 'ReplayUsageError'
}

/**
 * Runs the command with `argv` (the arguments after `replay`); resolves with the text to print.
 *
 * @example
 * ```ts
 * console.log(await runReplayCommand(['test/cassettes', '--price-as', 'openai/gpt-4o-mini']))
 * ```
 */
export async function runReplayCommand(argv: string[]): Promise<string> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'price-as': { type: 'string', multiple: true },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return replayUsage
  if (positionals.length === 0) throw new ReplayUsageError('missing the cassettes: llm-onion replay <folder or .jsonl file>...')
  const entries = positionals
    .flatMap((path) => readCassettes(path).map((loaded) => loaded.entry))
    .sort((left, right) => Date.parse(left.recordedAt) - Date.parse(right.recordedAt))
  const config = values.config === undefined ? undefined : await loadConfig(values.config)
  const prices = Object.fromEntries((config?.models ?? []).flatMap((deployment) => (deployment.prices ? [[deployment.model, deployment.prices]] : [])))
  const book = createPriceBook({ prices })
  await loadPriceData()
  const priceAs = values['price-as'] ?? []
  for (const model of priceAs) {
    if (!priceOn(book, model, { inputTokens: 1_000_000, outputTokens: 1_000_000, totalTokens: 2_000_000 })) {
      throw new ReplayUsageError(`--price-as ${model}: no price for this model in @pydantic/genai-prices or the config; name it as provider/model (openai/gpt-4o-mini), or give it input_cost_per_token / output_cost_per_token in the config`)
    }
  }
  const reruns = config ? await rerun(entries, values.config!) : undefined
  const report = buildReport(entries, reruns, { book, priceAs, sources: positionals, config: config?.path })
  return values.json ? JSON.stringify(report, null, 2) : formatReport(report)
}

/** Sends every recorded request again, in recorded order, through the config's client. */
async function rerun(entries: ReadonlyArray<CassetteEntry>, configPath: string): Promise<RerunResult[]> {
  const { buildProxyServer } = await import('./server')
  const proxy: ProxyServer = await buildProxyServer({ config: configPath })
  const results: RerunResult[] = []
  try {
    for (const entry of entries) results.push(await rerunOne(proxy, entry))
  } finally {
    // It never listened: closing the client flushes the config's callbacks and frees the providers.
    await proxy.client.close()
  }
  return results
}

async function rerunOne(proxy: ProxyServer, entry: CassetteEntry): Promise<RerunResult> {
  let ctx: Context | undefined
  const options = { onContext: (context: Context) => void (ctx = context) }
  try {
    if (entry.type === 'embedding') await proxy.client.embed(entry.request as unknown as EmbeddingRequest, options)
    else if (!entry.streaming) await proxy.client.chat(entry.request as unknown as ChatRequest, options)
    else for await (const _chunk of proxy.client.stream(entry.request as unknown as ChatRequest, options)) void _chunk
  } catch (error) {
    return { servedBy: servedBy(ctx), error: error instanceof Error ? error.message.split('\n')[0] : String(error) }
  }
  return { servedBy: servedBy(ctx), cost: ctx?.cost, usage: ctx?.usage }
}

function servedBy(ctx: Context | undefined): string | undefined {
  return ctx?.provider === undefined ? undefined : `${ctx.provider}/${ctx.model}`
}
