import type { Socket } from 'node:net'
import type { buildConnector } from 'undici'

/**
 * Wraps an `undici` connector so that its sockets send the requests written in one turn of the
 * event loop in one write. undici writes each request between `socket.cork()` and
 * `socket.uncork()`, one system call per request; for a sink that sends one item per request
 * (Helicone) and pipelines them, those calls were the largest single item of a CPU profile of the
 * delivery worker with the guide's set (`writev`, 18%). Here the last `uncork()` of a turn is put off
 * to `setImmediate`, which then sends everything written since in one `writev` (about three requests
 * per write under load; bench/notes.md, stop 25). Nothing else changes: the same bytes, in the same
 * order, at most one turn later.
 *
 * @example
 * ```ts
 * const pool = new Pool(origin, { pipelining: 16, connect: coalescedWrites(buildConnector({})) })
 * ```
 */
export function coalescedWrites(connect: buildConnector.connector): buildConnector.connector {
  return (options, callback) =>
    connect(options, (error, socket) => {
      if (socket) deferLastUncork(socket as Socket)
      // The connector's callback type is a union of an error and a success; it is passed on as given.
      ;(callback as (error: Error | null, socket: unknown) => void)(error, socket)
    })
}

function deferLastUncork(socket: Socket): void {
  const uncork = socket.uncork
  let pending: NodeJS.Immediate | undefined
  const flush = (): void => {
    pending = undefined
    while (socket.writableCorked > 0) uncork.call(socket)
  }
  socket.uncork = function uncorkAtEndOfTurn(this: Socket): void {
    if (socket.writableCorked > 1) uncork.call(socket)
    else if (socket.writableCorked === 1) pending ??= setImmediate(flush)
  }
}
