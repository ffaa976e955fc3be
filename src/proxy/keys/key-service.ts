/**
 * What the management routes do, apart from HTTP: generate, update, block, delete and describe keys;
 * create and describe users and teams; always with LiteLLM's field names and reply shapes
 * (litellm/proxy/management_endpoints/key_management_endpoints.py, internal_user_endpoints.py,
 * team_endpoints.py). A key is returned once, by `/key/generate` (and `/user/new`); afterwards only
 * its hash (`token`) and `key_name` (`sk-...` and four characters) are shown. Spend is read from the
 * shared store's running totals for the current budget period.
 */
import { randomUUID } from 'node:crypto'
import type { CounterBuffer } from './counter-buffer'
import { openAiError, type OpenAiErrorResponse } from '../openai-errors'
import { addDuration, parseDuration } from './duration'
import { generateKey, hashKey, keyName, tokenOf } from './key-hash'
import type { KeyDirectory } from './key-directory'
import type { GenerateKeyBody, ListKeysQuery, NewTeamBody, NewUserBody, UpdateKeyBody } from './management-bodies'
import { DuplicateAliasError, type KeyRecord, type TeamRecord, type UserRecord } from './records'
import { budgetPeriod, readSpend, spendCounter, type Budgeted } from './spend-ledger'

/** A management request that cannot be done, with the answer to send. */
export class ManagementError extends Error {
  readonly response: OpenAiErrorResponse
  constructor(status: number, message: string, details: { type?: string; param?: string | null } = {}) {
    super(message)
    this.name = 'ManagementError'
    this.response = openAiError(status, message, { type: details.type ?? (status === 404 ? 'not_found_error' : 'bad_request_error'), param: details.param ?? null, code: String(status) })
  }
}

type Json = Record<string, unknown>

/**
 * The management operations over a repository, the request path's key cache and the store.
 *
 * @example
 * ```ts
 * const service = createKeyService({ directory, counters })
 * const { key } = await service.generateKey({ models: ['gpt-4o'], max_budget: 10, budget_duration: '30d' })
 * ```
 */
export function createKeyService(options: { directory: KeyDirectory; counters: CounterBuffer; now?: () => number }) {
  const { directory, counters } = options
  const repository = directory.repository
  const now = options.now ?? Date.now
  const iso = (epochMs: number) => new Date(epochMs).toISOString()

  const spendOf = (entity: 'key' | 'user' | 'team', id: string, record: Budgeted & { created_at: string }) => readSpend(counters, spendCounter(entity, id, budgetPeriod(record, now()).index))
  const resetAt = (record: Budgeted & { created_at: string }): string | null => {
    const end = budgetPeriod(record, now()).end
    return Number.isFinite(end) ? iso(end) : null
  }
  const setSpend = async (entity: 'key' | 'user' | 'team', id: string, record: Budgeted & { created_at: string }, spend: number) => {
    const period = budgetPeriod(record, now())
    await counters.set(spendCounter(entity, id, period.index), spend, Number.isFinite(period.end) ? period.end - now() + 86_400_000 : undefined)
  }
  const expiresIn = (duration: string | null | undefined): string | null | undefined =>
    duration === undefined ? undefined : duration === null ? null : iso(addDuration(now(), parseDuration(duration)!))

  /** A key as `/key/info` shows it: no key, no hash (LiteLLM drops `token` there). */
  const describeKey = async (record: KeyRecord): Promise<Json> => {
    const { token, ...shown } = record
    return { ...shown, spend: await spendOf('key', token, record), budget_reset_at: resetAt(record) }
  }
  /** A key in a list (`/user/info`, `/team/info`): with its hash, which the management routes accept for the key. */
  const listedKey = async (record: KeyRecord): Promise<Json> => ({ token: record.token, ...(await describeKey(record)) })

  const findKey = async (keyOrToken: string): Promise<KeyRecord> => {
    const record = await repository.getKey(tokenOf(keyOrToken))
    if (record === undefined) throw new ManagementError(404, 'Key not found in database: check the key (or its hash); /key/generate makes one.', { param: 'key' })
    return record
  }
  const requireTeam = async (teamId: string | null | undefined): Promise<void> => {
    if (teamId === null || teamId === undefined) return
    if ((await repository.getTeam(teamId)) === undefined) throw new ManagementError(400, `team_id "${teamId}" does not exist: create the team with /team/new first.`, { param: 'team_id' })
  }
  const ensureUser = async (userId: string | null | undefined): Promise<void> => {
    if (userId === null || userId === undefined || (await repository.getUser(userId)) !== undefined) return
    const at = iso(now())
    await repository.saveUser({ user_id: userId, user_alias: null, user_email: null, models: [], max_budget: null, budget_duration: null, tpm_limit: null, rpm_limit: null, metadata: {}, created_at: at, updated_at: at })
  }
  /** Saves a key; a changed one is forgotten by every process's directory (a new one is in none). */
  const saveKey = async (record: KeyRecord, changed: boolean): Promise<void> => {
    try {
      await repository.saveKey(record)
    } catch (error) {
      if (error instanceof DuplicateAliasError) throw new ManagementError(400, error.message, { param: 'key_alias' })
      throw error
    }
    if (changed) directory.forgetKey(record.token)
  }

  const generate = async (body: GenerateKeyBody): Promise<Json> => {
    await requireTeam(body.team_id)
    const key = body.key ?? generateKey()
    const token = hashKey(key)
    if ((await repository.getKey(token)) !== undefined) throw new ManagementError(400, 'A key with this value exists already: choose another key, or leave "key" out to have one generated.', { param: 'key' })
    await ensureUser(body.user_id)
    const at = iso(now())
    const record: KeyRecord = {
      token,
      key_name: keyName(key),
      key_alias: body.key_alias ?? null,
      user_id: body.user_id ?? null,
      team_id: body.team_id ?? null,
      models: body.models ?? [],
      max_budget: body.max_budget ?? null,
      budget_duration: body.budget_duration ?? null,
      tpm_limit: body.tpm_limit ?? null,
      rpm_limit: body.rpm_limit ?? null,
      max_parallel_requests: body.max_parallel_requests ?? null,
      metadata: body.metadata ?? {},
      expires: expiresIn(body.duration) ?? null,
      blocked: body.blocked ?? false,
      created_at: at,
      updated_at: at,
    }
    await saveKey(record, false)
    if (body.spend) await setSpend('key', token, record, body.spend)
    return { key, token_id: token, ...(await describeKey(record)) }
  }

  return {
    generateKey: generate,

    async updateKey(body: UpdateKeyBody): Promise<Json> {
      const record = await findKey(body.key)
      if (body.team_id !== undefined && body.team_id !== record.team_id) await requireTeam(body.team_id)
      if (body.user_id !== undefined && body.user_id !== record.user_id) await ensureUser(body.user_id)
      const { key: _key, duration, spend, ...changes } = body
      const updated: KeyRecord = { ...record, updated_at: iso(now()) }
      for (const [field, value] of Object.entries(changes)) {
        if (value === undefined || !(field in record)) continue
        ;(updated as unknown as Json)[field] = field === 'models' ? (value ?? []) : field === 'metadata' ? (value ?? {}) : field === 'blocked' ? (value ?? false) : value
      }
      const expires = expiresIn(duration)
      if (expires !== undefined) updated.expires = expires
      await saveKey(updated, true)
      if (spend !== undefined && spend !== null) await setSpend('key', updated.token, updated, spend)
      return { key: updated.token, ...(await describeKey(updated)) }
    },

    async deleteKeys(body: { keys?: string[] | null; key_aliases?: string[] | null }): Promise<Json> {
      const tokens: string[] = []
      for (const key of body.keys ?? []) tokens.push((await findKey(key)).token)
      for (const alias of body.key_aliases ?? []) {
        const record = await repository.getKeyByAlias(alias)
        if (record === undefined) throw new ManagementError(404, `No key has key_alias "${alias}".`, { param: 'key_aliases' })
        tokens.push(record.token)
      }
      await repository.deleteKeys(tokens)
      for (const token of tokens) directory.forgetKey(token)
      // The keys by their hashes: a reply never carries a key but once, from /key/generate.
      return { deleted_keys: [...tokens] }
    },

    async setBlocked(keyOrToken: string, blocked: boolean): Promise<Json> {
      const record = { ...(await findKey(keyOrToken)), blocked, updated_at: iso(now()) }
      await saveKey(record, true)
      return { token: record.token, ...(await describeKey(record)) }
    },

    /** `/key/info`: `{ key, info }`, `key` being the key's hash (LiteLLM echoes what was asked; a key never leaves in a reply here but once, from /key/generate). */
    async keyInfo(keyOrToken: string): Promise<Json> {
      const record = await findKey(keyOrToken)
      return { key: record.token, info: await describeKey(record) }
    },

    /** `GET /key/list`: one page of the keys matching the filters, oldest first, as LiteLLM pages them. */
    async listKeys(query: ListKeysQuery): Promise<Json> {
      const { page, size, return_full_object: full, ...filter } = query
      const matching = await repository.listKeys(filter)
      const shown = matching.slice((page - 1) * size, page * size)
      return {
        keys: full === 'true' ? await Promise.all(shown.map(listedKey)) : shown.map((record) => record.token),
        total_count: matching.length,
        current_page: page,
        total_pages: Math.ceil(matching.length / size),
      }
    },

    async newUser(body: NewUserBody): Promise<Json> {
      const userId = body.user_id ?? randomUUID()
      if ((await repository.getUser(userId)) !== undefined) throw new ManagementError(400, `A user with user_id "${userId}" exists already: choose another user_id.`, { param: 'user_id' })
      await requireTeam(body.team_id)
      const at = iso(now())
      const user: UserRecord = {
        user_id: userId,
        user_alias: body.user_alias ?? null,
        user_email: body.user_email ?? null,
        models: body.models ?? [],
        max_budget: body.max_budget ?? null,
        budget_duration: body.budget_duration ?? null,
        tpm_limit: body.tpm_limit ?? null,
        rpm_limit: body.rpm_limit ?? null,
        metadata: body.metadata ?? {},
        created_at: at,
        updated_at: at,
      }
      await repository.saveUser(user)
      if (body.spend) await setSpend('user', userId, user, body.spend)
      const reply: Json = { ...user, spend: body.spend ?? 0, budget_reset_at: resetAt(user) }
      if (body.auto_create_key === false) return reply
      // As LiteLLM: the user's key carries the user's models; the budget and limits stay the user's.
      const key = await generate({ user_id: userId, team_id: body.team_id ?? null, models: user.models, key_alias: body.key_alias ?? null, duration: body.duration ?? null, max_parallel_requests: body.max_parallel_requests ?? null })
      return { ...reply, key: key.key, key_name: key.key_name, token_id: key.token_id, expires: key.expires }
    },

    /** `/user/info`: `{ user_id, user_info, keys, teams }`. */
    async userInfo(userId: string): Promise<Json> {
      const user = await repository.getUser(userId)
      const keys = await repository.listKeys({ user_id: userId })
      if (user === undefined && keys.length === 0) throw new ManagementError(404, `User ${userId} not found: create it with /user/new.`, { param: 'user_id' })
      const teams = [...new Set(keys.map((key) => key.team_id).filter((team): team is string => team !== null))]
      return {
        user_id: userId,
        user_info: user === undefined ? null : { ...user, spend: await spendOf('user', userId, user), budget_reset_at: resetAt(user) },
        keys: await Promise.all(keys.map(listedKey)),
        teams,
      }
    },

    async newTeam(body: NewTeamBody): Promise<Json> {
      const teamId = body.team_id ?? randomUUID()
      if ((await repository.getTeam(teamId)) !== undefined) throw new ManagementError(400, `A team with team_id "${teamId}" exists already: choose another team_id.`, { param: 'team_id' })
      const at = iso(now())
      const team: TeamRecord = {
        team_id: teamId,
        team_alias: body.team_alias ?? null,
        models: body.models ?? [],
        max_budget: body.max_budget ?? null,
        budget_duration: body.budget_duration ?? null,
        tpm_limit: body.tpm_limit ?? null,
        rpm_limit: body.rpm_limit ?? null,
        metadata: body.metadata ?? {},
        blocked: body.blocked ?? false,
        created_at: at,
        updated_at: at,
      }
      await repository.saveTeam(team)
      return { ...team, spend: 0, budget_reset_at: resetAt(team), members_with_roles: [] }
    },

    /** `/team/info`: `{ team_id, team_info, keys, team_memberships }`. */
    async teamInfo(teamId: string): Promise<Json> {
      const team = await repository.getTeam(teamId)
      if (team === undefined) throw new ManagementError(404, `Team ${teamId} not found: create it with /team/new.`, { param: 'team_id' })
      const keys = await repository.listKeys({ team_id: teamId })
      return {
        team_id: teamId,
        team_info: { ...team, spend: await spendOf('team', teamId, team), budget_reset_at: resetAt(team), members_with_roles: [] },
        keys: await Promise.all(keys.map(listedKey)),
        team_memberships: [],
      }
    },
  }
}

/** The management operations; see {@link createKeyService}. */
export type KeyService = ReturnType<typeof createKeyService>
