/**
 * The plumbing the provider fakes (OpenAI, Gemini) share: a `node:http` server on 127.0.0.1 that
 * reads each request's body, records the request, answers it with the next queued reply, and lets a
 * test wait for arrivals and for clients that went away. Each fake says how to record a request and
 * how to answer it; the wire format is its own.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** How one fake records and answers requests. */
export interface FakeServerRoutes<Recorded, Reply> {
  /** Turns a request and its body (as text) into what `requests` holds. */
  record(request: IncomingMessage, body: string): Recorded
  /** Answers a recorded request with the next queued reply (`undefined` when none is queued); `sequence` counts requests from 1. */
  answer(recorded: Recorded, reply: Reply | undefined, response: ServerResponse, sequence: number): void
}

/** A running fake: its address, what it received, and the controls every fake offers. */
export interface FakeServer<Recorded, Reply> {
  /** `http://127.0.0.1:<port>`, without a path. */
  url: string
  requests: Recorded[]
  /** Queues replies for the next requests, in order; an empty queue answers a default reply. */
  enqueue(...replies: Reply[]): void
  /** Resolves when `count` requests have arrived. */
  waitForRequests(count: number): Promise<Recorded[]>
  /** Resolves when a client went away before its answer was complete (an abort, a `break`). */
  waitForDisconnect(): Promise<void>
  close(): Promise<void>
}

/** Starts a fake on 127.0.0.1 at a free port. */
export async function startFakeServer<Recorded, Reply>(routes: FakeServerRoutes<Recorded, Reply>): Promise<FakeServer<Recorded, Reply>> {
  const requests: Recorded[] = []
  const queue: Reply[] = []
  let arrivals: Array<() => void> = []
  let disconnects: Array<() => void> = []
  let sequence = 0
  const server = createServer((request, response) => {
    const parts: Buffer[] = []
    request.on('data', (part: Buffer) => parts.push(part))
    request.on('end', () => {
      const recorded = routes.record(request, Buffer.concat(parts).toString('utf8'))
      requests.push(recorded)
      response.on('close', () => {
        if (!response.writableFinished) for (const resolve of disconnects.splice(0)) resolve()
      })
      for (const resolve of arrivals.splice(0)) resolve()
      routes.answer(recorded, queue.shift(), response, ++sequence)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...replies) => void queue.push(...replies),
    async waitForRequests(count) {
      while (requests.length < count) await new Promise<void>((resolve) => arrivals.push(resolve))
      return requests
    },
    waitForDisconnect: () => new Promise<void>((resolve) => disconnects.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        arrivals = []
        disconnects = []
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** How a fake's SSE stream ends: `end` finishes the body, `destroy` cuts the connection mid-body, `hold` leaves it open. */
export type StreamEnding = 'destroy' | 'end' | 'hold'

/**
 * Writes `events` as SSE `data:` lines separated by `separator`, then ends the stream as `ending`
 * says; `trailer` (such as OpenAI's `data: [DONE]`) goes last when the body is finished. With
 * `named`, each event's `type` is also its `event:` line, as Anthropic frames its events.
 */
export function writeSse(
  response: ServerResponse,
  options: { headers: Record<string, string>; events: unknown[]; separator: string; ending: StreamEnding; trailer?: string; named?: boolean },
): void {
  response.writeHead(200, options.headers)
  for (const event of options.events) {
    const name = options.named ? `event: ${(event as { type: string }).type}\n` : ''
    response.write(`${name}data: ${JSON.stringify(event)}${options.separator}`)
  }
  // Closing the socket without the final empty chunk of the chunked body is a connection that dies
  // half-way; ending the body early is a server that gave up. The socket is closed only once the
  // events have reached it: Node 24 holds a response's writes back until the next tick, and closing
  // the socket at once would drop them.
  if (options.ending === 'destroy') return void response.write('', () => response.socket?.end())
  if (options.ending === 'hold') return
  response.end(options.trailer)
}

/** Words of a text, the fakes' stand-in for tokens. */
export function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length
}
