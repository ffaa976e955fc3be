/**
 * A webhook receiver that checks llm-onion's signature before trusting a batch, written with
 * node:crypto alone so it reads the same in any language: parse `t=...,v1=...`, refuse timestamps
 * more than five minutes away (replays), recompute HMAC-SHA256 over `${t}.${raw body}`, compare in
 * constant time. The example starts the receiver locally and sends it a call through webhook().
 * Run: npx tsx examples/webhook-receiver.ts
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createClient } from 'llm-onion'
import { webhook } from 'llm-onion/middleware'

const signingSecret = 'whsec-example-0123456789abcdef' // in production: process.env.GENERIC_LOGGER_SIGNING_SECRET

function isSignedByLlmOnion(header: string | undefined, rawBody: Buffer, secret: string): boolean {
  const fields = Object.fromEntries((header ?? '').split(',').map((field) => field.split('=', 2)))
  const timestamp = Number(fields.t)
  if (!Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > 300) return false
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest()
  const given = Buffer.from(String(fields.v1 ?? ''), 'hex')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

const accepted: unknown[] = []
const receiver = createServer((request, response) => {
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.on('end', () => {
    const rawBody = Buffer.concat(chunks)
    if (!isSignedByLlmOnion(request.headers['x-llm-onion-signature'] as string | undefined, rawBody, signingSecret)) {
      response.writeHead(401).end('bad signature')
      return
    }
    accepted.push(...(JSON.parse(rawBody.toString('utf8')) as unknown[]))
    response.writeHead(204).end()
  })
})
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/llm-events`

const client = createClient().use(webhook({ url, signingSecret }))
await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'Hello' }], mock_response: 'Hi!' })
await client.close()
receiver.close()

if (accepted.length !== 1) throw new Error(`expected 1 verified event, got ${accepted.length}`)
console.log(`verified ${accepted.length} signed event(s)`)
