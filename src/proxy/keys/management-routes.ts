/**
 * The HTTP side of key management and spend reads, at LiteLLM's paths: `POST /key/generate`,
 * `/key/update`, `/key/delete`, `/key/block`, `/key/unblock`, `GET /key/info`, `GET /key/list`; `POST /user/new`,
 * `GET /user/info`; `POST /team/new`, `GET /team/info`; `GET /spend/logs`, `GET /global/spend/report`.
 * Each needs the master key, except `/key/info`, which a virtual key may call about itself (as in
 * LiteLLM). Errors are LiteLLM's shape, `{ error: { message, type, param, code } }`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { isValidationError } from '../../errors'
import { scrubProcessSecrets } from '../../secret-scrubber'
import { validate } from '../../validate'
import { presentedKey, type AuthCheck } from '../auth'
import { identify } from '../exchange'
import { acceptsJson, methodNotAllowed, readJsonBody, send, sendJson } from '../http-io'
import { openAiError, toOpenAiError } from '../openai-errors'
import type { OriginPolicy } from '../origin-policy'
import type { KeyAccess } from './access'
import type { Database } from './database'
import { hashKey, tokenOf } from './key-hash'
import { ManagementError, type KeyService } from './key-service'
import { blockKeyBody, deleteKeysBody, generateKeyBody, listKeysQuery, newTeamBody, newUserBody, updateKeyBody } from './management-bodies'
import { RepositoryUnavailableError } from './records'
import { globalSpendReport, spendLogs, type SpendTables } from './spend-queries'

/** What the routes need; built once per server. */
export interface ManagementContext {
  service: KeyService
  access: KeyAccess
  isMaster: AuthCheck
  policy: OriginPolicy
  maxBodyBytes: number
  /** The database of the spend rows; without one the spend routes say how to get one. */
  database?: Database
  tables?: SpendTables
}

type Handler = (request: IncomingMessage, query: URLSearchParams, body: Record<string, unknown>) => Promise<unknown>

/** The paths these routes answer. */
export const managementPaths = new Set(['/key/generate', '/key/update', '/key/delete', '/key/block', '/key/unblock', '/key/info', '/key/list', '/user/new', '/user/info', '/team/new', '/team/info', '/spend/logs', '/global/spend/report'])

/**
 * Builds the routes; the returned function answers a request to one of {@link managementPaths}.
 *
 * @example
 * ```ts
 * const manage = createManagementRoutes(context)
 * if (managementPaths.has(path)) return manage(request, response, path, query)
 * ```
 */
export function createManagementRoutes(context: ManagementContext): (request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams) => Promise<void> {
  const { service } = context
  const required = (query: URLSearchParams, name: string): string => {
    const value = query.get(name)
    if (!value) throw new ManagementError(400, `Query parameter ${name} is required (?${name}=...).`, { param: name })
    return value
  }
  const spendDatabase = (): { database: Database; tables: SpendTables } => {
    if (!context.database || !context.tables) throw new ManagementError(400, 'Database not connected: spend logs are kept in PostgreSQL. Set DATABASE_URL (or general_settings.database_url) and restart the proxy.', { param: null })
    return { database: context.database, tables: context.tables }
  }
  const posts: Record<string, Handler> = {
    '/key/generate': (_, __, body) => service.generateKey(validate(generateKeyBody, body, '/key/generate body')),
    '/key/update': (_, __, body) => service.updateKey(validate(updateKeyBody, body, '/key/update body')),
    '/key/delete': (_, __, body) => service.deleteKeys(validate(deleteKeysBody, body, '/key/delete body')),
    '/key/block': (_, __, body) => service.setBlocked(validate(blockKeyBody, body, '/key/block body').key, true),
    '/key/unblock': (_, __, body) => service.setBlocked(validate(blockKeyBody, body, '/key/unblock body').key, false),
    '/user/new': (_, __, body) => service.newUser(validate(newUserBody, body, '/user/new body')),
    '/team/new': (_, __, body) => service.newTeam(validate(newTeamBody, body, '/team/new body')),
  }
  const gets: Record<string, Handler> = {
    '/key/info': (request, query) => service.keyInfo(query.get('key') ?? presentedKey(request.headers)!.key!),
    '/key/list': (_, query) => service.listKeys(validate(listKeysQuery, Object.fromEntries(query), '/key/list query')),
    '/user/info': (_, query) => service.userInfo(required(query, 'user_id')),
    '/team/info': (_, query) => service.teamInfo(required(query, 'team_id')),
    '/spend/logs': (_, query) => {
      const { database, tables } = spendDatabase()
      return spendLogs(database, tables, query)
    },
    '/global/spend/report': (_, query) => {
      const { database, tables } = spendDatabase()
      return globalSpendReport(database, tables, query)
    },
  }

  /** True when the request may call `path`; answers 401 otherwise. */
  const allowed = async (request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams): Promise<boolean> => {
    if (context.isMaster(request.headers)) return true
    if (path === '/key/info') {
      // A virtual key may read its own info, as in LiteLLM.
      const principal = await context.access.authenticate(request.headers)
      if ('refusal' in principal) {
        send(response, principal.refusal)
        return false
      }
      const asked = query.get('key')
      if (principal.kind === 'virtual' && (asked === null || tokenOf(asked) === principal.token)) return true
    }
    const presented = presentedKey(request.headers)?.key
    const shown = presented === undefined ? 'no key' : `a key that is not the master key (hash ${hashKey(presented).slice(0, 12)}...)`
    send(response, openAiError(401, `Authentication Error, ${path} needs the proxy master key (general_settings.master_key); the request sent ${shown}.`, { type: 'auth_error', param: 'None', code: '401' }))
    return false
  }

  return async function manage(request, response, path, query) {
    identify(response)
    const handler = request.method === 'GET' ? gets[path] : posts[path]
    if (handler === undefined) return methodNotAllowed(response, gets[path] ? 'GET' : 'POST')
    if (!context.policy.admit(request, response) || !(await allowed(request, response, path, query))) return
    let body: Record<string, unknown> = {}
    if (request.method === 'POST') {
      if (!acceptsJson(request, response)) return
      const read = await readJsonBody(request, response, context.maxBodyBytes)
      if (read === undefined) return
      body = read
    }
    try {
      sendJson(response, 200, JSON.stringify(await handler(request, query, body)))
    } catch (error) {
      send(response, managementError(error))
    }
  }
}

function managementError(error: unknown) {
  if (error instanceof ManagementError) return error.response
  if (isValidationError(error)) {
    const answer = toOpenAiError(error)
    return openAiError(400, (JSON.parse(answer.body) as { error: { message: string } }).error.message, { type: 'bad_request_error', param: error.path || null, code: '400' })
  }
  if (error instanceof RepositoryUnavailableError) return openAiError(503, error.message, { type: 'service_unavailable', code: '503', headers: { 'retry-after': '1' } })
  return openAiError(500, scrubProcessSecrets(`Internal error in the proxy's key management: ${(error as Error).message}`), { type: 'internal_error', code: '500' })
}
