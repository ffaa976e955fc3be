import type { z } from 'zod'
import { ValidationError } from './errors'

/** `['messages', 0, 'role']` → `messages[0].role`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out === '' ? String(key) : `.${String(key)}`
  }
  return out
}

/**
 * Parses `input` with `schema`, or throws a {@link ValidationError} naming the first wrong field.
 * `what` names the thing being checked in the message ("chat request", "retry() options").
 */
export function validate<Schema extends z.ZodType>(schema: Schema, input: unknown, what: string): z.output<Schema> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issues = result.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }))
  const first = issues[0]!
  const where = first.path === '' ? what : `${what}: ${first.path}`
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : ''
  throw new ValidationError(`Invalid ${where}: ${first.message}${more}.`, issues)
}
