/**
 * One process per spool directory: two writers appending to the same segments would interleave
 * records and acknowledge each other's ids. A `spool.lock` file holds the owner's pid; a lock whose
 * process is gone (killed, crashed) is taken over.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

// Directories open in this process, so a second openSpool() of the same one fails too.
const openHere = new Set<string>()

function lockPath(dir: string): string {
  return join(dir, 'spool.lock')
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Takes `dir` for this process, or throws naming the process that holds it. */
export function takeSpoolLock(dir: string): void {
  const inUse = (owner: string) =>
    new Error(`The spool directory ${dir} is in use by ${owner}: give each process (each worker of a cluster) its own spool directory, or close() the other spool first.`)
  if (openHere.has(dir)) throw inUse('another open spool of this process')
  try {
    writeFileSync(lockPath(dir), String(process.pid), { flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new Error(`Cannot write ${lockPath(dir)} (${(error as Error).message}): the spool directory must be writable; give another openSpool({ dir }).`)
    }
    const owner = Number.parseInt(readFileSync(lockPath(dir), 'utf8'), 10)
    // Our own pid in a stale lock happens in containers, where a restarted process often gets the same pid.
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) throw inUse(`process ${owner}`)
    writeFileSync(lockPath(dir), String(process.pid))
  }
  openHere.add(dir)
}

/** Gives `dir` up (at close). */
export function releaseSpoolLock(dir: string): void {
  openHere.delete(dir)
  try {
    unlinkSync(lockPath(dir))
  } catch {
    // Already gone: nothing to release.
  }
}
