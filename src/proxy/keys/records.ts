/**
 * What the proxy stores about virtual keys, internal users and teams: the columns of LiteLLM's
 * `LiteLLM_VerificationToken`, `LiteLLM_UserTable` and `LiteLLM_TeamTable` (litellm/proxy/schema.prisma)
 * that budgets and limits need, under LiteLLM's names, so a record reads on the wire as LiteLLM's does.
 * Spend is not a column here: it is a running total in the shared store, per budget period.
 */

/** A virtual key as stored: its sha256 hash, never the key itself. */
export interface KeyRecord {
  /** sha256 of the key, hex (LiteLLM's `token`). */
  token: string
  /** `sk-...` and the key's last four characters, for people to recognise it. */
  key_name: string
  key_alias: string | null
  user_id: string | null
  team_id: string | null
  /** Model names (or `provider/*` patterns) the key may call; empty: every model (or the team's). */
  models: string[]
  max_budget: number | null
  budget_duration: string | null
  tpm_limit: number | null
  rpm_limit: number | null
  max_parallel_requests: number | null
  metadata: Record<string, unknown>
  /** ISO 8601 time after which the key no longer works; null: never. */
  expires: string | null
  blocked: boolean
  created_at: string
  updated_at: string
}

/** An internal user (the owner of keys), with its own budget and limits. */
export interface UserRecord {
  user_id: string
  user_alias: string | null
  user_email: string | null
  models: string[]
  max_budget: number | null
  budget_duration: string | null
  tpm_limit: number | null
  rpm_limit: number | null
  metadata: Record<string, unknown>
  created_at: string
  updated_at: string
}

/** A team: keys with its `team_id` share its budget and limits. */
export interface TeamRecord {
  team_id: string
  team_alias: string | null
  models: string[]
  max_budget: number | null
  budget_duration: string | null
  tpm_limit: number | null
  rpm_limit: number | null
  metadata: Record<string, unknown>
  blocked: boolean
  created_at: string
  updated_at: string
}

/** Which keys to list: those matching every field given (all keys when none is), oldest first. */
export interface KeyFilter {
  user_id?: string
  team_id?: string
  key_alias?: string
}

/**
 * Where keys, users and teams are kept: PostgreSQL (`DATABASE_URL`) or this process's memory.
 *
 * @example
 * ```ts
 * await repository.saveKey(record)
 * const found = await repository.getKey(record.token)
 * ```
 */
export interface KeyRepository {
  readonly kind: 'postgres' | 'memory'
  getKey(token: string): Promise<KeyRecord | undefined>
  getKeyByAlias(alias: string): Promise<KeyRecord | undefined>
  /** Inserts or replaces; throws {@link DuplicateAliasError} when another key has the alias. */
  saveKey(record: KeyRecord): Promise<void>
  /** Deletes the keys there are; resolves to the tokens it deleted. */
  deleteKeys(tokens: string[]): Promise<string[]>
  listKeys(filter: KeyFilter): Promise<KeyRecord[]>
  getUser(userId: string): Promise<UserRecord | undefined>
  saveUser(record: UserRecord): Promise<void>
  getTeam(teamId: string): Promise<TeamRecord | undefined>
  saveTeam(record: TeamRecord): Promise<void>
  close(): Promise<void>
}

/** Another key already has the alias asked for (LiteLLM keeps `key_alias` unique too). */
export class DuplicateAliasError extends Error {
  constructor(alias: string) {
    super(`key_alias "${alias}" is already used by another key: choose another alias, or update that key with /key/update.`)
    this.name = 'DuplicateAliasError'
  }
}

/** The repository could not be reached (PostgreSQL down, a timeout): the caller decides to fail open or closed. */
export class RepositoryUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'RepositoryUnavailableError'
  }
}
