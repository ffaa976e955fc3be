/**
 * LiteLLM's deployment cooldowns, shared by every replica through the store: a deployment that fails
 * more than `allowed_fails` times within `cooldown_time` is left out of routing for `cooldown_time`.
 * Only failures that say something about the deployment count, as LiteLLM counts them: 429, 401,
 * 404, 408 and 5xx answers; not other 4xx (the request's fault), nor connection errors, nor cancels.
 */
import { isAbortError, isLlmError, type LlmError } from '../errors'
import type { SharedStore } from '../shared-state/store'
import type { RoutingSettings } from './routing-strategies'

/** Cooldowns of the deployments of one proxy (and of every replica sharing its store). */
export interface Cooldowns {
  /** Of `ids`, those cooling down now, each with the ms left. */
  cooling(ids: ReadonlyArray<string>): Promise<Map<string, number>>
  /** Counts a failed attempt at `id`; resolves true when it put the deployment in cooldown. */
  failed(id: string, error: unknown): Promise<boolean>
}

/**
 * The cooldowns `settings` ask for, or undefined when they are off (`allowed_fails` unset,
 * `disable_cooldowns`, or `cooldown_time: 0`).
 *
 * @example
 * ```ts
 * const cooldowns = createCooldowns({ ...defaultRouting, allowedFails: 1, cooldownTimeMs: 30_000 }, store)
 * await cooldowns?.failed('deployment-a', error)
 * ```
 */
export function createCooldowns(settings: RoutingSettings, store: SharedStore): Cooldowns | undefined {
  const { allowedFails, cooldownTimeMs } = settings
  if (allowedFails === undefined || settings.disableCooldowns || cooldownTimeMs <= 0) return undefined
  const untilKey = (id: string) => `cooldown:until:${id}`
  return {
    async cooling(ids) {
      const now = Date.now()
      const until = await Promise.all(ids.map((id) => store.get(untilKey(id))))
      const cooling = new Map<string, number>()
      ids.forEach((id, index) => {
        const left = Number(until[index] ?? 0) - now
        if (left > 0) cooling.set(id, left)
      })
      return cooling
    },
    async failed(id, error) {
      if (!coolsDown(error)) return false
      // Failures are counted from the first one, for cooldown_time.
      const fails = await store.increment(`cooldown:fails:${id}`, 1, { ttlMs: cooldownTimeMs })
      if (fails <= allowedFails) return false
      await store.set(untilKey(id), String(Date.now() + cooldownTimeMs), { ttlMs: cooldownTimeMs })
      return true
    },
  }
}

/** Whether a failure counts toward a cooldown (LiteLLM's `_is_cooldown_required`). */
export function coolsDown(error: unknown): boolean {
  if (!isLlmError(error) || isAbortError(error)) return false
  const { status } = error as LlmError
  if (status === undefined) return false
  if (status >= 400 && status < 500) return status === 429 || status === 401 || status === 404 || status === 408
  return status >= 500
}
