/**
 * `GET /v1/models` and `GET /v1/models/{name}`: the config's model names, as OpenAI lists models. A
 * virtual key sees only the models it may call, as LiteLLM lists them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { methodNotAllowed, send, sendJson } from './http-io'
import type { KeyAccess } from './keys/access'
import { openAiError } from './openai-errors'
import type { OriginPolicy } from './origin-policy'
import { modelNotFoundMessage, type Router } from './router'

/** What the route needs; built once per server. */
export interface ModelsRouteContext {
  router: Router
  policy: OriginPolicy
  /** Answers 401 itself and returns false when the request's key is refused (the master-key check). */
  authorised(request: IncomingMessage, response: ServerResponse): boolean
  /** The body of `GET /v1/models`, serialised once. */
  modelsBody: string
  /** Virtual keys: whose models a key may see. */
  access?: KeyAccess
}

/**
 * Builds the route.
 *
 * @example
 * ```ts
 * const models = createModelsRoute({ router, policy, authorised, modelsBody })
 * if (path.startsWith('/v1/models')) await models(request, response, path)
 * ```
 */
export function createModelsRoute(context: ModelsRouteContext): (request: IncomingMessage, response: ServerResponse, path: string) => Promise<void> {
  const { router, policy, authorised, access } = context
  return async function models(request, response, path) {
    if (request.method !== 'GET') return methodNotAllowed(response, 'GET')
    if (!policy.admit(request, response) || !authorised(request, response)) return
    let allowed: ((names: readonly string[]) => string[]) | undefined
    if (access !== undefined) {
      const principal = await access.authenticate(request.headers)
      if ('refusal' in principal) return send(response, principal.refusal)
      if (principal.kind === 'virtual') allowed = (names) => access.allowedModels(principal, names)
    }
    const slash = path.indexOf('/models/')
    if (slash === -1) {
      const names = allowed?.(router.modelNames)
      return sendJson(response, 200, names === undefined ? context.modelsBody : JSON.stringify({ object: 'list', data: names.map(modelEntry) }))
    }
    const id = decodePath(path.slice(slash + '/models/'.length))
    if (!router.find(id) || allowed?.([id]).length === 0) {
      return send(response, openAiError(404, modelNotFoundMessage(id, router.modelNames), { param: 'model', code: 'model_not_found' }))
    }
    sendJson(response, 200, JSON.stringify(modelEntry(id)))
  }
}

function decodePath(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    // Not valid percent-encoding: no model has such a name, and the 404 says so.
    return segment
  }
}

const startedAt = Math.floor(Date.now() / 1000)

/**
 * One entry of `GET /v1/models`.
 *
 * @example
 * ```ts
 * modelEntry('gpt-4o') // { id: 'gpt-4o', object: 'model', created: 1767225600, owned_by: 'llm-onion' }
 * ```
 */
export function modelEntry(id: string): { id: string; object: 'model'; created: number; owned_by: string } {
  return { id, object: 'model', created: startedAt, owned_by: 'llm-onion' }
}
