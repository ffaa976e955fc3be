/**
 * The S3 API's object write, shared by every store that speaks it (S3, R2, MinIO, GCS's XML API with
 * HMAC keys): a JSON-lines object per batch, PUT under `{objectBase}/{key}` and signed with SigV4.
 */
import type { Sink } from './sink'
import { keyPath, objectStoreSink } from './object-store-sink'
import { sigV4Signer, type AwsCredentials } from './sigv4-signer'

export interface SigV4ObjectStoreOptions {
  /** Names the sink in counters and warnings. */
  name: string
  /** The bucket's URL, objects under it: `https://bucket.s3.eu-west-3.amazonaws.com`, `http://127.0.0.1:9000/bucket`. */
  objectBase: string
  /** Key prefix, without slashes at the ends. */
  prefix?: string
  credentials: AwsCredentials
  /** The signature's region (`auto` for R2 and GCS). */
  region: string
  maxBatchSize?: number
  timeoutMs?: number
}

/**
 * A JSON-lines object store over the S3 API.
 *
 * @example
 * ```ts
 * const sink = sigV4ObjectStoreSink({ name: 's3', objectBase: 'http://127.0.0.1:9000/logs', credentials, region: 'us-east-1' })
 * ```
 */
export function sigV4ObjectStoreSink(options: SigV4ObjectStoreOptions): Sink<string> {
  const sign = sigV4Signer({ credentials: options.credentials, region: options.region, service: 's3' })
  return objectStoreSink({
    name: options.name,
    prefix: options.prefix,
    maxBatchSize: options.maxBatchSize,
    timeoutMs: options.timeoutMs,
    async prepare(key, body) {
      const url = new URL(`${options.objectBase}/${keyPath(key)}`)
      const headers = await sign({ method: 'PUT', url, headers: { 'content-type': 'application/x-ndjson' }, body })
      return { url, headers }
    },
  })
}

/**
 * The URL objects of `bucket` live under: `{endpoint}/{bucket}` (path style) or `{bucket}.{host}`.
 *
 * @example
 * ```ts
 * bucketBase('https://s3.eu-west-3.amazonaws.com', 'logs', false) // 'https://logs.s3.eu-west-3.amazonaws.com'
 * ```
 */
export function bucketBase(endpoint: string, bucket: string, pathStyle: boolean): string {
  if (pathStyle) return `${endpoint}/${encodeURIComponent(bucket)}`
  const url = new URL(endpoint)
  url.hostname = `${bucket}.${url.hostname}`
  return url.toString().replace(/\/+$/, '')
}

/**
 * A key prefix without slashes at its ends; undefined when empty.
 *
 * @example
 * ```ts
 * trimSlashes('/llm/') // 'llm'
 * ```
 */
export function trimSlashes(prefix: string | undefined): string | undefined {
  const trimmed = prefix?.replace(/^\/+|\/+$/g, '')
  return trimmed === '' ? undefined : trimmed
}
