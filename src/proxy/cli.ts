#!/usr/bin/env node
/**
 * The `llm-onion` command: `llm-onion serve [--config path] [--port 4000] [--host 127.0.0.1] [--logs]`
 * starts the OpenAI-compatible proxy and stops it gracefully on SIGTERM or SIGINT.
 */
import { parseArgs } from 'node:util'
import { isValidationError } from '../errors'
import { ConfigError } from './config'
import type { ProxyAddress, ProxyServer } from './server'

const usage = `Usage: llm-onion serve [options]

Starts an OpenAI-compatible proxy: every request runs through llm-onion's layers.

Options:
  -c, --config <path>        config.yaml (LiteLLM's format); default: mock models, plus
                             openai / gemini when OPENAI_API_KEY / GEMINI_API_KEY are set
  -p, --port <number>        port to listen on (default: $PORT, else 4000; 0 picks a free one)
      --host <address>       address to listen on (default 127.0.0.1; 0.0.0.0 in a container)
      --logs                 print one line per call
      --grace-period <sec>   on SIGTERM, how long requests in flight may finish (default 30)
  -h, --help                 show this help

Point any OpenAI client at http://<host>:<port>/v1. Docs: docs/proxy.md`

/** Parses `argv`, starts the proxy and wires the signals. */
async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      logs: { type: 'boolean' },
      'grace-period': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return void console.log(usage)
  if (positionals[0] !== 'serve' || positionals.length > 1) {
    throw new UsageError(positionals.length === 0 ? 'missing the command: llm-onion serve' : `unknown command "${positionals.join(' ')}"; the command is serve`)
  }
  const port = integerOption(values.port ?? process.env.PORT ?? '4000', '--port', 65_535)
  const gracePeriodMs = integerOption(values['grace-period'] ?? '30', '--grace-period', 86_400) * 1000
  // Loaded only to serve: --help and argument errors answer without loading every integration.
  const { buildProxyServer } = await import('./server')
  const proxy = await buildProxyServer({ config: values.config, logs: values.logs ?? false, gracePeriodMs })
  let address: ProxyAddress
  try {
    address = await proxy.listen({ port, host: values.host ?? '127.0.0.1' })
  } catch (error) {
    await proxy.client.close()
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw new UsageError(`port ${port} is in use; pass another with --port (0 picks a free one)`)
    throw error
  }
  console.log(summary(proxy, address))
  stopOnSignals(proxy, gracePeriodMs)
}

/** What the proxy serves, printed once at start; the first line is what scripts parse for the port. */
function summary(proxy: ProxyServer, address: ProxyAddress): string {
  const { config } = proxy
  const lines = [`llm-onion proxy listening on ${address.url}`, `  OpenAI base URL: ${address.url}/v1`]
  lines.push(`  config: ${config.path ?? 'embedded default (mock models, plus providers whose keys are set)'}`)
  lines.push('  models:')
  for (const deployment of config.models) lines.push(`    ${deployment.modelName} -> ${deployment.model}${deployment.apiBase ? ` at ${deployment.apiBase}` : ''}`)
  lines.push(`  layers: ${proxy.layers.join(' > ')}`)
  lines.push(
    config.masterKey
      ? `  auth: Authorization: Bearer <master key> required (key from ${config.masterKeySource})`
      : '  auth: off (anyone who can reach the port can call it; set general_settings.master_key)',
  )
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
    console.log(`llm-onion: ${signal}: no new connections; letting requests in flight finish (up to ${gracePeriodMs / 1000} s), then flushing exporters`)
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

function integerOption(text: string, name: string, maximum: number): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 0 || value > maximum) throw new UsageError(`${name} must be a whole number from 0 to ${maximum}; got "${text}"`)
  return value
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((error: unknown) => {
  // Errors raised for a wrong config or callback module carry the fix in their message; a stack would bury it.
  if (error instanceof ConfigError || error instanceof TypeError || isValidationError(error)) console.error(`llm-onion: ${(error as Error).message}`)
  else if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) console.error(`llm-onion: ${(error as Error).message}\n\n${usage}`)
  else console.error(`llm-onion: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  process.exit(1)
})
