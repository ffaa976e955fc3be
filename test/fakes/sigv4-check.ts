/**
 * Checks an AWS Signature V4 the way the service would, with an implementation independent of the
 * one that signed: `aws4` recomputes the signature of the request as received (method, path, query,
 * the signed headers, the body) and the body's SHA-256 is compared with `x-amz-content-sha256`.
 */
import { createHash } from 'node:crypto'
import aws4 from 'aws4'
import type { ReceivedRequest } from '../../src/testing/receiver'

export interface SigV4Parts {
  accessKeyId: string
  date: string
  region: string
  service: string
  signedHeaders: string[]
  signature: string
}

/** The parts of an `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` header. */
export function sigV4Parts(authorization: string | undefined): SigV4Parts {
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(authorization ?? '')
  if (!match) throw new Error(`not a SigV4 authorization header: ${authorization}`)
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match
  return { accessKeyId: accessKeyId!, date: date!, region: region!, service: service!, signedHeaders: signedHeaders!.split(';'), signature: signature! }
}

/**
 * Throws unless `request` carries a valid SigV4 signature made with `secretAccessKey` (and, when the
 * service is s3, a body whose SHA-256 is the one signed). Returns the parsed parts.
 */
export function verifySigV4(request: ReceivedRequest, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): SigV4Parts {
  const parts = sigV4Parts(request.headers.authorization)
  const headers: Record<string, string> = {}
  for (const name of parts.signedHeaders) {
    const value = request.headers[name]
    if (value === undefined) throw new Error(`signed header ${name} missing from the request`)
    headers[name] = Array.isArray(value) ? value.join(',') : value
  }
  const bodyHash = createHash('sha256').update(request.raw).digest('hex')
  const claimed = request.headers['x-amz-content-sha256']
  if (claimed !== undefined && claimed !== bodyHash) throw new Error(`x-amz-content-sha256 ${claimed} is not the body's SHA-256 ${bodyHash}`)
  const signer = new aws4.RequestSigner(
    {
      host: headers.host,
      path: request.query === '' ? request.path : `${request.path}?${request.query}`,
      method: request.method,
      headers,
      body: request.raw,
      service: parts.service,
      region: parts.region,
      doNotModifyHeaders: true,
    } as aws4.Request,
    credentials,
  )
  // With doNotModifyHeaders aws4 would take the time from the clock, not from x-amz-date: the time signed is the header's.
  ;(signer as unknown as { datetime: string }).datetime = headers['x-amz-date'] ?? ''
  const recomputed = signer.sign()
  const expected = sigV4Parts(String((recomputed.headers as Record<string, unknown>).Authorization))
  if (expected.accessKeyId !== credentials.accessKeyId || parts.accessKeyId !== credentials.accessKeyId) throw new Error(`signed with key ${parts.accessKeyId}`)
  if (expected.signature !== parts.signature) throw new Error(`SigV4 signature mismatch: got ${parts.signature}, aws4 computes ${expected.signature}`)
  return parts
}
