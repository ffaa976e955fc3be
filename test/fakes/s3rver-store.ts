/**
 * s3rver (a local S3 written for tests) on 127.0.0.1, port 0, in a temporary directory, with one
 * bucket; and how to read back what was written, through requests signed by `aws4` with s3rver's
 * account (`S3RVER` / `S3RVER`), as any S3 client would.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import aws4 from 'aws4'
import S3rver from 's3rver'

/** s3rver's one account: a request signed with another key is refused (`InvalidAccessKeyId`). */
export const s3rverCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

export interface LocalS3 {
  url: string
  bucket: string
  /** Keys under `prefix`, as ListObjectsV2 returns them. */
  list(prefix?: string): Promise<string[]>
  /** An object's content as text. */
  get(key: string): Promise<string>
  close(): Promise<void>
}

export async function startLocalS3(bucket = 'llm-logs'): Promise<LocalS3> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'))
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, vhostBuckets: false, configureBuckets: [{ name: bucket }] })
  const { port } = await server.run()
  const host = `127.0.0.1:${port}`

  async function signedGet(path: string): Promise<string> {
    const signed = aws4.sign({ host, path, method: 'GET', service: 's3', region: 'us-east-1' }, s3rverCredentials)
    const response = await fetch(`http://${host}${path}`, { headers: signed.headers as Record<string, string> })
    const text = await response.text()
    if (!response.ok) throw new Error(`s3rver answered ${response.status} to GET ${path}: ${text}`)
    return text
  }

  return {
    url: `http://${host}`,
    bucket,
    async list(prefix = '') {
      const xml = await signedGet(`/${bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}`)
      return [...xml.matchAll(/<Key>([^<]+)<\/Key>/g)].map((match) => match[1]!)
    },
    get: (key) => signedGet(`/${bucket}/${key}`),
    async close() {
      await server.close()
      await rm(directory, { recursive: true, force: true })
    },
  }
}
