/**
 * The stream window every text guardrail shares: it holds back the last `lookahead` characters of a
 * streamed reply (and any candidate that may still grow into a finding), so a secret, an e-mail
 * address or a banned word split across chunks is masked or blocked before any part of it reaches
 * the caller. What is released is masked with the same detectors a whole reply is; the rest is
 * released when the stream ends (its `finish_reason` chunk, or the end of the provider's stream).
 *
 * Cost: one regex pass per detector over the held text (at most `lookahead` characters plus the new
 * chunk) per chunk; no timers, so no delay beyond the window itself (bench/stream-window.bench.ts).
 */
import type { ChatChunk } from '../schema'
import type { ChunkHandler } from '../types'
import { applyMasks, findCandidates, type Detector, type Finding } from './detectors'

/** Default look-ahead in characters: longer than an e-mail address or a card number, shorter than a sentence. */
export const defaultLookahead = 48
/** Characters of released text kept (unreleased) for the detectors' word boundaries. */
const contextLength = 16

/** What the window reports: each finding in released text, before it is released; throw to block. */
export type FindingHandler = (finding: Finding, text: string) => void

/** A window over one text stream: `push` each piece, `flush` at the end; both return what may be released. */
export interface StreamWindow {
  push(text: string): string
  flush(): string
}

/**
 * A window over one text stream.
 *
 * @example
 * ```ts
 * const window = createStreamWindow(piiDetectors())
 * let out = window.push('mail ada@exa') + window.push('mple.com now')
 * out += window.flush() // 'mail [EMAIL] now'
 * ```
 */
export function createStreamWindow(detectors: ReadonlyArray<Detector>, options: { lookahead?: number; onFinding?: FindingHandler } = {}): StreamWindow {
  const lookahead = options.lookahead ?? defaultLookahead
  // One pass of every detector's hint first: on ordinary prose no hinted detector runs at all.
  const unhinted = detectors.filter((detector) => detector.hint === undefined)
  const hints = detectors.flatMap((detector) => (detector.hint === undefined ? [] : [typeof detector.hint === 'string' ? escapeRegExp(detector.hint) : detector.hint.source]))
  const anyHint = hints.length === 0 ? undefined : new RegExp(hints.join('|'))
  let context = ''
  let pending = ''

  function release(buffer: string, atEnd: boolean): string {
    const offset = context.length
    const scan = context + buffer
    const running = anyHint === undefined || anyHint.test(scan) ? detectors : unhinted
    const candidates = running.length === 0 ? [] : findCandidates(scan, running).filter((candidate) => candidate.end > offset)
    let cut = atEnd ? scan.length : scan.length - lookahead
    if (cut <= offset) {
      pending = buffer
      return ''
    }
    // A candidate that straddles the cut may still grow: hold it back whole.
    for (let moved = true; moved; ) {
      moved = false
      for (const candidate of candidates) {
        if (candidate.start < cut && candidate.end > cut) {
          cut = Math.max(candidate.start, offset)
          moved = cut > offset
        }
      }
    }
    if (cut <= offset && !atEnd) {
      pending = buffer
      return ''
    }
    const findings: Finding[] = []
    let reached = offset
    for (const candidate of candidates) {
      if (candidate.end > cut || candidate.end <= reached) continue
      if (candidate.start < reached && candidate.start >= offset) continue
      if (candidate.detector.valid && !candidate.detector.valid(scan.slice(candidate.start, candidate.end))) continue
      // A candidate begun in released text: mask what is left of it rather than let it through.
      const start = Math.max(candidate.start, offset)
      options.onFinding?.({ ...candidate, start: start - offset, end: candidate.end - offset }, scan.slice(candidate.start, candidate.end))
      findings.push({ start, end: candidate.end, detector: candidate.detector })
      reached = candidate.end
    }
    const released = scan.slice(offset, cut)
    context = scan.slice(Math.max(0, cut - contextLength), cut)
    pending = scan.slice(cut)
    return findings.length === 0 ? released : applyMasks(released, findings, offset)
  }

  return {
    push: (text) => release(pending + text, false),
    flush: () => (pending === '' ? '' : release(pending, true)),
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * A chunk function (`ctx.onChunk`) that passes every choice's `delta.content` through a window of
 * its own; held text is released into the choice's `finish_reason` chunk, or by `flush` (called by
 * the stream when the provider's stream ends) as one extra chunk.
 *
 * @example
 * ```ts
 * client.use(async (ctx, next) => {
 *   if (ctx.streaming) ctx.onChunk(windowedChunks(() => createStreamWindow(secretDetectors())))
 *   await next()
 * })
 * ```
 */
export function windowedChunks(makeWindow: () => StreamWindow): ChunkHandler {
  const windows = new Map<number, StreamWindow>()
  let last: ChatChunk | undefined
  const windowFor = (index: number) => {
    let window = windows.get(index)
    if (!window) windows.set(index, (window = makeWindow()))
    return window
  }
  const handler: ChunkHandler = function streamWindow(chunk) {
    last = chunk
    if (!chunk.choices?.length) return undefined
    let changed = false
    const choices = chunk.choices.map((choice) => {
      const content = choice.delta?.content
      if (typeof content !== 'string' && choice.finish_reason == null) return choice
      const window = windowFor(choice.index ?? 0)
      let text = typeof content === 'string' ? window.push(content) : ''
      if (choice.finish_reason != null) text += window.flush()
      if (text === content) return choice
      changed = true
      return { ...choice, delta: { ...choice.delta, content: text } }
    })
    return changed ? { ...chunk, choices } : undefined
  }
  handler.flush = () => {
    const choices = [...windows].flatMap(([index, window]) => {
      const text = window.flush()
      return text === '' ? [] : [{ index, delta: { content: text }, finish_reason: null }]
    })
    if (choices.length === 0 || !last) return undefined
    return { id: last.id, object: 'chat.completion.chunk', created: last.created, model: last.model, choices } as ChatChunk
  }
  return handler
}
