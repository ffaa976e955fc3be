/**
 * Starting the benchmark's servers as child processes pinned to a core (`taskset -c N`), waiting
 * for the `LISTENING <url>` line they print, and stopping them by their own pid.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'

const hasTaskset = spawnSync('taskset', ['--version']).status === 0

export interface Child {
  url: string
  pid: number
  process: ChildProcess
  /** Resident set size of the child, in bytes (from /proc). */
  rss(): number
  stop(): Promise<void>
}

/**
 * Spawns `command args` (pinned to `core` when taskset exists) and resolves with the URL it prints
 * as `LISTENING <url>`, or rejects with its output if it exits or stays silent for `timeoutMs`.
 */
export function startChild(command: string, args: string[], options: { core?: number; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; url?: string; probePath?: string } = {}): Promise<Child> {
  const [file, argv] = options.core !== undefined && hasTaskset ? ['taskset', ['-c', String(options.core), command, ...args]] : [command, args]
  const child = spawn(file, argv, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  let probing: NodeJS.Timeout | undefined
  return new Promise<Child>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${command} ${args.join(' ')} did not start in ${options.timeoutMs ?? 30_000} ms:\n${output.slice(-2000)}`)), options.timeoutMs ?? 30_000)
    // A server that prints no LISTENING line (the llm-onion CLI, Portkey) is ready once `url + probePath` answers.
    const { url: probeUrl, probePath } = options
    if (probeUrl && probePath !== undefined) {
      probing = setInterval(() => {
        fetch(probeUrl + probePath).then(
          (response) => {
            void response.body?.cancel()
            ready(probeUrl)
          },
          () => undefined,
        )
      }, 100)
    }
    const onData = (data: Buffer) => {
      output += data.toString()
      if (probing) return
      const match = /LISTENING (\S+)/.exec(output)
      if (match) ready(match[1]!)
    }
    let done = false
    const ready = (url: string) => {
      if (done) return
      done = true
      clearTimeout(timer)
      clearInterval(probing)
      child.stdout!.off('data', onData)
      child.stderr!.off('data', onData)
      // Keep draining so a chatty child never blocks on a full pipe.
      child.stdout!.resume()
      child.stderr!.resume()
      resolve({
        url,
        pid: child.pid!,
        process: child,
        rss: () => rssOf(child.pid!),
        stop: () => stopChild(child),
      })
    }
    const fail = (error: Error) => {
      if (done) return
      done = true
      clearTimeout(timer)
      clearInterval(probing)
      void stopChild(child)
      reject(error)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.on('exit', (code) => fail(new Error(`${command} ${args.join(' ')} exited with ${code} before it was ready:\n${output.slice(-2000)}`)))
    child.on('error', (error) => fail(error))
  })
}

/** The RSS of `pid` and its descendants' main process, in bytes (0 when gone). */
export function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = /VmRSS:\s+(\d+) kB/.exec(status)
    return match ? Number(match[1]) * 1024 : 0
  } catch {
    return 0
  }
}

const clockTicksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100

/**
 * CPU time (user + system) `pid` has used so far, or only its thread `tid` (a process's main thread
 * has the pid as its tid), in µs, at the kernel's clock-tick resolution (0 when gone).
 */
export function cpuMicrosOf(pid: number, tid?: number): number {
  try {
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are fields 14 and 15.
    const fields = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / clockTicksPerSecond
  } catch {
    return 0
  }
}

/** SIGTERM, then SIGKILL after 3 s; resolves when the child has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

/** `node --import tsx <file>`, the way every TypeScript part of the benchmark is run. */
export function tsNode(file: string, args: string[] = []): [string, string[]] {
  return [process.execPath, ['--import', 'tsx', file, ...args]]
}
