/**
 * AWS Signature Version 4 for the sinks that speak an S3-compatible or AWS JSON API (S3, R2, MinIO,
 * GCS's XML API with HMAC keys). The signing is `@smithy/signature-v4`'s, the one the AWS SDK uses,
 * with `@smithy/hash-node`'s SHA-256; both load on the first signature, never at import.
 */
/** The key pair (and session token) a request is signed with. */
export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

/** One request to sign: its method, full URL, headers and body. */
export interface RequestToSign {
  method: string
  url: URL
  headers: Record<string, string>
  body: string | Uint8Array
}

/** Signs a request: the headers to send, the caller's plus `authorization`, `x-amz-date`, `x-amz-content-sha256`. */
export type SigV4Signer = (request: RequestToSign) => Promise<Record<string, string>>

type SignatureModule = typeof import('@smithy/signature-v4')
type HashModule = typeof import('@smithy/hash-node')
let loaded: Promise<[SignatureModule, HashModule]> | undefined

/**
 * A signer for one service and region. `service: 's3'` signs the path as given (S3 does not escape
 * it twice) and the body's SHA-256 in `x-amz-content-sha256`.
 *
 * @example
 * ```ts
 * const sign = sigV4Signer({ credentials, region: 'eu-west-1', service: 's3' })
 * const headers = await sign({ method: 'PUT', url: new URL('https://bucket.s3.eu-west-1.amazonaws.com/a.jsonl'), headers: {}, body: '{}\n' })
 * ```
 */
export function sigV4Signer(settings: { credentials: AwsCredentials; region: string; service: string }): SigV4Signer {
  let signer: InstanceType<SignatureModule['SignatureV4']> | undefined
  return async (request) => {
    if (signer === undefined) {
      const [{ SignatureV4 }, { Hash }] = await (loaded ??= Promise.all([import('@smithy/signature-v4'), import('@smithy/hash-node')]))
      signer = new SignatureV4({
        credentials: settings.credentials,
        region: settings.region,
        service: settings.service,
        sha256: Hash.bind(null, 'sha256'),
        uriEscapePath: settings.service !== 's3',
        applyChecksum: true,
      })
    }
    const { url } = request
    const query: Record<string, string> = {}
    for (const [name, value] of url.searchParams) query[name] = value
    const signed = await signer.sign({
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: url.pathname,
      query,
      headers: { ...request.headers, host: url.host },
      body: request.body,
    })
    return signed.headers
  }
}
