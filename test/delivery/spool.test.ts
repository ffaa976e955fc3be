import { spawn } from 'node:child_process'
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { open as openFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import zlib from 'node:zlib'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { openSpool, type Spool, type SpoolOptions } from '../../src/delivery/spool'
import { tableCrc32 } from '../../src/delivery/spool-record'

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url))
let dir: string
let opened: Spool[] = []
let warnings: string[] = []

function open(options: Partial<SpoolOptions> = {}): Spool {
  const spool = openSpool({ dir, flushIntervalMs: 60_000, onWarning: (message) => warnings.push(message), ...options })
  opened.push(spool)
  return spool
}

/** Closes `spool` and opens the directory again, as a restarted process would. */
async function reopen(spool: Spool, options: Partial<SpoolOptions> = {}): Promise<Spool> {
  await spool.close()
  return open(options)
}

const segmentFiles = () => readdirSync(dir).filter((name) => name.endsWith('.spool')).sort()
const items = (count: number, from = 0) => Array.from({ length: count }, (_, index) => ({ n: from + index }))

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'llm-onion-spool-'))
  warnings = []
})

afterEach(async () => {
  for (const spool of opened) await spool.close()
  opened = []
  rmSync(dir, { recursive: true, force: true })
})

describe('spool', () => {
  it('recovers what was appended and not acknowledged after a close and reopen, in append order', async () => {
    const spool = open()
    const ids = spool.append('posthog', items(5))
    await spool.flush()
    spool.acknowledge('posthog', [ids[1]!, ids[3]!])
    const restarted = await reopen(spool)
    expect(restarted.recoveredSinks()).toEqual(['posthog'])
    expect(restarted.recover('posthog')).toEqual([
      { id: ids[0], item: { n: 0 } },
      { id: ids[2], item: { n: 2 } },
      { id: ids[4], item: { n: 4 } },
    ])
    expect(restarted.stats().recovered).toBe(3)
  })

  it('runs the documented cycle: resend what was recovered, spool new items, acknowledge what was delivered', async () => {
    const earlier = open()
    earlier.append('posthog', [{ n: 1 }])
    await earlier.close()
    const resent: unknown[] = []
    const resend = (sink: string, id: number, item: unknown) => resent.push({ sink, id, item })
    const event = { n: 2 }
    const spool = openSpool({ dir }) // dir: e.g. './.llm-onion-spool'; reads what earlier processes left, at startup
    for (const sink of spool.recoveredSinks()) {
      for (const record of spool.recover(sink)) resend(sink, record.id, record.item)
    }
    const [id] = spool.append('posthog', [event]) // buffered: no disk work on the caller's stack
    // ... once posthog confirmed the batch, or it was dropped for good:
    spool.acknowledge('posthog', [id!])
    await spool.close() // writes what is buffered, fsyncs, releases the directory
    expect(resent).toEqual([{ sink: 'posthog', id: 1, item: { n: 1 } }])
    // The resent record was not acknowledged yet: the next process gets it again, and only it.
    expect(open().recover('posthog')).toEqual([{ id: 1, item: { n: 1 } }])
  })

  it('hands out recovered records once per process', async () => {
    const spool = open()
    spool.append('posthog', items(2))
    const restarted = await reopen(spool)
    expect(restarted.recover('posthog')).toHaveLength(2)
    expect(restarted.recover('posthog')).toEqual([])
    expect(restarted.recoveredSinks()).toEqual([])
  })

  it('never replays a recovered record after its acknowledgement, across a second restart', async () => {
    const spool = open()
    spool.append('posthog', items(3))
    const second = await reopen(spool)
    const recovered = second.recover('posthog')
    second.acknowledge('posthog', [recovered[0]!.id, recovered[1]!.id])
    const third = await reopen(second)
    expect(third.recover('posthog')).toEqual([recovered[2]])
    // Ids keep growing across restarts, so a new record is never mistaken for an acknowledged one.
    const [newId] = third.append('posthog', items(1, 100))
    expect(newId).toBeGreaterThan(recovered[2]!.id)
  })

  it('keeps two sinks apart: each recovers its own records, and one cannot acknowledge the other', async () => {
    const spool = open()
    const posthog = spool.append('posthog', items(2))
    const helicone = spool.append('helicone', items(2, 10))
    await spool.flush()
    spool.acknowledge('posthog', helicone as number[]) // wrong sink: ignored
    spool.acknowledge('helicone', [helicone[0]!])
    const restarted = await reopen(spool)
    expect(restarted.recoveredSinks().sort()).toEqual(['helicone', 'posthog'])
    expect(restarted.recover('posthog')).toEqual([
      { id: posthog[0], item: { n: 0 } },
      { id: posthog[1], item: { n: 1 } },
    ])
    expect(restarted.recover('helicone')).toEqual([{ id: helicone[1], item: { n: 11 } }])
  })

  it('recovers every unacknowledged item exactly once after the process is killed with SIGKILL, and no acknowledged one', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/delivery/fixtures/spool-child.ts', dir, '200', '120'], {
      cwd: repositoryRoot,
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (output += text))
    const exited = new Promise((resolve) => child.once('exit', resolve))
    const written = await new Promise<{ posthog: number[]; helicone: number[] }>((resolve, reject) => {
      child.stdout!.setEncoding('utf8').on('data', (text: string) => {
        output += text
        const match = /written (.+)\n/.exec(output)
        if (match) resolve(JSON.parse(match[1]!))
      })
      void exited.then(() => reject(new Error(`the child exited before writing:\n${output}`)))
    })
    child.kill('SIGKILL')
    await exited

    const spool = open()
    const posthog = spool.recover('posthog')
    const helicone = spool.recover('helicone')
    expect(posthog.map((record) => record.id)).toEqual(written.posthog.slice(120))
    expect(posthog.map((record) => (record.item as { n: number }).n)).toEqual(Array.from({ length: 80 }, (_, index) => 120 + index))
    expect(helicone.map((record) => record.id)).toEqual(written.helicone)
    expect(helicone[7]!.item).toEqual({ sink: 'helicone', n: 7, tokens: 7n * 10n ** 20n, bytes: Buffer.from([7, 1, 2]) })
    expect(spool.stats()).toMatchObject({ recovered: 280, corruptRecords: 0 })
    expect(spool.stats().segments).toBeGreaterThan(1)
  })

  it('ignores a torn last record (a crash mid-write) and cuts it off the file', async () => {
    const spool = open()
    spool.append('posthog', items(3))
    await spool.close()
    const [segment] = segmentFiles()
    const path = join(dir, segment!)
    const whole = statSync(path).size
    // The start of a fourth record: its header promises 200 bytes, only 5 made it to disk.
    const torn = Buffer.alloc(17)
    Buffer.from([0x1e, 0x53, 0x50, 0x01]).copy(torn)
    torn.writeUInt32LE(200, 4)
    appendFileSync(path, torn)

    const restarted = open()
    expect(restarted.recover('posthog').map((record) => record.item)).toEqual(items(3))
    expect(restarted.stats().corruptRecords).toBe(0)
    expect(statSync(path).size).toBe(whole)
    expect(warnings).toEqual([])
  })

  it('skips a corrupt record in the middle of a segment, counts it and reports it once naming the file', async () => {
    const spool = open()
    spool.append('posthog', [{ text: 'first' }, { text: 'second' }, { text: 'third' }])
    await spool.close()
    const path = join(dir, segmentFiles()[0]!)
    const data = readFileSync(path)
    const second = data.indexOf('second')
    data[second] = 'S'.charCodeAt(0) // one flipped byte: the checksum no longer matches
    writeFileSync(path, data)

    const restarted = open()
    expect(restarted.recover('posthog').map((record) => record.item)).toEqual([{ text: 'first' }, { text: 'third' }])
    expect(restarted.stats().corruptRecords).toBe(1)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(path)
  })

  it('never crashes on a segment that is garbage from its first byte', async () => {
    writeFileSync(join(dir, 'segment-000000000001.spool'), Buffer.from('not a spool segment at all'))
    const spool = open()
    expect(spool.recoveredSinks()).toEqual([])
    expect(spool.stats().corruptRecords).toBe(1)
    spool.append('posthog', items(1))
    const restarted = await reopen(spool)
    expect(restarted.recover('posthog').map((record) => record.item)).toEqual(items(1))
  })

  it('refuses items past maxBytes, counts them and never throws', async () => {
    const spool = open({ maxBytes: 1_000 })
    const first = spool.append('posthog', items(5))
    await spool.flush()
    const big = { text: 'x'.repeat(2_000) }
    const second = spool.append('posthog', [big])
    await spool.flush()
    expect(first.every((id) => typeof id === 'number')).toBe(true)
    expect(spool.stats().refused).toBe(1)
    expect(spool.stats().bytes).toBeLessThanOrEqual(1_000)
    expect(warnings.filter((warning) => warning.includes('full'))).toHaveLength(1)
    const restarted = await reopen(spool, { maxBytes: 1_000 })
    expect(restarted.recover('posthog').map((record) => record.id)).toEqual(first)
    expect(second).toHaveLength(1)
  })

  it('refuses at append, returning no id, once the disk holds maxBytes (records of earlier processes included)', async () => {
    const spool = open()
    spool.append('posthog', [{ text: 'y'.repeat(150) }])
    await spool.close()
    const restarted = open({ maxBytes: statSync(join(dir, segmentFiles()[0]!)).size })
    expect(restarted.append('posthog', items(3))).toEqual([undefined, undefined, undefined])
    expect(restarted.stats().refused).toBe(3)
  })

  it('deletes segments once every record in them is acknowledged', async () => {
    const spool = open({ segmentBytes: 300 })
    const ids: number[] = []
    for (let round = 0; round < 10; round++) {
      ids.push(...(spool.append('posthog', items(5, round * 5)) as number[]))
      await spool.flush()
    }
    expect(segmentFiles().length).toBeGreaterThan(3)
    spool.acknowledge('posthog', ids.slice(0, 25))
    await spool.flush()
    const afterHalf = segmentFiles().length
    spool.acknowledge('posthog', ids.slice(25))
    await spool.flush()
    expect(segmentFiles().length).toBeLessThan(afterHalf)
    expect(segmentFiles().length).toBeLessThanOrEqual(1)
    const restarted = await reopen(spool)
    expect(restarted.recoveredSinks()).toEqual([])
    expect(segmentFiles()).toEqual([])
    expect(restarted.stats()).toMatchObject({ bytes: 0, segments: 0 })
  })

  it('keeps a later segment that holds acknowledgements an earlier segment still needs', async () => {
    // segmentBytes 1: every write ends its segment, so each flush below makes one segment.
    const spool = open({ segmentBytes: 1 })
    const [first, second] = spool.append('posthog', items(2)) as number[]
    await spool.flush() // segment 1: first, second
    spool.acknowledge('posthog', [first!])
    const [third] = spool.append('posthog', items(1, 2)) as number[]
    await spool.flush() // segment 2: the acknowledgement of first, third
    spool.acknowledge('posthog', [third!])
    await spool.flush() // segment 3: the acknowledgement of third; nothing in segment 2 is waiting any more
    const restarted = await reopen(spool)
    expect(restarted.recover('posthog')).toEqual([{ id: second, item: { n: 1 } }])
  })

  it('keeps bigint and Uint8Array items as they were', async () => {
    const spool = open()
    const item = { tokens: 12345678901234567890n, body: new Uint8Array([0, 255, 7]), empty: new Uint8Array(0), buffer: Buffer.from('hi'), nested: [{ when: 1 }] }
    spool.append('otlp', [item, 7n, { plain: 'text', metadata: { team: 'a' } }])
    const restarted = await reopen(spool)
    expect(restarted.recover('otlp').map((record) => record.item)).toEqual([
      { tokens: 12345678901234567890n, body: Buffer.from([0, 255, 7]), empty: Buffer.alloc(0), buffer: Buffer.from('hi'), nested: [{ when: 1 }] },
      7n,
      { plain: 'text', metadata: { team: 'a' } },
    ])
  })

  it('counts an item JSON cannot encode, names its sink once, and spools the others', async () => {
    const spool = open()
    const cyclic: Record<string, unknown> = { n: 1 }
    cyclic.self = cyclic
    expect(() => spool.append('posthog', [{ n: 0 }, cyclic, { n: 2 }])).not.toThrow()
    await spool.flush()
    expect(spool.stats().unencodable).toBe(1)
    expect(warnings.join('\n')).toContain('posthog')
    const restarted = await reopen(spool)
    expect(restarted.recover('posthog').map((record) => record.item)).toEqual([{ n: 0 }, { n: 2 }])
  })

  it('does not touch the disk on the caller stack: append only buffers, the write comes later', async () => {
    const spool = open()
    spool.append('posthog', items(100))
    expect(segmentFiles()).toEqual([])
    expect(spool.stats().pending).toBe(100)
    await spool.flush()
    expect(segmentFiles()).toHaveLength(1)
    expect(spool.stats().pending).toBe(0)
  })

  it('writes a batch of appends and acknowledgements with one write, not one per item', async () => {
    const probe = await openFile(join(dir, 'probe'), 'w')
    const write = vi.spyOn(Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => unknown }, 'write')
    await probe.close()
    try {
      const spool = open()
      const first = spool.append('posthog', items(500))
      await spool.flush()
      expect(write).toHaveBeenCalledTimes(1)
      spool.acknowledge('posthog', first as number[])
      for (let call = 0; call < 100; call++) spool.append('helicone', items(5))
      await spool.flush()
      expect(write).toHaveBeenCalledTimes(2)
    } finally {
      write.mockRestore()
    }
  })

  it('writes in the background after flushIntervalMs without an explicit flush', async () => {
    const spool = open({ flushIntervalMs: 5 })
    spool.append('posthog', items(2))
    await expect.poll(() => spool.stats().pending).toBe(0)
    expect(segmentFiles()).toHaveLength(1)
  })

  it('counts a failed write, reports it once and keeps going without throwing', async () => {
    const spool = open()
    // The directory is replaced by a file: every open of a segment fails with ENOTDIR.
    rmSync(dir, { recursive: true, force: true })
    writeFileSync(dir, 'in the way')
    try {
      expect(() => spool.append('posthog', items(3))).not.toThrow()
      await spool.flush()
      spool.append('posthog', items(3))
      await spool.flush()
      expect(spool.stats().writeErrors).toBe(2)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatch(/writing .* failed/)
    } finally {
      rmSync(dir, { force: true })
    }
  })

  it('refuses a second spool on a directory already open', () => {
    open()
    expect(() => openSpool({ dir })).toThrow(/in use by another open spool of this process/)
  })

  it('takes over a lock left by a process that is gone', async () => {
    writeFileSync(join(dir, 'spool.lock'), '999999999')
    expect(() => open()).not.toThrow()
  })

  it('names the field of an invalid option', () => {
    expect(() => openSpool({ dir, maxBytes: -1 })).toThrow(/maxBytes/)
    expect(() => openSpool({ dir: '' })).toThrow(/dir/)
    expect(() => openSpool({ dir, segmentBytes: 2 ** 31 })).toThrow(/segmentBytes: must be at most 1 GiB/)
  })

  it('computes the same CRC-32 without zlib.crc32 (Node 20 before 20.15) as with it', () => {
    const data = Buffer.from('{"a":1,"s":"posthog","v":{"text":"héllo"}}')
    const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32
    if (native) expect(tableCrc32(data)).toBe(native(data))
    expect(tableCrc32(Buffer.from('123456789'))).toBe(0xcbf43926) // the standard check value
  })

  it('leaves nothing behind after close but the segments it needs', async () => {
    const spool = open()
    spool.append('posthog', items(1))
    await spool.close()
    expect(existsSync(join(dir, 'spool.lock'))).toBe(false)
    expect(segmentFiles()).toHaveLength(1)
  })
})
