/**
 * The `headersFor` of a sink whose service takes a short-lived bearer token fetched from another
 * endpoint (a login, an OAuth grant, a key exchange): the token is fetched in the background on the
 * first batch and reused until the moment its fetcher names.
 */

/** A fetched token and when to fetch the next one (epoch ms; before it expires). */
export interface FetchedToken {
  token: string
  renewAt: number
}

/** A sink's `headersFor` that can be told its token was refused (`httpSink` calls `forget()` on a 401). */
export interface BearerHeaders {
  (): Promise<Record<string, string>>
  /** Drops the cached token: the next batch fetches a new one. */
  forget(): void
}

/**
 * `Authorization: Bearer <token>` for each batch, from `fetchToken` once and then from the cache
 * until its `renewAt`, or until `forget()` (a 401 from the service). Batches sent at once share one
 * fetch; a failed fetch is forgotten, so the batch's retry fetches anew.
 *
 * @example
 * ```ts
 * const headersFor = cachedBearer(async () => ({ token: await login(), renewAt: Date.now() + 29 * 60_000 }))
 * httpSink({ name: 'my-service', url, encode, headersFor })
 * ```
 */
export function cachedBearer(fetchToken: () => Promise<FetchedToken>): BearerHeaders {
  let cached: { header: Record<string, string>; renewAt: number } | undefined
  let pending: Promise<Record<string, string>> | undefined
  const headersFor = async () => {
    if (cached && cached.renewAt > Date.now()) return cached.header
    pending ??= fetchToken().then(
      ({ token, renewAt }) => {
        cached = { header: { authorization: `Bearer ${token}` }, renewAt }
        pending = undefined
        return cached.header
      },
      (error: unknown) => {
        pending = undefined
        throw error
      },
    )
    return pending
  }
  return Object.assign(headersFor, {
    forget() {
      cached = undefined
    },
  })
}
