/**
 * The `llm-onion` command's life cycle: the docs' curl example against the guide's config, a
 * graceful SIGTERM in the middle of a stream, and start-up failures that name what to fix.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import OpenAI from 'openai'
import { afterAll, describe, expect, it } from 'vitest'
import { startReceiver, type Receiver } from '../../src/testing/receiver'
import { chatBody, send } from './fixtures/raw-http'
import { eventually, readRecords, repositoryRoot, runCli, spawnProxy, withMock, type SpawnedProxy } from './fixtures/spawn-proxy'

const started: SpawnedProxy[] = []
const receivers: Receiver[] = []

afterAll(async () => {
  await Promise.all(started.map((proxy) => proxy.stop()))
  await Promise.all(receivers.map((receiver) => receiver.close()))
})

describe('llm-onion serve', () => {
  it("runs the docs' curl example against the guide's config, and the callback module prints its success line", async () => {
    const proxy = await spawnProxy(['--config', 'examples/proxy/config.yaml'])
    started.push(proxy)
    const docs = readFileSync(join(repositoryRoot, 'docs/proxy.md'), 'utf8')
    const command = /```bash\n(curl -X POST http:\/\/localhost:4000[\s\S]*?)```/.exec(docs)?.[1]
    expect(command, 'docs/proxy.md has the curl example').toBeDefined()
    // The same request, sent to the port this test's proxy got.
    const { stdout } = await promisify(execFile)('sh', ['-c', command!.replace('http://localhost:4000', proxy.url)])
    const reply = JSON.parse(stdout)
    expect(reply.choices[0].message.content).toBe('This is a mock reply to: Test proxy callback')
    await eventually(() => proxy.output().includes('[PROXY HANDLER]: Success!'))
    expect(proxy.output()).toContain(`[PROXY_INFO] Original Request URL: ${proxy.url}/chat/completions`)
    expect(proxy.output()).toContain('[PROXY_INFO] Configured Model Info: {"team":"guide-examples","max_tokens":4096')
  })

  it("runs the README's curl example against the embedded default config", async () => {
    const proxy = await spawnProxy([], { OPENAI_API_KEY: '', GEMINI_API_KEY: '', GOOGLE_API_KEY: '' })
    started.push(proxy)
    const readme = readFileSync(join(repositoryRoot, 'README.md'), 'utf8')
    const command = /```bash\n(curl -s http:\/\/localhost:4000[\s\S]*?)```/.exec(readme)?.[1]
    expect(command, 'README.md has the curl example').toBeDefined()
    const { stdout } = await promisify(execFile)('sh', ['-c', command!.replace('http://localhost:4000', proxy.url)])
    expect(JSON.parse(stdout).choices[0].message.content).toBe('This is a mock reply to: Hello proxy')
  })

  it('on SIGTERM lets a stream in flight finish, flushes the exporter and the async hooks, and exits 0', async () => {
    const helicone = await startReceiver()
    receivers.push(helicone)
    const logFile = join(mkdtempSync(join(tmpdir(), 'llm-onion-sigterm-')), 'callbacks.jsonl')
    const proxy = await spawnProxy(['--config', 'test/proxy/fixtures/litellm-config.yaml'], {
      PROXY_TEST_MASTER_KEY: 'sk-sigterm',
      PROXY_TEST_LOG: logFile,
      // The success hook writes only after this delay: exiting before it would lose the line.
      PROXY_TEST_SUCCESS_DELAY_MS: '400',
      HELICONE_API_KEY: 'sk-helicone-test',
      HELICONE_API_BASE: helicone.url,
    })
    started.push(proxy)
    const openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'sk-sigterm', maxRetries: 0 })
    const stream = await openai.chat.completions.create(
      withMock(
        {
          model: 'slow-model',
          messages: [{ role: 'user', content: 'keep going' }],
          stream: true,
          user: 'sigterm-user',
        },
        { mock_response: 'one two three four five six' },
      ),
    )
    let text = ''
    let signalled = false
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      if (!signalled) {
        signalled = true
        proxy.child.kill('SIGTERM')
      }
    }
    expect(text).toBe('one two three four five six')
    expect(await proxy.exited).toBe(0)
    expect(proxy.output()).toContain('SIGTERM: new requests get 503')
    const success = readRecords(logFile).find((record) => record.hook === 'success' && record.user === 'sigterm-user')
    expect(success?.content).toBe('one two three four five six')
    expect(helicone.requests.some((request) => request.path === '/custom/v1/log' && request.text.includes('one two three four five six'))).toBe(true)
  })

  it("sends the callbacks' events from a worker thread when a core is left for it, from the request thread with --no-delivery-worker, the same requests either way", async () => {
    const expectWorker = availableParallelism() > 1
    const delivered: string[][] = []
    for (const flags of [[], ['--no-delivery-worker']]) {
      const helicone = await startReceiver()
      receivers.push(helicone)
      const proxy = await spawnProxy(['--config', 'test/proxy/fixtures/litellm-config.yaml', ...flags], {
        PROXY_TEST_MASTER_KEY: 'sk-worker-flag',
        PROXY_TEST_LOG: join(mkdtempSync(join(tmpdir(), 'llm-onion-delivery-worker-')), 'callbacks.jsonl'),
        HELICONE_API_KEY: 'sk-helicone-test',
        HELICONE_API_BASE: helicone.url,
      })
      started.push(proxy)
      const onWorker = flags.length === 0 && expectWorker
      expect(proxy.output()).toContain(onWorker ? "callbacks' events: mapped and sent from a worker thread" : "callbacks' events: mapped and sent from the thread serving requests")
      const openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'sk-worker-flag', maxRetries: 0 })
      await openai.chat.completions.create(withMock({ model: 'slow-model', messages: [{ role: 'user', content: 'which thread?' }] }, { mock_response: 'this one' }))
      const [request] = await helicone.waitFor(1)
      delivered.push([request!.path, JSON.parse(request!.text).providerResponse.json.choices[0].message.content])
      proxy.child.kill('SIGTERM')
      expect(await proxy.exited).toBe(0)
    }
    expect(delivered).toEqual([
      ['/custom/v1/log', 'this one'],
      ['/custom/v1/log', 'this one'],
    ])
    const both = await runCli(['serve', '--delivery-worker', '--no-delivery-worker'])
    expect(both.code).toBe(1)
    expect(both.output).toContain('give --delivery-worker or --no-delivery-worker, not both')
  })

  it('serves the origins and Host names --allowed-origins and --allowed-hosts add, and refuses others', async () => {
    const proxy = await spawnProxy(['--allowed-origins', 'https://app.example.com', '--allowed-hosts', 'proxy.example.com', '--max-connections', '100'], { OPENAI_API_KEY: '', GEMINI_API_KEY: '', GOOGLE_API_KEY: '' })
    started.push(proxy)
    const headers = { 'content-type': 'application/json', host: 'proxy.example.com' }
    const allowed = await send(proxy.url, { headers: { ...headers, origin: 'https://app.example.com' }, body: chatBody('mock/echo') })
    expect(allowed.status).toBe(200)
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com')
    const foreign = await send(proxy.url, { headers: { ...headers, origin: 'https://evil.example' }, body: chatBody('mock/echo') })
    expect(foreign.status).toBe(403)
  })

  it('exits 1 on an invalid config, naming the file and every wrong path', async () => {
    const { code, output } = await runCli(['serve', '--config', 'test/proxy/fixtures/bad-config.yaml', '--port', '0'])
    expect(code).toBe(1)
    expect(output).toContain(join(repositoryRoot, 'test/proxy/fixtures/bad-config.yaml'))
    expect(output).toContain('model_list[0].litellm_params.model: provider "cohere" is not supported')
    expect(output).toContain('model_list[1].litellm_params.model: is required')
    expect(output).not.toContain('    at ')
  })

  it('exits 1 when the callback export is missing, naming the file, the export and what it exports', async () => {
    const { code, output } = await runCli(['serve', '--config', 'test/proxy/fixtures/missing-export.yaml', '--port', '0'], { PROXY_TEST_LOG: join(tmpdir(), 'unused.jsonl') })
    expect(code).toBe(1)
    expect(output).toContain(join(repositoryRoot, 'test/proxy/fixtures/recording_callbacks.ts'))
    expect(output).toContain('has no export "recorder_instance"')
    expect(output).toContain('It exports: recorder')
  })

  it('exits 1 on a YAML alias bomb with a one-line message and no stack', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for (const [index, name] of [...'bcdefghi'].entries()) levels.push(`${name}: &${name} [${Array(9).fill(`*${'abcdefghi'[index]}`).join(', ')}]`)
    const file = join(mkdtempSync(join(tmpdir(), 'llm-onion-bomb-')), 'config.yaml')
    writeFileSync(file, `${levels.join('\n')}\n`)
    const { code, output } = await runCli(['serve', '--config', file, '--port', '0'])
    expect(code).toBe(1)
    expect(output.trim().split('\n')).toEqual([`llm-onion: ${file}: the YAML's aliases expand too far (over 100 uses, as a "billion laughs" file does); write the values out instead of nesting aliases.`])
  })

  it('exits 1 naming the module when a callback module never finishes loading, instead of exiting 0 without a word', async () => {
    const { code, output } = await runCli(['serve', '--config', 'test/proxy/fixtures/never-settles.yaml', '--port', '0'])
    expect(code).toBe(1)
    expect(output).toContain(join(repositoryRoot, 'test/proxy/fixtures/never_settles.mjs'))
    expect(output).toContain('did not finish within 0.3 s')
    expect(output).toContain('general_settings.callback_load_timeout_ms')
    expect(output).not.toContain('    at ')
  })

  it('exits 1 when the config file does not exist, naming the path', async () => {
    const { code, output } = await runCli(['serve', '--config', 'no/such/config.yaml'])
    expect(code).toBe(1)
    expect(output).toContain(`Cannot read the proxy config ${join(repositoryRoot, 'no/such/config.yaml')}: no such file`)
  })

  it('prints usage for --help and for an unknown command', async () => {
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    expect(help.output).toContain('Usage: llm-onion serve [options]')
    const wrong = await runCli(['start'])
    expect(wrong.code).toBe(1)
    expect(wrong.output).toContain('unknown command "start"; the commands are serve and replay')
  })
})
