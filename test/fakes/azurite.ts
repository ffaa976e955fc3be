/**
 * Microsoft's Azurite Blob emulator as a child process on 127.0.0.1, port 0, in a temporary folder,
 * telemetry off; with one container made, and the blobs read back through `@azure/storage-blob`.
 * Azurite checks Shared Key and SAS signatures against its well-known development account.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob'

/** Azurite's development account (documented, the same in every Azurite). */
export const devAccount = {
  name: 'devstoreaccount1',
  key: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
}

export interface Azurite {
  /** The account's URL: `http://127.0.0.1:<port>/devstoreaccount1`. */
  accountUrl: string
  container: ContainerClient
  /** Names of the blobs under `prefix`. */
  list(prefix?: string): Promise<string[]>
  /** A blob's content as text. */
  read(name: string): Promise<string>
  close(): Promise<void>
}

export async function startAzurite(containerName = 'llm-logs'): Promise<Azurite> {
  const location = await mkdtemp(join(tmpdir(), 'azurite-'))
  const main = createRequire(import.meta.url).resolve('azurite/dist/src/blob/main.js')
  const child: ChildProcess = spawn(
    process.execPath,
    [main, '--blobHost', '127.0.0.1', '--blobPort', '0', '--location', location, '--silent', '--disableTelemetry', '--skipApiVersionCheck'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const address = await new Promise<string>((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => reject(new Error(`azurite did not start within 15 s: ${output}`)), 15_000)
    const read = (part: Buffer) => {
      output += part.toString()
      const match = /listens on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    }
    child.stdout!.on('data', read)
    child.stderr!.on('data', read)
    child.once('exit', (code) => reject(new Error(`azurite exited with ${code}: ${output}`)))
  })
  const accountUrl = `${address}/${devAccount.name}`
  const service = new BlobServiceClient(accountUrl, new StorageSharedKeyCredential(devAccount.name, devAccount.key))
  const container = service.getContainerClient(containerName)
  await container.create()
  return {
    accountUrl,
    container,
    async list(prefix = '') {
      const names: string[] = []
      for await (const blob of container.listBlobsFlat({ prefix })) names.push(blob.name)
      return names
    },
    async read(name) {
      return (await container.getBlockBlobClient(name).downloadToBuffer()).toString('utf8')
    },
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
      await rm(location, { recursive: true, force: true })
    },
  }
}
