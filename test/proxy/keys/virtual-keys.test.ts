/**
 * Virtual keys on a `serve` child without a database (keys in memory), driven with the official
 * `openai` SDK as a LiteLLM user's application drives LiteLLM's proxy: keys made with the master key
 * authorise calls, their spend adds up to the calls' costs, and models, expiry, blocking, budgets and
 * rate limits answer as LiteLLM answers.
 */
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnProxy, type SpawnedProxy } from '../fixtures/spawn-proxy'
import { ask, costOf, generateKey, manage, sdk, thrownBy } from './fixtures/key-client'

const masterKey = 'sk-master-virtual-keys-31f7a9'
let proxy: SpawnedProxy

beforeAll(async () => {
  // A 10-minute window: a test never sees its window end.
  proxy = await spawnProxy(['--config', 'test/proxy/keys/fixtures/keys.yaml'], { KEYS_MASTER_KEY: masterKey, LITELLM_RATE_LIMIT_WINDOW_SIZE: '600', DATABASE_URL: '' })
})

afterAll(async () => {
  await proxy?.stop()
})

describe('a virtual key', () => {
  it('is made with the master key, shown once, and then known by its hash only', async () => {
    const { key, token, reply } = await generateKey(proxy.url, masterKey, { key_alias: 'shown-once', models: ['gpt-test'], metadata: { owner: 'search' } })
    expect(key).toMatch(/^sk-[\w-]{22}$/)
    expect(token).toMatch(/^[0-9a-f]{64}$/)
    expect(reply).toMatchObject({ key_name: `sk-...${key.slice(-4)}`, key_alias: 'shown-once', models: ['gpt-test'], metadata: { owner: 'search' }, spend: 0, max_budget: null, expires: null })
    const info = await manage(proxy.url, key, '/key/info')
    expect(info.status).toBe(200)
    expect(info.body.key).toBe(token)
    expect(info.body.info).toMatchObject({ key_alias: 'shown-once', spend: 0 })
    expect(JSON.stringify(info.body)).not.toContain(key)
    expect(proxy.output()).not.toContain(key)
  })

  it('is listed by /key/list as LiteLLM pages it: hashes by default, filtered by user, team or alias, full objects on request, master key only', async () => {
    const made = []
    for (const alias of ['list-a', 'list-b', 'list-c']) made.push(await generateKey(proxy.url, masterKey, { key_alias: alias, user_id: 'list-user' }))
    const firstPage = await manage(proxy.url, masterKey, '/key/list?user_id=list-user&size=2')
    expect(firstPage.status).toBe(200)
    expect(firstPage.body).toEqual({ keys: made.slice(0, 2).map((each) => each.token), total_count: 3, current_page: 1, total_pages: 2 })
    const secondPage = await manage(proxy.url, masterKey, '/key/list?user_id=list-user&size=2&page=2')
    expect(secondPage.body.keys).toEqual([made[2]!.token])
    const full = await manage(proxy.url, masterKey, '/key/list?key_alias=list-b&return_full_object=true')
    expect(full.body.total_count).toBe(1)
    expect(full.body.keys[0]).toMatchObject({ token: made[1]!.token, key_alias: 'list-b', user_id: 'list-user', spend: 0 })
    expect(JSON.stringify(full.body)).not.toContain(made[1]!.key)
    const everything = await manage(proxy.url, masterKey, '/key/list?size=100')
    expect(everything.body.keys).toEqual(expect.arrayContaining(made.map((each) => each.token)))
    const tooLarge = await manage(proxy.url, masterKey, '/key/list?size=500')
    expect(tooLarge.status).toBe(400)
    expect(tooLarge.body.error.message).toContain('size')
    const notMaster = await manage(proxy.url, made[0]!.key, '/key/list')
    expect(notMaster.status).toBe(401)
  })

  it('authorises calls through the official SDK, and /key/info, /user/info and /team/info spend equal the costs of the calls', async () => {
    const team = await manage(proxy.url, masterKey, '/team/new', { team_alias: 'search' })
    expect(team.status).toBe(200)
    const { key, token } = await generateKey(proxy.url, masterKey, { user_id: 'ana', team_id: team.body.team_id })
    const openai = sdk(proxy.url, key)
    let expected = 0
    for (const content of ['one', 'two words', 'three words here']) {
      const reply = await openai.chat.completions.create({ model: 'gpt-test', messages: ask(content), user: 'customer-1' })
      expected += costOf('gpt-test', reply.usage)
    }
    const stream = await openai.chat.completions.create({ model: 'other-model', messages: ask('stream this please'), stream: true, stream_options: { include_usage: true } })
    for await (const chunk of stream) if (chunk.usage) expected += costOf('other-model', chunk.usage)
    const embedding = await openai.embeddings.create({ model: 'embed-test', input: 'a sentence to embed' })
    expected += costOf('embed-test', embedding.usage)
    expect(expected).toBeGreaterThan(0)

    const keyInfo = await manage(proxy.url, masterKey, `/key/info?key=${token}`)
    expect(keyInfo.body.info.spend).toBeCloseTo(expected, 12)
    const userInfo = await manage(proxy.url, masterKey, '/user/info?user_id=ana')
    expect(userInfo.body.user_info.spend).toBeCloseTo(expected, 12)
    expect(userInfo.body.keys.map((each: { token: string }) => each.token)).toEqual([token])
    const teamInfo = await manage(proxy.url, masterKey, `/team/info?team_id=${team.body.team_id}`)
    expect(teamInfo.body.team_info).toMatchObject({ team_alias: 'search' })
    expect(teamInfo.body.team_info.spend).toBeCloseTo(expected, 12)
    expect(teamInfo.body.keys).toHaveLength(1)
  })

  it('lists and calls only its models: another model is 401 key_model_access_denied', async () => {
    const { key } = await generateKey(proxy.url, masterKey, { models: ['gpt-test'] })
    const openai = sdk(proxy.url, key)
    expect((await openai.models.list()).data.map((model) => model.id)).toEqual(['gpt-test'])
    const error = await thrownBy(openai.chat.completions.create({ model: 'other-model', messages: ask('hi') }))
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(error).toMatchObject({ status: 401, type: 'key_model_access_denied', param: 'model', code: '401' })
    expect(error.message).toContain('key not allowed to access model. This key can only access models=["gpt-test"]. Tried to access other-model')
  })

  it('is refused once blocked, works again once unblocked, and is unknown once deleted', async () => {
    const { key, token } = await generateKey(proxy.url, masterKey)
    const openai = sdk(proxy.url, key)
    expect((await manage(proxy.url, masterKey, '/key/block', { key })).body).toMatchObject({ blocked: true, token })
    expect(await thrownBy(openai.chat.completions.create({ model: 'gpt-test', messages: ask('hi') }))).toMatchObject({ status: 401, type: 'auth_error', message: expect.stringContaining('Key is blocked') })
    await manage(proxy.url, masterKey, '/key/unblock', { key: token })
    await openai.chat.completions.create({ model: 'gpt-test', messages: ask('hi') })
    expect((await manage(proxy.url, masterKey, '/key/delete', { keys: [key] })).body).toEqual({ deleted_keys: [token] })
    expect(await thrownBy(openai.chat.completions.create({ model: 'gpt-test', messages: ask('hi') }))).toMatchObject({ status: 401, type: 'token_not_found_in_db', code: '401' })
  })

  it('expires after its duration: 401 expired_key', async () => {
    const { key } = await generateKey(proxy.url, masterKey, { duration: '1s' })
    const openai = sdk(proxy.url, key)
    await openai.chat.completions.create({ model: 'gpt-test', messages: ask('in time') })
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    const error = await thrownBy(openai.chat.completions.create({ model: 'gpt-test', messages: ask('too late') }))
    expect(error).toMatchObject({ status: 401, type: 'expired_key', code: '401' })
    expect(error.message).toContain('Authentication Error - Expired Key. Key Expiry time')
  })

  it('may not manage keys: /key/generate and /spend/logs need the master key', async () => {
    const { key } = await generateKey(proxy.url, masterKey)
    expect((await manage(proxy.url, key, '/key/generate', {})).status).toBe(401)
    expect((await manage(proxy.url, key, '/user/info?user_id=ana')).status).toBe(401)
    // Another key's info is not its to read; its own is.
    const other = await generateKey(proxy.url, masterKey)
    expect((await manage(proxy.url, key, `/key/info?key=${other.token}`)).status).toBe(401)
    expect((await manage(proxy.url, key, '/key/info')).status).toBe(200)
  })
})

describe('limits and budgets', () => {
  it('lets exactly rpm_limit requests through in the window, then answers 429 as LiteLLM with retry-after', async () => {
    const { key, token } = await generateKey(proxy.url, masterKey, { rpm_limit: 4 })
    const openai = sdk(proxy.url, key)
    const outcomes = await Promise.allSettled(Array.from({ length: 7 }, (_, index) => openai.chat.completions.create({ model: 'gpt-test', messages: ask(`burst ${index}`) })))
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(4)
    const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as InstanceType<typeof OpenAI.APIError>] : []))
    expect(refused).toHaveLength(3)
    for (const error of refused) {
      expect(error).toBeInstanceOf(OpenAI.RateLimitError)
      expect(error).toMatchObject({ status: 429, code: '429' })
      expect(error.message).toContain(`Rate limit exceeded for api_key: ${token}. Limit type: requests. Current limit: 4, Remaining: 0. Limit resets at: `)
      const retryAfter = Number(error.headers?.get('retry-after'))
      expect(retryAfter).toBeGreaterThanOrEqual(1)
      expect(retryAfter).toBeLessThanOrEqual(600)
    }
  })

  it('refuses the call after the budget is spent: 400 budget_exceeded with LiteLLM\'s message', async () => {
    const { key } = await generateKey(proxy.url, masterKey, { max_budget: 0.00001 })
    const openai = sdk(proxy.url, key)
    // Each call costs more than the budget: the first is let through (spend 0), the next is not.
    const first = await openai.chat.completions.create({ model: 'gpt-test', messages: ask('a question long enough to cost something') })
    const spent = costOf('gpt-test', first.usage)
    expect(spent).toBeGreaterThan(0.00001)
    const error = await thrownBy(openai.chat.completions.create({ model: 'gpt-test', messages: ask('again') }))
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error).toMatchObject({ status: 400, type: 'budget_exceeded', code: '400', param: null })
    expect(error.message).toBe(`400 Budget has been exceeded! Current cost: ${(await manage(proxy.url, masterKey, `/key/info?key=${key}`)).body.info.spend}, Max budget: 0.00001`)
  })

  it('holds a user\'s keys to the user\'s budget (the key /user/new makes), and lets the admin reset a key\'s spend with /key/update', async () => {
    const user = await manage(proxy.url, masterKey, '/user/new', { user_id: 'bea', max_budget: 0.00001, budget_duration: '1mo' })
    expect(user.body).toMatchObject({ user_id: 'bea', max_budget: 0.00001, spend: 0, key: expect.stringMatching(/^sk-/) })
    const openai = sdk(proxy.url, user.body.key)
    await openai.chat.completions.create({ model: 'gpt-test', messages: ask('spend the user budget please') })
    const error = await thrownBy(openai.chat.completions.create({ model: 'gpt-test', messages: ask('hi') }))
    expect(error).toMatchObject({ status: 400, type: 'budget_exceeded' })
    expect(error.message).toContain('ExceededBudget: User=bea over budget. Spend=')

    const { key } = await generateKey(proxy.url, masterKey, { max_budget: 0.00001 })
    await sdk(proxy.url, key).chat.completions.create({ model: 'gpt-test', messages: ask('spend the key budget please') })
    await thrownBy(sdk(proxy.url, key).chat.completions.create({ model: 'gpt-test', messages: ask('hi') }))
    expect((await manage(proxy.url, masterKey, '/key/update', { key, spend: 0 })).body).toMatchObject({ spend: 0 })
    await sdk(proxy.url, key).chat.completions.create({ model: 'gpt-test', messages: ask('hi again') })
  })

  it('holds a team\'s keys to the team\'s budget', async () => {
    const team = (await manage(proxy.url, masterKey, '/team/new', { team_alias: 'tight', max_budget: 0.00001, budget_duration: '30d' })).body
    const first = sdk(proxy.url, (await generateKey(proxy.url, masterKey, { team_id: team.team_id })).key)
    const second = sdk(proxy.url, (await generateKey(proxy.url, masterKey, { team_id: team.team_id })).key)
    await first.chat.completions.create({ model: 'gpt-test', messages: ask('spend the team budget please') })
    const error = await thrownBy(second.chat.completions.create({ model: 'gpt-test', messages: ask('hi') }))
    expect(error).toMatchObject({ status: 400, type: 'budget_exceeded' })
    expect(error.message).toContain(`Budget has been exceeded! Team=${team.team_id} Current cost: `)
  })

  it('refuses the request past max_parallel_requests while the others are in flight, and lets the next through', async () => {
    const { key } = await generateKey(proxy.url, masterKey, { max_parallel_requests: 1 })
    const openai = sdk(proxy.url, key)
    const outcomes = await Promise.allSettled([0, 1, 2].map((index) => openai.chat.completions.create({ model: 'slow-model', messages: ask(`parallel ${index}`) })))
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1)
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect((outcome.reason as Error).message).toContain('Limit type: max_parallel_requests. Current limit: 1')
    }
    await openai.chat.completions.create({ model: 'slow-model', messages: ask('after them') })
  })

  it('refuses once the window\'s tokens reach tpm_limit', async () => {
    const { key } = await generateKey(proxy.url, masterKey, { tpm_limit: 5 })
    const openai = sdk(proxy.url, key)
    const reply = await openai.chat.completions.create({ model: 'gpt-test', messages: ask('more than five tokens in this one') })
    expect(reply.usage!.total_tokens).toBeGreaterThanOrEqual(5)
    expect(await thrownBy(openai.chat.completions.create({ model: 'gpt-test', messages: ask('hi') }))).toMatchObject({ status: 429, message: expect.stringContaining('Limit type: tokens. Current limit: 5') })
  })

  it('puts no limit on the master key', async () => {
    const openai = sdk(proxy.url, masterKey)
    const replies = await Promise.all(Array.from({ length: 6 }, (_, index) => openai.chat.completions.create({ model: 'gpt-test', messages: ask(`master ${index}`) })))
    expect(replies).toHaveLength(6)
  })
})

describe('management requests', () => {
  it('are validated with the wrong field named, and refuse LiteLLM fields llm-onion does not enforce', async () => {
    const wrongDuration = await manage(proxy.url, masterKey, '/key/generate', { budget_duration: 'soon' })
    expect(wrongDuration.status).toBe(400)
    expect(wrongDuration.body.error).toMatchObject({ param: 'budget_duration', code: '400' })
    const perModel = await manage(proxy.url, masterKey, '/key/generate', { model_max_budget: { 'gpt-test': 1 } })
    expect(perModel.status).toBe(400)
    expect(perModel.body.error.message).toContain('model_max_budget is not supported')
    // LiteLLM's clients send the empty defaults: accepted.
    expect((await manage(proxy.url, masterKey, '/key/generate', { aliases: {}, config: {}, permissions: {}, model_max_budget: {}, soft_budget: null })).status).toBe(200)
    expect((await manage(proxy.url, masterKey, '/key/generate', { team_id: 'no-such-team' })).body.error).toMatchObject({ param: 'team_id', code: '400' })
  })

  it('say that spend logs need a database', async () => {
    const logs = await manage(proxy.url, masterKey, '/spend/logs')
    expect(logs.status).toBe(400)
    expect(logs.body.error.message).toContain('Set DATABASE_URL')
  })
})
