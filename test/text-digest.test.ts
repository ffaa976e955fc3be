import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { digestHex, textDigestOf } from '../src/text-digest'

const texts = ['', 'sk-1234', 'chat\n{"messages":[{"content":"Grüße, 世界 🌍","role":"user"}],"model":"mock/echo"}', 'x'.repeat(10_000)]

describe('digestHex', () => {
  it.each(['sha256', 'md5'] as const)('gives what createHash gives for %s, of the text as UTF-8', (algorithm) => {
    for (const text of texts) expect(digestHex(algorithm, text)).toBe(createHash(algorithm).update(Buffer.from(text, 'utf8')).digest('hex'))
  })

  it('gives the same digests on a Node 20 without crypto.hash (before 20.12)', () => {
    const older = textDigestOf({ createHash })
    for (const algorithm of ['sha256', 'md5'] as const) for (const text of texts) expect(older(algorithm, text)).toBe(digestHex(algorithm, text))
  })
})
