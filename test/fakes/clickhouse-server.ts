/**
 * A throwaway ClickHouse server (Debian's `clickhouse-server`, installed by .ci/run) for one test file:
 * generated config on free local ports, data in a temporary directory, a `default` user without a
 * password (the test's reader) and a `writer` user with the password the test plants.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface ClickhouseServer {
  /** The HTTP interface, `http://127.0.0.1:<port>`. */
  url: string
  /** Runs a query as `default` and returns the rows of `FORMAT JSONEachRow`. */
  rows(query: string): Promise<Array<Record<string, unknown>>>
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Starts `clickhouse-server` and waits until its HTTP interface answers `/ping` (at most 30 s). */
export async function startClickhouse(writer: { username: string; password: string }): Promise<ClickhouseServer> {
  const directory = await mkdtemp(join(tmpdir(), 'llm-onion-clickhouse-'))
  const [httpPort, tcpPort] = [await freePort(), await freePort()]
  await writeFile(
    join(directory, 'config.xml'),
    `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${directory}/server.log</log><errorlog>${directory}/error.log</errorlog><console>0</console></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${directory}/data/</path>
  <tmp_path>${directory}/tmp/</tmp_path>
  <user_files_path>${directory}/user_files/</user_files_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>104857600</mark_cache_size>
</yandex>
`,
  )
  const user = (name: string, password: string) =>
    `<${name}><password>${password}</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></${name}>`
  await writeFile(
    join(directory, 'users.xml'),
    `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users>${user('default', '')}${user(writer.username, writer.password)}</users>
  <quotas><default></default></quotas>
</yandex>
`,
  )
  const child: ChildProcess = spawn('clickhouse-server', [`--config-file=${join(directory, 'config.xml')}`], {
    cwd: directory,
    stdio: 'ignore',
    // Debian installs it in /usr/sbin, which a non-root PATH may lack.
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin` },
  })
  let exited: Error | undefined
  child.once('error', (error) => (exited = error))
  child.once('exit', (code) => (exited ??= new Error(`clickhouse-server exited with ${code}; see ${directory}/error.log (is Debian's clickhouse-server installed? .ci/run installs it)`)))
  const url = `http://127.0.0.1:${httpPort}`
  const stop = async () => {
    if (child.exitCode === null && !exited) {
      const gone = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await gone
    }
    await rm(directory, { recursive: true, force: true })
  }
  const deadline = Date.now() + 30_000
  for (;;) {
    if (exited) {
      await rm(directory, { recursive: true, force: true })
      throw exited
    }
    const ready = await fetch(`${url}/ping`).then((response) => response.ok, () => false)
    if (ready) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`clickhouse-server did not answer on ${url} within 30 s`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    url,
    async rows(query) {
      const response = await fetch(`${url}/`, { method: 'POST', body: `${query} FORMAT JSONEachRow` })
      const text = await response.text()
      if (!response.ok) throw new Error(`ClickHouse answered ${response.status}: ${text}`)
      return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
    },
    stop,
  }
}
