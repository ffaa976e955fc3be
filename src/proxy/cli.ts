#!/usr/bin/env node
/**
 * The `llm-onion` command: `llm-onion serve [--config path] [--port 4000] [--host 127.0.0.1] [--logs]
 * [--workers N]` starts the OpenAI-compatible proxy and stops it gracefully on SIGTERM or SIGINT;
 * `llm-onion replay <cassettes>` prices recorded traffic (src/proxy/replay-command.ts).
 */
import cluster from 'node:cluster'
import { mkdirSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { isValidationError } from '../errors'
import { createProfileReport } from '../profile-report'
import { stripSecretQuery } from '../redact'
import { ConfigError } from './config'
import type { ProxyAddress, ProxyServer, ProxyServerOptions } from './server'

const usage = `Usage: llm-onion serve [options]

Starts an OpenAI-compatible proxy: every request runs through llm-onion's layers.

Options:
  -c, --config <path>        config.yaml (LiteLLM's format); default: mock models, plus
                             openai / gemini when OPENAI_API_KEY / GEMINI_API_KEY are set
  -p, --port <number>        port to listen on (default: $PORT, else 4000; 0 picks a free one)
      --host <address>       address to listen on (default 127.0.0.1; 0.0.0.0 in a container)
      --logs                 print one line per call
      --grace-period <sec>   on SIGTERM, how long requests in flight may finish (default 30)
      --allowed-origins <list>
                             comma-separated browser origins allowed besides local ones
                             (* for any); general_settings.allowed_origins
      --allowed-hosts <list> comma-separated Host names a proxy without master key serves
                             besides local ones (* for any); general_settings.allowed_hosts
      --max-connections <n>  client connections held at once (default 4096)
      --spool <dir>          keep undelivered events on disk there, sent again after a
                             crash or restart; general_settings.spool_dir
      --delivery-worker      map, encode and send the callbacks' events in a worker
                             thread instead of the thread serving requests (the default
                             when the machine has more cores than --workers)
      --no-delivery-worker   keep the callbacks' work on the thread serving requests
      --record <dir>         write every call to cassettes there (docs/testing.md), for
                             replay() and llm-onion replay
      --workers <n>          run n worker processes on the port (default 1); also
                             --num_workers, LiteLLM's name. Share counts between them
                             with Redis (REDIS_URL): docs/shared-state.md
      --profile [seconds]    time each layer on every call and print the slowest layers
                             every <seconds> (default 10); docs/profile.md
  -h, --help                 show this help

Point any OpenAI client at http://<host>:<port>/v1. Docs: docs/proxy.md

       llm-onion replay <cassettes>... [--config config.yaml] [--price-as <model>]... [--json]
prices recorded traffic; llm-onion replay --help says more.`

/** Parses `argv`, starts the proxy and wires the signals. */
async function main(commandLine: string[]): Promise<void> {
  const { argv, profileSeconds } = takeProfileFlag(commandLine)
  if (argv[0] === 'replay') {
    const { runReplayCommand } = await import('./replay-command')
    return void console.log(await runReplayCommand(argv.slice(1)))
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      logs: { type: 'boolean' },
      'grace-period': { type: 'string' },
      'allowed-origins': { type: 'string' },
      'allowed-hosts': { type: 'string' },
      'max-connections': { type: 'string' },
      spool: { type: 'string' },
      'delivery-worker': { type: 'boolean' },
      'no-delivery-worker': { type: 'boolean' },
      record: { type: 'string' },
      workers: { type: 'string' },
      num_workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return void console.log(usage)
  if (positionals[0] !== 'serve' || positionals.length > 1) {
    throw new UsageError(positionals.length === 0 ? 'missing the command: llm-onion serve' : `unknown command "${positionals.join(' ')}"; the commands are serve and replay`)
  }
  const port = integerOption(values.port ?? process.env.PORT ?? '4000', '--port', 65_535)
  const gracePeriodMs = integerOption(values['grace-period'] ?? '30', '--grace-period', 86_400) * 1000
  if (values.workers !== undefined && values.num_workers !== undefined) throw new UsageError('give --workers or --num_workers (the same setting), not both')
  const workers = Math.max(1, integerOption(values.workers ?? values.num_workers ?? '1', values.workers === undefined ? '--num_workers' : '--workers', 256))
  if (values['delivery-worker'] && values['no-delivery-worker']) throw new UsageError('give --delivery-worker or --no-delivery-worker, not both')
  if (workers > 1 && cluster.isPrimary) {
    const { runPrimary } = await import('./workers')
    return runPrimary(workers)
  }
  // Loaded only to serve: --help and argument errors answer without loading every integration.
  const { buildProxyServer } = await import('./server')
  // The recorder is loaded only when asked for, like the server itself.
  if (values.record !== undefined) createFolder(values.record, '--record')
  const middleware = values.record === undefined ? [] : [(await import('../testing/record')).record({ dir: values.record })]
  const report = profileSeconds === undefined ? undefined : createProfileReport()
  // Off the request thread when a core is left for it (docs/delivery-queue.md, "Delivery worker").
  const deliveryWorker = values['delivery-worker'] ?? (!values['no-delivery-worker'] && availableParallelism() > workers)
  // A worker of `serve --workers` serves the metrics of every worker, merged by the primary.
  const workerMetrics = cluster.isWorker ? (await import('./worker-metrics')).createWorkerMetrics() : undefined
  const proxy = await buildProxyServer({ config: values.config, logs: values.logs ?? false, gracePeriodMs, middleware, ...httpOptions(values), ...(values.spool === undefined ? {} : { spool: values.spool }), deliveryWorker, ...(report ? { profile: { onProfile: report.add } } : {}), ...(workerMetrics ? { gatherMetrics: workerMetrics.gather } : {}) })
  workerMetrics?.answerWith(proxy.metrics)
  let address: ProxyAddress
  try {
    address = await proxy.listen({ port, host: values.host ?? '127.0.0.1' })
  } catch (error) {
    await proxy.client.close()
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw new UsageError(`port ${port} is in use; pass another with --port (0 picks a free one)`)
    throw error
  }
  const recording = values.record === undefined ? undefined : resolve(values.record)
  if (cluster.isWorker) process.send!({ type: 'llm-onion:listening', url: address.url, summary: summary(proxy, address, deliveryWorker, recording) })
  else console.log(summary(proxy, address, deliveryWorker, recording))
  if (report) {
    console.log(`  profile: the slowest layers every ${profileSeconds} s`)
    // unref: the report never keeps a stopping proxy alive.
    setInterval(() => {
      const text = report.take()
      if (text) console.log(text)
    }, profileSeconds! * 1000).unref()
  }
  stopOnSignals(proxy, gracePeriodMs)
}

/**
 * `--profile [seconds]` and `--profile=seconds`, taken out of the arguments: parseArgs has no
 * option with an optional value. The seconds default to 10.
 */
function takeProfileFlag(argv: string[]): { argv: string[]; profileSeconds?: number } {
  const rest: string[] = []
  let profileSeconds: number | undefined
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!
    if (argument === '--profile') {
      const following = argv[index + 1]
      if (following !== undefined && /^\d/.test(following)) {
        profileSeconds = integerOption(following, '--profile', 86_400)
        index++
      } else profileSeconds = 10
    } else if (argument.startsWith('--profile=')) profileSeconds = integerOption(argument.slice('--profile='.length), '--profile', 86_400)
    else rest.push(argument)
  }
  if (profileSeconds === 0) throw new UsageError('--profile must be a whole number of seconds from 1 to 86400')
  return { argv: rest, profileSeconds }
}

/** What the proxy serves, printed once at start; the first line is what scripts parse for the port. */
function summary(proxy: ProxyServer, address: ProxyAddress, deliveryWorker: boolean, recording?: string): string {
  const { config } = proxy
  const lines = [`llm-onion proxy listening on ${address.url}`, `  OpenAI base URL: ${address.url}/v1`]
  lines.push(`  config: ${config.path ?? 'embedded default (mock models, plus providers whose keys are set)'}`)
  lines.push('  models:')
  // A base URL's credential query parameters (`?key=`) stay out of the output.
  for (const deployment of config.models) lines.push(`    ${deployment.modelName} -> ${deployment.model}${deployment.apiBase ? ` at ${stripSecretQuery(deployment.apiBase)}` : ''}`)
  lines.push(`  layers: ${proxy.layers.join(' > ')}`)
  lines.push(deliveryWorker ? "  callbacks' events: mapped and sent from a worker thread (--no-delivery-worker: this thread)" : "  callbacks' events: mapped and sent from the thread serving requests")
  if (recording) lines.push(`  recording every call to ${recording} (docs/testing.md)`)
  const redis = config.sharedState?.redis
  lines.push(
    proxy.store.kind === 'redis'
      ? `  shared state: Redis at ${(proxy.store as { address?: string }).address ?? 'the configured address'}${config.sharedState?.source ? ` (from ${config.sharedState.source})` : ''}, ${redis?.onUnavailable ?? 'fail-open'}`
      : `  shared state: memory of this process (set REDIS_URL to share counts between workers and replicas)`,
  )
  if (config.routing && (config.routing.strategy !== 'simple-shuffle' || config.routing.allowedFails !== undefined)) {
    const cooldowns = config.routing.allowedFails === undefined || config.routing.disableCooldowns ? 'no cooldowns' : `cooldown ${config.routing.cooldownTimeMs / 1000} s after more than ${config.routing.allowedFails} failure(s)`
    lines.push(`  routing: ${config.routing.strategy}, ${cooldowns}`)
  }
  lines.push(
    config.masterKey
      ? `  auth: Authorization: Bearer <master key> required (key from ${config.masterKeySource})`
      : '  auth: off (anyone who can reach the port can call it; set general_settings.master_key); only local Host names and browser origins are served, plus general_settings.allowed_hosts / allowed_origins',
  )
  if (proxy.keys) lines.push(`  keys: ${proxy.keys}`)
  for (const warning of config.warnings) lines.push(`  warning: ${warning}`)
  return lines.join('\n')
}

function stopOnSignals(proxy: ProxyServer, gracePeriodMs: number): void {
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) {
      console.error(`llm-onion: ${signal} again, exiting without waiting`)
      process.exit(1)
    }
    stopping = true
    console.log(`llm-onion: ${signal}: new requests get 503; letting requests in flight finish (up to ${gracePeriodMs / 1000} s), then flushing exporters`)
    const droppedBefore = droppedBySink(proxy)
    proxy.close().then(
      () => {
        const lost = droppedSince(droppedBefore, proxy)
        if (lost.length === 0) {
          console.log('llm-onion: stopped')
          process.exit(0)
        }
        // Non-zero so an orchestrator (or a deploy script) sees that events were lost.
        const total = lost.reduce((sum, [, count]) => sum + count, 0)
        console.error(`llm-onion: stopped; ${total} event(s) dropped on shutdown: ${lost.map(([sink, count]) => `${sink} ${count}`).join(', ')}`)
        process.exit(1)
      },
      (error: unknown) => {
        console.error(`llm-onion: shutdown failed: ${(error as Error).message}`)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // A worker of `serve --workers`: the primary asks it to stop; a signal that reached it as well
  // (Ctrl-C signals the whole process group) has started the same shutdown already.
  process.on('message', (message: { type?: string; signal?: string }) => {
    if (message?.type === 'llm-onion:shutdown' && !stopping) stop(message.signal ?? 'SIGTERM')
  })
  // The primary is gone (killed): nothing routes connections here any more; drain, flush and exit.
  if (cluster.isWorker) process.on('disconnect', () => stopping || stop('the primary process ended'))
}

/** The HTTP options given as flags; each wins over its general_settings key. */
function httpOptions(values: { 'allowed-origins'?: string; 'allowed-hosts'?: string; 'max-connections'?: string }): Pick<ProxyServerOptions, 'allowedOrigins' | 'allowedHosts' | 'maxConnections'> {
  const list = (text: string) => text.split(',').map((item) => item.trim()).filter((item) => item !== '')
  return {
    ...(values['allowed-origins'] === undefined ? {} : { allowedOrigins: list(values['allowed-origins']) }),
    ...(values['allowed-hosts'] === undefined ? {} : { allowedHosts: list(values['allowed-hosts']) }),
    ...(values['max-connections'] === undefined ? {} : { maxConnections: Math.max(1, integerOption(values['max-connections'], '--max-connections', 1_000_000)) }),
  }
}

/** Items each sink dropped so far, by any reason. */
function droppedBySink(proxy: ProxyServer): Map<string, number> {
  const counts = new Map<string, number>()
  for (const [sink, stats] of Object.entries(proxy.client.services.queue.stats().sinks)) {
    counts.set(sink, Object.values(stats.dropped).reduce((sum: number, count) => sum + (count ?? 0), 0))
  }
  return counts
}

/** The sinks that dropped items since `before`, with how many. */
function droppedSince(before: Map<string, number>, proxy: ProxyServer): Array<[string, number]> {
  return [...droppedBySink(proxy)].map(([sink, count]): [string, number] => [sink, count - (before.get(sink) ?? 0)]).filter(([, count]) => count > 0)
}

/** Creates `folder` now, so a folder that cannot be written fails at start rather than dropping what is written there later. */
function createFolder(folder: string, flag: string): void {
  try {
    mkdirSync(folder, { recursive: true })
  } catch (error) {
    throw new UsageError(`${flag} ${folder}: the folder cannot be created (${(error as Error).message}); pass a folder this process may write`)
  }
}

function integerOption(text: string, name: string, maximum: number): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 0 || value > maximum) throw new UsageError(`${name} must be a whole number from 0 to ${maximum}; got "${text}"`)
  return value
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((error: unknown) => {
  // Errors raised for a wrong config or callback module carry the fix in their message; a stack would bury it.
  if (error instanceof ConfigError || error instanceof TypeError || isValidationError(error) || (error as Error | undefined)?.name === 'CassetteError') console.error(`llm-onion: ${(error as Error).message}`)
  else if (error instanceof Error && error.name === 'ReplayUsageError') console.error(`llm-onion replay: ${error.message}\n\nRun llm-onion replay --help for the options.`)
  else if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) console.error(`llm-onion: ${(error as Error).message}\n\n${usage}`)
  else console.error(`llm-onion: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  process.exit(1)
})
