/**
 * A what-if contestant of the proxy benchmark: the real llm-onion proxy (`createProxyServer`, the
 * same HTTP handling, parsing, validation, context, metrics layer and serialisation as
 * `llm-onion serve`), with one layer of ours in front of the router that answers non-streamed chat
 * calls through the prototype provider over `undici` `request` (bench/lean-openai-provider.ts)
 * instead of the `openai` SDK over `fetch`. It shows what the proxy would reach with a leaner
 * provider path; it is not how the proxy runs.
 *
 * `node --import tsx bench/onion-lean-proxy.ts --upstream http://127.0.0.1:9000` prints `LISTENING <url>`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { buildProxyServer } from '../src/proxy/server'
import type { ChatRequest } from '../src/schema'
import type { Middleware } from '../src/types'
import { usageFromProvider } from '../src/usage'
import { leanOpenAI } from './lean-openai-provider'

const { values } = parseArgs({ options: { upstream: { type: 'string' }, port: { type: 'string', default: '0' } } })
if (!values.upstream) throw new Error('onion-lean-proxy: pass --upstream http://127.0.0.1:<port> (the mock upstream).')
const folder = mkdtempSync(join(tmpdir(), 'llm-onion-lean-'))
const config = join(folder, 'config.yaml')
writeFileSync(config, ['model_list:', '  - model_name: gpt-4o-mini', '    litellm_params:', '      model: openai/gpt-4o-mini', `      api_base: ${values.upstream}/v1`, '      api_key: sk-bench', ''].join('\n'))

const provider = leanOpenAI({ baseURL: `${values.upstream}/v1`, apiKey: 'sk-bench' })
const leanUpstream: Middleware = async function leanUpstream(ctx, next) {
  if (ctx.streaming || ctx.type !== 'chat') return next()
  ctx.provider = 'openai'
  ctx.model = 'gpt-4o-mini'
  const response = await provider.chat({ ...(ctx.request as ChatRequest), model: 'gpt-4o-mini' }, { model: 'gpt-4o-mini', signal: ctx.signal, context: ctx })
  ctx.response = response
  ctx.usage = usageFromProvider(response.usage)
  ctx.timing.end = Date.now()
}

const proxy = await buildProxyServer({ config, middleware: [leanUpstream] })
const address = await proxy.listen({ port: Number(values.port), host: '127.0.0.1' })
process.stdout.write(`LISTENING ${address.url}\n`)
process.on('SIGTERM', () => void proxy.close().then(() => process.exit(0)))
