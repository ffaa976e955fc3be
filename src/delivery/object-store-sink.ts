/**
 * A sink that writes each batch as one JSON-lines object (file) to an object store: S3 and the
 * S3-compatible stores, Google Cloud Storage, Azure Blob. The store-specific part, the URL of a key
 * and how the request is authorised (a SigV4 signature, a SAS), is a function the integration gives;
 * the sink names the object, PUTs it through an `undici` keep-alive pool and turns the answer into
 * what the delivery queue understands (retry on 408, 429 and 5xx, drop otherwise).
 */
import { randomUUID } from 'node:crypto'
import type { Pool } from 'undici'
import { isRetryableHttpStatus, parseRetryAfter } from './http-sink'
import { scrubProcessSecrets } from '../secret-scrubber'
import { DeliveryError, type Sink } from './sink'

/** The request that writes one object: where, and the headers that authorise it. */
export interface ObjectRequest {
  url: URL
  headers: Record<string, string>
}

export interface ObjectStoreSinkOptions {
  /** Names the sink in counters and warnings (`s3`). */
  name: string
  /** Key prefix (a folder), without slashes at the ends; default none. */
  prefix?: string
  /** The request that PUTs `body` under `key`: the store's URL and its signed or SAS headers. */
  prepare: (key: string, body: string) => Promise<ObjectRequest>
  /** Lines per object (default 100): one object per batch. */
  maxBatchSize?: number
  /** Per-request time limit in ms (default 10,000). */
  timeoutMs?: number
}

let loadedUndici: Promise<typeof import('undici')> | undefined

/**
 * The key of an object written at `now`: `{prefix}/YYYY-MM-DD/HH-MM-SS-mmm-{uuid}.jsonl` in UTC, so a
 * day's calls share a folder (LiteLLM's `s3_path` layout) and keys sort by time.
 *
 * @example
 * ```ts
 * partitionedKey('llm-logs', new Date('2026-12-04T19:32:01.123Z')) // 'llm-logs/2026-12-04/19-32-01-123-<uuid>.jsonl'
 * ```
 */
export function partitionedKey(prefix: string | undefined, now: Date): string {
  const iso = now.toISOString()
  const name = `${iso.slice(11, 23).replace(/[:.]/g, '-')}-${randomUUID()}.jsonl`
  return [prefix, iso.slice(0, 10), name].filter((part) => part !== undefined && part !== '').join('/')
}

/**
 * A {@link Sink} of JSON lines: each batch becomes one object whose lines are the batch's items, PUT
 * under a date-partitioned key. A retried batch is written under the same key, so a retry after a
 * lost answer overwrites the object instead of duplicating it.
 *
 * @example
 * ```ts
 * const sink = objectStoreSink({ name: 's3', prefix: 'logs', prepare: async (key, body) => ({ url: new URL(`http://127.0.0.1:4568/bucket/${key}`), headers: {} }) })
 * ```
 */
export function objectStoreSink(options: ObjectStoreSinkOptions): Sink<string> {
  const { name, prepare } = options
  const timeoutMs = options.timeoutMs ?? 10_000
  const keys = new WeakMap<string[], string>()
  const pools = new Map<string, Pool>()

  return {
    name,
    maxBatchSize: options.maxBatchSize ?? 100,
    async send(lines, signal) {
      let key = keys.get(lines)
      if (key === undefined) keys.set(lines, (key = partitionedKey(options.prefix, new Date())))
      const body = `${lines.join('\n')}\n`
      // One deadline for the whole exchange, and the queue's signal (close() giving up) stops it too.
      const deadline = new AbortController()
      const timer = setTimeout(() => deadline.abort(new Error(`no complete answer within ${timeoutMs} ms (the sink's timeoutMs)`)), timeoutMs)
      timer.unref()
      const stop = () => deadline.abort(signal.reason)
      if (signal.aborted) stop()
      else signal.addEventListener('abort', stop, { once: true })
      let status: number
      let text = ''
      let retryAfter: string | string[] | undefined
      let origin = ''
      try {
        const { url, headers } = await prepare(key, body)
        origin = url.origin
        const undici = await (loadedUndici ??= import('undici'))
        let pool = pools.get(origin)
        if (pool === undefined) pools.set(origin, (pool = new undici.Pool(origin)))
        const response = await pool.request({ path: `${url.pathname}${url.search}`, method: 'PUT', headers, body, signal: deadline.signal })
        status = response.statusCode
        if (status >= 200 && status < 300) {
          await response.body.dump()
          return
        }
        retryAfter = response.headers['retry-after']
        text = await response.body.text().catch(() => '')
      } catch (error) {
        const where = origin === '' ? 'could not prepare the request' : `could not reach ${origin}`
        throw new DeliveryError(`${name}: ${where}: ${scrubProcessSecrets((error as Error).message)}`, { retryable: true, cause: error })
      } finally {
        clearTimeout(timer)
        signal.removeEventListener('abort', stop)
      }
      // The store's error names the key and bucket, never the secret; it is scrubbed all the same.
      throw new DeliveryError(`${name}: ${origin} answered ${status} writing ${key}: ${scrubProcessSecrets(text.slice(0, 300))}`, {
        status,
        retryable: isRetryableHttpStatus(status),
        retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
      })
    },
    async close() {
      const open = [...pools.values()]
      pools.clear()
      await Promise.all(open.map((pool) => pool.close()))
    },
  }
}

/**
 * An object key as a URL path: each segment percent-encoded once (RFC 3986), slashes kept.
 *
 * @example
 * ```ts
 * keyPath('team a/2026-12-04/x.jsonl') // 'team%20a/2026-12-04/x.jsonl'
 * ```
 */
export function keyPath(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/')
}
