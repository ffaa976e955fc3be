/**
 * Loading the proxy config: LiteLLM's file as it is, native names, `os.environ/` references, errors
 * that name the path in the file's own words, callback modules, and the docs' configs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, parseConfig } from 'llm-onion/proxy'
import { loadCallback } from '../../src/proxy/callback-loader'
import { defaultConfig } from '../../src/proxy/default-config'

function configError(run: () => unknown): ConfigError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError')
}

const tempFile = (name: string, text: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'llm-onion-config-')), name)
  writeFileSync(file, text)
  return file
}

describe('proxy config', () => {
  it("loads the guide's LiteLLM config unchanged", async () => {
    const config = await loadConfig('examples/proxy/config.yaml')
    expect(config.models.map((model) => [model.modelName, model.model])).toEqual([
      ['gpt-3.5-turbo', 'mock/gpt-3.5-turbo'],
      ['text-embedding-3-small', 'mock/text-embedding-3-small'],
    ])
    expect(config.models[0]!.modelInfo).toMatchObject({ team: 'guide-examples', max_tokens: 4096, id: expect.any(String) })
    expect(config.callbacks).toEqual(['proxy_callbacks.proxy_logger_instance'])
    expect(config.directory).toBe(join(process.cwd(), 'examples/proxy'))
    expect(config.warnings).toEqual([])
  })

  it('accepts native names as aliases of the LiteLLM keys', () => {
    const config = parseConfig({
      models: [{ name: 'fast', params: { model: 'mock/fast' }, info: { tier: 'cheap' } }],
      settings: { success: 'jsonLog', failure: ['consoleLog'], redact_messages: true },
      server: { master_key: 'sk-native' },
    })
    expect(config.models[0]).toMatchObject({ modelName: 'fast', model: 'mock/fast', modelInfo: { tier: 'cheap' } })
    expect(config).toMatchObject({ success: ['jsonLog'], failure: ['consoleLog'], redactMessages: true, masterKey: 'sk-native' })
  })

  it('refuses a setting given under both names, naming both', () => {
    const error = configError(() => parseConfig({ model_list: [{ model_name: 'a', litellm_params: { model: 'mock/a' } }], models: [] }))
    expect(error.message).toContain('models: give either model_list or models (the same setting), not both')
  })

  it("names every wrong path in the file's own key names", () => {
    const error = configError(() =>
      parseConfig({ models: [{ name: 'ok', params: { model: 'mock/ok' } }, { name: 'broken', params: { api_base: 'not a url' } }], settings: { callbacks: 'not a name' } }),
    )
    expect(error.issues.map((issue) => issue.path)).toEqual(['models[1].params.model', 'models[1].params.api_base', 'settings.callbacks'])
    expect(error.message).toContain('models[1].params.model: is required')
    expect(error.message).toContain('settings.callbacks: must be module.instance')
  })

  it('resolves os.environ/ references, with environment_variables set first', () => {
    const config = parseConfig(
      {
        model_list: [{ model_name: 'gpt', litellm_params: { model: 'openai/gpt-4o', api_key: 'os.environ/UPSTREAM_KEY', api_base: 'os.environ/UPSTREAM_BASE' } }],
        general_settings: { master_key: 'os.environ/MASTER' },
        environment_variables: { UPSTREAM_BASE: 'http://127.0.0.1:9/v1' },
      },
      { environment: { UPSTREAM_KEY: 'sk-from-env', MASTER: 'sk-master' } },
    )
    expect(config.models[0]).toMatchObject({ apiKey: 'sk-from-env', apiBase: 'http://127.0.0.1:9/v1' })
    expect(config.masterKey).toBe('sk-master')
  })

  it('fails naming the path and the variable when an os.environ/ variable is not set', () => {
    const error = configError(() =>
      parseConfig({ model_list: [{ model_name: 'gpt', litellm_params: { model: 'openai/gpt-4o', api_key: 'os.environ/MISSING_KEY' } }] }, { environment: {} }),
    )
    expect(error.message).toContain('model_list[0].litellm_params.api_key: environment variable MISSING_KEY is not set')
  })

  it('takes the master key from LITELLM_MASTER_KEY when the file sets none, and says so', () => {
    const config = parseConfig({ model_list: [{ model_name: 'a', litellm_params: { model: 'mock/a' } }] }, { environment: { LITELLM_MASTER_KEY: 'sk-env' } })
    expect(config).toMatchObject({ masterKey: 'sk-env', masterKeySource: 'LITELLM_MASTER_KEY' })
  })

  it('refuses a provider llm-onion does not have, pointing at openai/ with api_base', () => {
    const error = configError(() => parseConfig({ model_list: [{ model_name: 'command-r', litellm_params: { model: 'cohere/command-r-plus' } }] }))
    expect(error.message).toContain('model_list[0].litellm_params.model: provider "cohere" is not supported; use one of openai, gemini, mock')
    expect(error.message).toContain('openai/<model> with api_base')
  })

  it('warns about keys it does not read instead of failing, saying why for a strategy it lacks and the response cache', () => {
    const config = parseConfig({
      model_list: [{ model_name: 'a', litellm_params: { model: 'mock/a', max_budget: 30 } }],
      litellm_settings: { set_verbose: true, cache: true },
      router_settings: { routing_strategy: 'cost-based-routing', allowed_fails: 3 },
    })
    expect(config.warnings).toEqual([
      'model_list[0].litellm_params.max_budget is not read by llm-onion and is ignored',
      'litellm_settings.set_verbose is not read by llm-onion and is ignored',
      'litellm_settings.cache is not read by llm-onion and is ignored: llm-onion does not cache responses; the Redis of litellm_settings.cache_params holds the shared store (docs/shared-state.md)',
      'router_settings.routing_strategy "cost-based-routing" is not supported (llm-onion has simple-shuffle, least-busy, latency-based-routing, usage-based-routing, usage-based-routing-v2); simple-shuffle (weighted random) is used',
    ])
    expect(config.routing).toMatchObject({ strategy: 'simple-shuffle', allowedFails: 3 })
  })

  it("reads LiteLLM's routing and cooldown settings: seconds as ms, LiteLLM's 5 s cooldown by default", () => {
    const routing = (routerSettings: Record<string, unknown>) => parseConfig({ model_list: [{ model_name: 'a', litellm_params: { model: 'mock/a' } }], router_settings: routerSettings }).routing
    expect(routing({})).toEqual({ strategy: 'simple-shuffle', latencyWindowMs: 60_000, latencyBuffer: 0, cooldownTimeMs: 5_000, disableCooldowns: false })
    expect(routing({ routing_strategy: 'latency-based-routing', routing_strategy_args: { ttl: 30, lowest_latency_buffer: 0.5 }, allowed_fails: 1, cooldown_time: 30, disable_cooldowns: true })).toEqual({
      strategy: 'latency-based-routing',
      latencyWindowMs: 30_000,
      latencyBuffer: 0.5,
      allowedFails: 1,
      cooldownTimeMs: 30_000,
      disableCooldowns: true,
    })
    expect(() => routing({ allowed_fails: -1 })).toThrow(/router_settings\.allowed_fails/)
    expect(() => routing({ cooldown_time: 'soon' })).toThrow(/router_settings\.cooldown_time: must be a number/)
  })

  it("reads LiteLLM's reliability settings: router_settings over litellm_settings, seconds as ms, per-deployment timeouts", () => {
    const config = parseConfig({
      model_list: [
        { model_name: 'a', litellm_params: { model: 'mock/a', timeout: 2, stream_timeout: 0.5 } },
        { model_name: 'b', litellm_params: { model: 'mock/b' } },
      ],
      litellm_settings: { drop_params: true, num_retries: 1, request_timeout: 10, fallbacks: [{ a: ['b'] }] },
      router_settings: { num_retries: 3, stream_timeout: 4, context_window_fallbacks: [{ a: 'b' }] },
    })
    expect(config.warnings).toEqual([])
    expect(config.reliability).toEqual({
      numRetries: 3,
      timeoutMs: 10_000,
      streamTimeoutMs: 4000,
      fallbacks: { a: ['b'] },
      contextWindowFallbacks: { a: ['b'] },
      dropParams: true,
    })
    expect(config.models[0]).toMatchObject({ timeoutMs: 2000, streamTimeoutMs: 500 })
  })

  it('refuses a fallback naming no model_name, with its path', () => {
    const error = configError(() =>
      parseConfig({ model_list: [{ model_name: 'a', litellm_params: { model: 'mock/a' } }], router_settings: { fallbacks: [{ a: ['gpt-5'] }] } }),
    )
    expect(error.message).toContain('router_settings.fallbacks[0].a[0]: names "gpt-5", which is no model_name in model_list; name one of a')
  })

  it('accepts model: "*" (any provider, chosen per request)', () => {
    const config = parseConfig({ model_list: [{ model_name: '*', litellm_params: { model: '*' } }] })
    expect(config.models[0]).toMatchObject({ modelName: '*', model: '*' })
  })

  it('reads litellm_params.transport (http or sdk) on openai deployments and refuses it elsewhere, naming the path', () => {
    const config = parseConfig({ model_list: [{ model_name: 'gpt', litellm_params: { model: 'openai/gpt-4o', api_key: 'sk-o', transport: 'sdk' } }] })
    expect(config.models[0]!.transport).toBe('sdk')
    const wrongValue = configError(() => parseConfig({ model_list: [{ model_name: 'gpt', litellm_params: { model: 'openai/gpt-4o', transport: 'fetch' } }] }))
    expect(wrongValue.message).toContain('model_list[0].litellm_params.transport: must be http (undici, the default) or sdk')
    const notOpenAI = configError(() => parseConfig({ model_list: [{ model_name: 'a', litellm_params: { model: 'mock/a', transport: 'http' } }] }))
    expect(notOpenAI.message).toContain('model_list[0].litellm_params.transport: applies to openai/ deployments only')
  })

  it('names model_list when it is missing, and says what to write', () => {
    const error = configError(() => parseConfig({ litellm_settings: { success_callback: ['helicone'] } }))
    expect(error.issues).toEqual([{ path: 'model_list', message: expect.stringMatching(/^is required: list the models to serve, for example/) }])
    expect(error.message).not.toContain('Invalid input')
  })

  it('names the path and the value of a number it cannot read', () => {
    const error = configError(() => parseConfig({ model_list: [{ model_name: 'a', litellm_params: { model: 'mock/a', tpm: 'lots' } }] }))
    expect(error.message).toContain('model_list[0].litellm_params.tpm: must be a number, for example 20000, found "lots"')
  })

  it('reads YAML 1.1 as LiteLLM does: tpm: 20_000 is a number', async () => {
    const file = tempFile('config.yaml', 'model_list:\n  - model_name: a\n    litellm_params: { model: mock/a, tpm: 20_000 }\n  - model_name: a\n    litellm_params: { model: mock/b, tpm: 1_000 }\n')
    expect((await loadConfig(file)).models.map((model) => model.weight)).toEqual([20_000, 1_000])
  })

  it('weights deployments as simple-shuffle does: weight, else rpm, else tpm, per model name', () => {
    const config = parseConfig({
      model_list: [
        { model_name: 'a', litellm_params: { model: 'mock/a', weight: 2, rpm: 500 } },
        { model_name: 'a', litellm_params: { model: 'mock/a', rpm: 100 } },
        { model_name: 'b', litellm_params: { model: 'mock/b', rpm: 10, tpm: 5 } },
        { model_name: 'b', litellm_params: { model: 'mock/b' }, rpm: 30 },
        { model_name: 'c', litellm_params: { model: 'mock/c' } },
      ],
    })
    expect(config.models.map((model) => model.weight)).toEqual([2, 1, 10, 30, 1])
  })

  it('accepts an environment_variables entry without a value, leaving the variable to the environment', () => {
    const config = parseConfig({ model_list: [{ model_name: 'a', litellm_params: { model: 'mock/a' } }], environment_variables: { FROM_SHELL: null, SET_HERE: 'x' } })
    expect(config.environmentVariables).toEqual({ SET_HERE: 'x' })
  })

  it('maps built-in names in litellm_settings.callbacks onto success and failure, and keeps module.instance references', () => {
    const config = parseConfig({
      model_list: [{ model_name: 'a', litellm_params: { model: 'mock/a' } }],
      litellm_settings: { callbacks: ['otel', 'proxy_callbacks.logger'], success_callback: ['otel', 'helicone'] },
    })
    expect(config.callbacks).toEqual(['proxy_callbacks.logger'])
    expect(config.success).toEqual(['otel', 'helicone'])
    expect(config.failure).toEqual(['otel'])
  })

  it('reads router_settings.model_group_alias, refusing an alias of no model_name', () => {
    const models = [{ model_name: 'gpt-4o', litellm_params: { model: 'mock/gpt-4o' } }]
    const config = parseConfig({ model_list: models, router_settings: { model_group_alias: { 'gpt-4': 'gpt-4o', old: { model: 'gpt-4o', hidden: true } } } })
    expect(config.aliases).toEqual({ 'gpt-4': 'gpt-4o', old: 'gpt-4o' })
    expect(config.hiddenAliases).toEqual(['old'])
    expect(config.warnings).toEqual([])
    const error = configError(() => parseConfig({ model_list: models, router_settings: { model_group_alias: { 'gpt-4': 'gpt-5' } } }))
    expect(error.message).toContain('router_settings.model_group_alias.gpt-4: names "gpt-5", which is no model_name in model_list')
  })

  it('refuses a YAML alias bomb in one line, naming the file', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for (const [index, name] of [...'bcdefghi'].entries()) levels.push(`${name}: &${name} [${Array(9).fill(`*${'abcdefghi'[index]}`).join(', ')}]`)
    const file = tempFile('config.yaml', `${levels.join('\n')}\n`)
    await expect(loadConfig(file)).rejects.toThrow(new RegExp(`^${file}: the YAML's aliases expand too far`))
  })

  it('gives the line and column of a YAML syntax error', async () => {
    const file = tempFile('config.yaml', 'model_list:\n  - model_name: [unclosed\n')
    await expect(loadConfig(file)).rejects.toThrow(new RegExp(`${file}: invalid YAML at line \\d+, column \\d+`))
  })

  it('serves mock models by default, and a provider only when its key is set', () => {
    expect(parseConfig(defaultConfig({})).models.map((model) => model.modelName)).toEqual(['mock/*'])
    const withKeys = parseConfig(defaultConfig({ OPENAI_API_KEY: 'sk-o', GEMINI_API_KEY: 'g' }), { environment: { OPENAI_API_KEY: 'sk-o', GEMINI_API_KEY: 'g' } })
    expect(withKeys.models.map((model) => model.modelName)).toEqual(['mock/*', 'openai/*', 'gpt-*', 'o1*', 'o3*', 'o4*', 'text-embedding-*', 'gemini/*', 'gemini-*'])
    expect(withKeys.models.find((model) => model.modelName === 'gpt-*')).toMatchObject({ model: 'openai/gpt-*', apiKey: 'sk-o' })
  })
})

describe('callback modules', () => {
  const directory = join(process.cwd(), 'test/proxy/fixtures')

  it('loads module.instance from the .ts file next to the config', async () => {
    process.env.PROXY_TEST_LOG ??= join(tmpdir(), 'llm-onion-unused.jsonl')
    const loaded = await loadCallback('recording_callbacks.recorder', directory)
    expect(loaded.file).toBe(join(directory, 'recording_callbacks.ts'))
    expect(loaded.value?.constructor.name).toBe('RecordingHandler')
  })

  it('names the module file looked for and the script files found when it is missing', async () => {
    const error = await loadCallback('proxy_handlers.instance', directory).then(() => new Error('loaded'), (caught: unknown) => caught as Error)
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toContain(`no file proxy_handlers{.ts,.mts,.cts,.mjs,.js,.cjs} in ${directory}`)
    expect(error.message).toContain('recording_callbacks.ts')
  })

  it('refuses an exported class, showing how to export an instance', async () => {
    const file = tempFile('handlers.mjs', 'export class AuditHandler { async asyncLogSuccessEvent() {} }\n')
    const error = await loadCallback('handlers.AuditHandler', join(file, '..')).then(() => new Error('loaded'), (caught: unknown) => caught as Error)
    expect(error.message).toContain('is the class AuditHandler, not an instance. Export an instance: export const AuditHandler = new AuditHandler()')
  })
})

describe('docs/proxy.md', () => {
  const docs = readFileSync('docs/proxy.md', 'utf8')
  const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!)

  it('has config examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3)
  })

  it.each(blocks.map((block, index) => [index + 1, block]))('yaml block %i is a valid config', (_index, block) => {
    const names = [...String(block).matchAll(/os\.environ\/(\w+)/g)].map((match) => match[1]!)
    const environment = Object.fromEntries(names.map((name) => [name, 'set-for-the-test']))
    const config = parseConfig(parse(String(block)), { environment })
    expect(config.models.length).toBeGreaterThan(0)
    expect(config.warnings).toEqual([])
  })

  it('shows the example config as the file has it', () => {
    const shown = blocks.find((block) => block.startsWith('# from examples/proxy/config.yaml'))!
    const file = readFileSync('examples/proxy/config.yaml', 'utf8')
    for (const line of shown.split('\n').slice(1)) expect(file).toContain(line)
  })
})
