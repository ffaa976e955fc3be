/**
 * The HTTP skeleton of the service fakes (DynamoDB, SQS, Pub/Sub, Galileo, Confident AI): a server on 127.0.0.1 port 0 that
 * records every request as `ReceivedRequest` (what `verifySigV4` reads) and answers with what the
 * fake's handler decides, unless a test queued answers of its own first (an outage, an error that
 * echoes credentials).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ReceivedRequest } from '../../src/testing/receiver'

/** One answer: a status, a JSON body, extra headers. */
export interface FakeAnswer {
  status: number
  body: unknown
  headers?: Record<string, string>
}

export interface RecordingServer {
  url: string
  requests: ReceivedRequest[]
  /** Answers to give next, in order, before the handler is asked again. */
  answerNext(...answers: FakeAnswer[]): void
  close(): Promise<void>
}

/**
 * Starts a server whose answers come from `handle` (a thrown error becomes a 500).
 *
 * @example
 * ```ts
 * const server = await startRecordingServer(() => ({ status: 200, body: {} }))
 * ```
 */
export async function startRecordingServer(handle: (request: ReceivedRequest) => FakeAnswer, contentType = 'application/json'): Promise<RecordingServer> {
  const requests: ReceivedRequest[] = []
  const queued: FakeAnswer[] = []
  const server: Server = createServer((request, response) => {
    const parts: Buffer[] = []
    request.on('data', (part: Buffer) => parts.push(part))
    request.on('end', () => {
      const raw = Buffer.concat(parts)
      const text = raw.toString('utf8')
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        json = undefined
      }
      const [path, query = ''] = (request.url ?? '/').split('?')
      const received: ReceivedRequest = { method: request.method ?? 'GET', path: path!, query, headers: request.headers, raw, body: raw, text, json }
      requests.push(received)
      let answer: FakeAnswer
      try {
        answer = queued.shift() ?? handle(received)
      } catch (error) {
        answer = { status: 500, body: { message: (error as Error).message } }
      }
      response.writeHead(answer.status, { 'content-type': contentType, ...answer.headers })
      response.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    answerNext: (...answers) => void queued.push(...answers),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
