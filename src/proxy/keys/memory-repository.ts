/**
 * Keys, users and teams in this process's memory: what the proxy uses without a database. They are
 * lost when the process stops, and each worker or replica has its own (docs/proxy.md, "Virtual keys").
 */
import { DuplicateAliasError, type KeyFilter, type KeyRecord, type KeyRepository, type TeamRecord, type UserRecord } from './records'

/**
 * A {@link KeyRepository} in memory. Records are copied in and out, so a caller changing one it got
 * changes nothing stored.
 *
 * @example
 * ```ts
 * const repository = memoryKeyRepository()
 * await repository.saveKey(record)
 * ```
 */
export function memoryKeyRepository(): KeyRepository {
  const keys = new Map<string, KeyRecord>()
  const users = new Map<string, UserRecord>()
  const teams = new Map<string, TeamRecord>()
  const copy = <Record extends object>(record: Record | undefined): Record | undefined => (record === undefined ? undefined : structuredClone(record))

  return {
    kind: 'memory',
    async getKey(token) {
      return copy(keys.get(token))
    },
    async getKeyByAlias(alias) {
      for (const record of keys.values()) if (record.key_alias === alias) return copy(record)
      return undefined
    },
    async saveKey(record) {
      if (record.key_alias !== null) {
        for (const other of keys.values()) if (other.key_alias === record.key_alias && other.token !== record.token) throw new DuplicateAliasError(record.key_alias)
      }
      keys.set(record.token, structuredClone(record))
    },
    async deleteKeys(tokens) {
      return tokens.filter((token) => keys.delete(token))
    },
    async listKeys(filter: KeyFilter) {
      const wanted = Object.entries(filter).filter(([, value]) => value !== undefined) as Array<[keyof KeyFilter, string]>
      return [...keys.values()].filter((record) => wanted.every(([field, value]) => record[field] === value)).map((record) => structuredClone(record))
    },
    async getUser(userId) {
      return copy(users.get(userId))
    },
    async saveUser(record) {
      users.set(record.user_id, structuredClone(record))
    },
    async getTeam(teamId) {
      return copy(teams.get(teamId))
    },
    async saveTeam(record) {
      teams.set(record.team_id, structuredClone(record))
    },
    async close() {
      // Nothing to release: the records live as long as the proxy.
    },
  }
}
