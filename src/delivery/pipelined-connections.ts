/**
 * HTTP/1.1 POSTs pipelined over a few keep-alive connections, for the sinks that send one item per
 * request (Helicone, Athina, the alerts). It does what they need and nothing else: write a request
 * whose head was built once, and read back each answer's status, its `Retry-After` and, for a
 * failure, its first bytes. Against undici's pool, with the same pipelining and writes, it takes
 * about a third less CPU per request (undici's request objects and its llhttp parser were most of a
 * one-item sink's send; bench/notes.md, stop 30).
 *
 * The semantics are undici's for idempotent pipelined requests: when a connection ends with answers
 * still owed, the oldest request fails (the service may have taken it) and the later ones are sent
 * again on another connection; the queue's retries (at least once) cover the first.
 */
import type { Socket } from 'node:net'

/** What a POST got back: its status, and for a failure the first bytes of its body and its Retry-After. */
export interface Answer {
  status: number
  text: string
  retryAfter?: string
}

/** One POST: its bytes, and how it ends. */
export interface Post {
  /** The request as written: request line, headers, blank line, body. */
  bytes: string | Uint8Array
  onAnswer(answer: Answer): void
  onError(error: Error): void
}

/** How connections are made, and how many requests each carries at once. */
export interface PipelinedConnectionsOptions {
  /** Opens a connection to the service (`net.connect` or `tls.connect`). */
  connect: () => Socket
  /** Requests in flight on one connection. */
  pipelining: number
  /** Connections at most; requests beyond wait for room. Default: no limit. */
  maxConnections?: number
}

/** How much of a failed answer's body is kept for the error message. */
const quotedBytes = 1024

/** How long a connection stays usable after its last answer when the service names no keep-alive timeout (undici's default). */
const defaultIdleMs = 4_000

/** Taken off a service's announced keep-alive timeout, so a request is not written just as it closes the connection (undici's margin). */
const idleMarginMs = 1_000

/** The set of {@link pipelinedConnections}. */
export type PipelinedConnections = ReturnType<typeof pipelinedConnections>

/**
 * Opens connections as requests need them: a request goes on the first connection with room, or a
 * new one.
 *
 * @example
 * ```ts
 * const connections = pipelinedConnections({ connect: () => net.connect(8080, '127.0.0.1'), pipelining: 16 })
 * connections.post({ bytes: 'POST /log HTTP/1.1\r\nhost: 127.0.0.1:8080\r\ncontent-length: 2\r\n\r\n{}', onAnswer: console.log, onError: console.error })
 * await connections.close()
 * ```
 */
export function pipelinedConnections(options: PipelinedConnectionsOptions) {
  const open = new Set<Connection>()
  const waiting: Post[] = []
  let closed = false

  const connect = (): Connection => {
    const socket = options.connect()
    socket.setNoDelay(true)
    // As undici does: the system notices a peer that vanished without closing.
    socket.setKeepAlive(true, 60_000)
    const connection = new Connection(socket, {
      closed: (owed) => {
        open.delete(connection)
        // Written but not answered: they go again, first in line.
        waiting.unshift(...owed)
        pump()
      },
      room: pump,
    })
    open.add(connection)
    return connection
  }

  const pick = (): Connection | undefined => {
    const now = Date.now()
    for (const connection of open) {
      if (connection.isStale(now)) {
        connection.retire()
        open.delete(connection)
      } else if (connection.hasRoom(options.pipelining)) return connection
    }
    if (options.maxConnections !== undefined && open.size >= options.maxConnections) return undefined
    return connect()
  }

  function pump(): void {
    while (waiting.length > 0 && !closed) {
      const connection = pick()
      if (!connection) return
      connection.send(waiting.shift()!)
    }
  }

  return {
    post(post: Post): void {
      if (closed) return post.onError(new Error('the sink is closed'))
      const connection = waiting.length === 0 ? pick() : undefined
      if (connection) connection.send(post)
      else {
        waiting.push(post)
        pump()
      }
    },
    /**
     * Stops `post` with `reason` (its time ran out, or the queue gave up): a request not yet written
     * leaves the line; a written one ends its connection, as a pipelined request cannot be taken back,
     * and the others on it go again.
     */
    stop(post: Post, reason: Error): void {
      const at = waiting.indexOf(post)
      if (at >= 0) {
        waiting.splice(at, 1)
        return post.onError(reason)
      }
      for (const connection of open) if (connection.stop(post, reason)) return
    },
    /** Ends every connection once its answers are in; requests still waiting fail. */
    async close(): Promise<void> {
      closed = true
      for (const post of waiting.splice(0)) post.onError(new Error('the sink closed before this request was sent'))
      await Promise.all([...open].map((connection) => connection.end()))
    },
  }
}

/** What a connection tells the set it belongs to. */
interface ConnectionEvents {
  /** It ended; `owed` are written requests to send again. */
  closed(owed: Post[]): void
  /** An answer came in, so it has room for another request. */
  room(): void
}

/** Where the reader is in an answer. */
const enum Reading {
  Head,
  Fixed,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
}

/** One keep-alive connection and the requests written to it, answered in order. */
class Connection {
  private readonly sent: Post[] = []
  private corked = false
  /** Whether the connection (and its TLS handshake) was made: before it, nothing written reached the service. */
  private connected = false
  private done = false
  private idleSince = 0
  private idleLimitMs = defaultIdleMs
  /** When the service said it closes after the answer being read. */
  private closing = false
  // The answer being read.
  private reading = Reading.Head
  /** The start of a head or a line that the next bytes complete. */
  private pending = ''
  private remaining = 0
  private answer: Answer = { status: 0, text: '' }
  /** The first bytes of a failure's body, one character per byte. */
  private quoted = ''

  constructor(
    private readonly socket: Socket,
    private readonly events: ConnectionEvents,
  ) {
    socket.once((socket as { encrypted?: boolean }).encrypted ? 'secureConnect' : 'connect', () => (this.connected = true))
    socket.on('data', (chunk: Buffer) => this.read(chunk))
    socket.on('error', (error) => this.finish(error))
    socket.on('close', () => this.finish(new Error('the connection closed before the answer was complete')))
    socket.on('end', () => {
      // A body that runs until the connection closes is complete when it does.
      if (this.reading === Reading.UntilClose && this.sent.length > 0) this.complete()
      socket.end()
    })
  }

  hasRoom(pipelining: number): boolean {
    return !this.done && !this.closing && this.sent.length < pipelining
  }

  /** Idle for longer than the service keeps idle connections open. */
  isStale(now: number): boolean {
    return this.sent.length === 0 && now - this.idleSince > this.idleLimitMs
  }

  send(post: Post): void {
    this.sent.push(post)
    // The requests written in one turn leave in one write (a system call per request was the
    // largest item of the delivery worker's profile with Helicone).
    if (!this.corked) {
      this.corked = true
      this.socket.cork()
      setImmediate(() => {
        this.corked = false
        this.socket.uncork()
      })
    }
    this.socket.write(post.bytes)
  }

  /** Ends the connection if `post` is on it, failing `post` with `reason`; whether it was. */
  stop(post: Post, reason: Error): boolean {
    if (!this.sent.includes(post)) return false
    this.finish(reason, post)
    return true
  }

  /** Closes the connection now (it is idle: nothing is owed). */
  retire(): void {
    this.done = true
    this.socket.destroy()
  }

  /** Ends the connection after the answers owed. */
  end(): Promise<void> {
    return new Promise((resolve) => {
      if (this.done) return resolve()
      this.socket.once('close', () => resolve())
      this.closing = true
      if (this.sent.length === 0) this.socket.end()
    })
  }

  /**
   * The connection is over: the oldest request owed fails with `error` (the service may have taken
   * it), and so does `stopped` (the request whose time ran out); the others are handed back to be
   * sent again. A connection that was never made fails them all: another try would only knock at the
   * same closed door once per request.
   */
  private finish(error: Error, stopped?: Post): void {
    if (this.done) return
    this.done = true
    this.socket.destroy()
    const owed = this.sent.splice(0)
    if (!this.connected) {
      for (const post of owed) post.onError(error)
      return this.events.closed([])
    }
    const oldest = owed.shift()
    oldest?.onError(error)
    if (stopped && stopped !== oldest) stopped.onError(error)
    this.events.closed(owed.filter((post) => post !== stopped))
  }

  /**
   * Reads answers from the bytes as they come. The bytes are read as latin1 (one character per byte):
   * the heads are ASCII, a success's body is only counted, and a failure's first bytes are decoded
   * as UTF-8 for its message.
   */
  private read(chunk: Buffer): void {
    const data = this.pending + chunk.toString('latin1')
    this.pending = ''
    let at = 0
    while (at < data.length && !this.done) {
      switch (this.reading) {
        case Reading.Head: {
          const end = data.indexOf('\r\n\r\n', at)
          if (end < 0) return this.keep(data, at)
          this.readHead(data, at, end)
          at = end + 4
          break
        }
        case Reading.Fixed:
        case Reading.ChunkData:
        case Reading.UntilClose: {
          const taken = this.reading === Reading.UntilClose ? data.length - at : Math.min(this.remaining, data.length - at)
          this.quote(data, at, at + taken)
          at += taken
          this.remaining -= taken
          if (this.reading === Reading.Fixed && this.remaining === 0) this.complete()
          else if (this.reading === Reading.ChunkData && this.remaining === 0) this.reading = Reading.ChunkEnd
          break
        }
        case Reading.ChunkEnd:
        case Reading.ChunkSize:
        case Reading.Trailers: {
          const end = data.indexOf('\r\n', at)
          if (end < 0) return this.keep(data, at)
          const line = data.slice(at, end)
          at = end + 2
          if (this.reading === Reading.ChunkEnd) {
            if (line !== '') return this.fail('a chunk of the answer did not end where its size said')
            this.reading = Reading.ChunkSize
          } else if (this.reading === Reading.ChunkSize) {
            // The size in hex, then maybe extensions after a semicolon.
            const digits = /^[0-9a-fA-F]+/.exec(line)?.[0]
            if (digits === undefined || digits.length > 12 || !/^[ \t]*(;|$)/.test(line.slice(digits.length))) return this.fail('the answer has a chunk size that is not a number')
            const size = Number.parseInt(digits, 16)
            if (size === 0) this.reading = Reading.Trailers
            else {
              this.remaining = size
              this.reading = Reading.ChunkData
            }
          } else if (line === '') this.complete()
          break
        }
      }
    }
  }

  /** Keeps the unread end of `data` for the next chunk. */
  private keep(data: string, at: number): void {
    // An answer's head or a chunk-size line this long is no answer of an HTTP service.
    if (data.length - at > 64 * 1024) return this.fail('the answer has a head over 64 KB')
    this.pending = data.slice(at)
  }

  /** Reads the head in `data` from `from` to `to` (its blank line). */
  private readHead(data: string, from: number, to: number): void {
    const lineEnd = data.indexOf('\r\n', from)
    const statusLine = data.slice(from, lineEnd < 0 || lineEnd > to ? to : lineEnd)
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)
    if (!status) return this.fail('the answer is not HTTP/1.1')
    const code = Number(status[1])
    // An interim answer (100 Continue, 103 Early Hints): the real one follows.
    if (code < 200) return
    let length: string | undefined
    let chunked = false
    let retryAfter: string | undefined
    let line = lineEnd + 2
    while (lineEnd >= 0 && line < to) {
      const next = data.indexOf('\r\n', line)
      const end = next < 0 || next > to ? to : next
      const colon = data.indexOf(':', line)
      if (colon > line && colon < end) {
        // Only the names read here are lower-cased; they differ in length but two.
        const nameLength = colon - line
        if (nameLength === 14 || nameLength === 17 || nameLength === 10 || nameLength === 11) {
          const name = data.slice(line, colon).toLowerCase()
          const value = data.slice(colon + 1, end).trim()
          if (name === 'content-length') length = value
          else if (name === 'transfer-encoding') chunked = /(^|,)[ \t]*chunked[ \t]*$/i.test(value)
          else if (name === 'connection') this.closing ||= /(^|,)[ \t]*close[ \t]*(,|$)/i.test(value)
          else if (name === 'keep-alive') {
            const timeout = /timeout=(\d+)/i.exec(value)
            if (timeout) this.idleLimitMs = Math.max(0, Number(timeout[1]) * 1000 - idleMarginMs)
          } else if (name === 'retry-after') retryAfter = value
        }
      }
      line = end + 2
    }
    this.answer = { status: code, text: '', ...(retryAfter !== undefined && code >= 300 ? { retryAfter } : {}) }
    if (code === 204 || code === 304) this.complete()
    else if (chunked) this.reading = Reading.ChunkSize
    else if (length !== undefined) {
      if (!/^\d{1,15}$/.test(length)) return this.fail('the answer has a Content-Length that is not a number')
      this.remaining = Number(length)
      this.reading = Reading.Fixed
      if (this.remaining === 0) this.complete()
    } else {
      this.reading = Reading.UntilClose
      this.closing = true
    }
  }

  /** A failure's first bytes, for the error message (decoded when complete); a success's body is read and dropped. */
  private quote(data: string, from: number, to: number): void {
    if (this.answer.status >= 300 && this.quoted.length < quotedBytes) this.quoted += data.slice(from, Math.min(to, from + quotedBytes - this.quoted.length))
  }

  private complete(): void {
    const post = this.sent.shift()
    const answer = this.answer
    if (this.quoted) answer.text = Buffer.from(this.quoted, 'latin1').toString('utf8')
    this.quoted = ''
    this.reading = Reading.Head
    this.answer = { status: 0, text: '' }
    if (this.sent.length === 0) this.idleSince = Date.now()
    post?.onAnswer(answer)
    if (this.closing) {
      // The service closes after this answer: what was written after it goes again elsewhere.
      this.done = true
      const again = this.sent.splice(0)
      this.socket.end()
      this.events.closed(again)
    } else this.events.room()
  }

  private fail(reason: string): void {
    this.finish(new Error(`the service's answer could not be read: ${reason}`))
  }
}
