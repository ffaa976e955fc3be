/**
 * The content of an alert, the same in every alerting integration: a title, a one-line summary, the
 * detail (the error, or the latency over the threshold), the facts (model, provider, error or
 * latency, user, call id, trace id) and a footer. Each integration renders these in its own markup;
 * prompt and reply content are never part of an alert.
 */
import type { Alert } from './alert-layer'
import type { AlertFact, NoticeKind } from './alert-notice'

export type { AlertFact } from './alert-notice'

/** What an alert says, before any markup. */
export interface AlertContent {
  /** `[N alerts] LLM call failed: RateLimitError` or `Slow LLM call: openai/gpt-4o`. */
  title: string
  /** One line for notifications: the title, the model and provider, the call id and the user. */
  summary: string
  /** For a merged alert, the sentence that says so; otherwise undefined. */
  merged?: string
  /** The detail as plain parts, so each markup can set its own emphasis. */
  detail:
    | { kind: 'failure'; errorType: string; status?: number; message: string }
    | { kind: 'slow'; latency: string; threshold: string }
    | { kind: NoticeKind; text: string }
  facts: AlertFact[]
  /** `llm-onion · <end of the call, ISO 8601>`. */
  footer: string
}

/** When an alert happened: the end of its call, or the time its notice was decided. */
export function alertTime(alert: Alert): number {
  return alert.notice !== undefined ? alert.notice.at : alert.event.endTime
}

/**
 * The content of an alert.
 *
 * @example
 * ```ts
 * const { title, facts } = alertContent(alert)
 * const text = `${title}\n${facts.map((fact) => `${fact.name}: ${fact.value}`).join('\n')}`
 * ```
 */
export function alertContent(alert: Alert): AlertContent {
  if (alert.notice !== undefined) {
    const { notice } = alert
    return {
      title: notice.title,
      summary: notice.summary,
      detail: { kind: notice.kind, text: truncate(notice.detail, 1500) },
      facts: notice.facts,
      footer: `llm-onion · ${new Date(notice.at).toISOString()}`,
    }
  }
  const { event, kind, count } = alert
  const counted = count > 1 ? `[${count} alerts] ` : ''
  const model = event.model
  const provider = event.provider ?? 'unknown'
  const errorType = event.error?.type ?? 'Error'
  const title = kind === 'failure' ? `${counted}LLM call failed: ${errorType}` : `${counted}Slow LLM call: ${model}`
  return {
    title,
    summary: `${title} on ${model} (${provider}), call ${event.id}${event.user ? `, user ${event.user}` : ''}`,
    merged: count > 1 ? `${count} identical alerts in the last ${seconds(alert.windowMs)} were merged into this one. The latest:` : undefined,
    detail:
      kind === 'failure'
        ? { kind, errorType, status: event.error?.status, message: truncate(event.error?.message ?? '', 1500) }
        : { kind, latency: seconds(event.latencyMs), threshold: alert.thresholdMs === false ? '' : seconds(alert.thresholdMs) },
    facts: [
      { name: 'Model', value: model },
      { name: 'Provider', value: provider },
      kind === 'failure' ? { name: 'Error', value: errorType } : { name: 'Latency', value: seconds(event.latencyMs) },
      { name: 'User', value: event.user ?? 'none' },
      { name: 'Call id', value: event.id, code: true },
      { name: 'Trace id', value: event.traceId, code: true },
    ],
    footer: `llm-onion · ${new Date(event.endTime).toISOString()}`,
  }
}

/**
 * The detail as one line, with `bold` around the error type or the latency and `escape` over text
 * that came from the call.
 *
 * @example
 * ```ts
 * alertDetailText(content, (text) => `**${text}**`) // '**RateLimitError** (429): Slow down'
 * ```
 */
export function alertDetailText(content: AlertContent, bold: (text: string) => string, escape: (text: string) => string = (text) => text): string {
  const detail = content.detail
  if ('text' in detail) return escape(detail.text)
  if (detail.kind === 'slow') return `Took ${bold(detail.latency)}, over the ${detail.threshold} threshold.`
  return `${bold(escape(detail.errorType))}${detail.status ? ` (${detail.status})` : ''}: ${escape(detail.message)}`
}

/** Cuts `text` to `length` characters, ending with `…` when cut. */
export function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`
}

function seconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`
}
