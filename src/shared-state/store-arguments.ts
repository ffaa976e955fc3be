/**
 * The argument checks every store makes, so memory and Redis refuse the same mistakes with the same
 * {@link ValidationError}. Hand-written rather than zod: they run on every store call.
 */
import { ValidationError } from '../errors'

function refuse(method: string, field: string, message: string): never {
  throw new ValidationError(`Invalid store.${method}() ${field}: ${message}.`, [{ path: field, message }])
}

/** Throws unless `key` is a non-empty string. */
export function checkKey(key: unknown, method: string): asserts key is string {
  if (typeof key !== 'string' || key === '') refuse(method, 'key', `must be a non-empty string, got ${key === '' ? 'an empty string' : typeof key}`)
}

/** Throws unless `windowMs` is a positive whole number of milliseconds. */
export function checkWindow(windowMs: unknown, method: string): asserts windowMs is number {
  if (typeof windowMs !== 'number' || !Number.isInteger(windowMs) || windowMs <= 0) {
    refuse(method, 'windowMs', `must be a positive whole number of milliseconds, got ${String(windowMs)}`)
  }
}

/** Throws unless `value` is a finite number. */
export function checkNumber(value: unknown, method: string, field: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) refuse(method, field, `must be a finite number, got ${String(value)}`)
}

/** Throws unless `value` is a string (the store keeps strings; JSON.stringify objects first). */
export function checkString(value: unknown, method: string, field: string): asserts value is string {
  if (typeof value !== 'string') refuse(method, field, `must be a string, got ${typeof value} (JSON.stringify it first)`)
}

/** Throws unless `ttlMs` is absent or a positive whole number of milliseconds. */
export function checkTtl(ttlMs: unknown, method: string): void {
  if (ttlMs === undefined) return
  if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs <= 0) {
    refuse(method, 'options.ttlMs', `must be a positive whole number of milliseconds, got ${String(ttlMs)}`)
  }
}

/** The error a store gives for `increment` on a key that holds something other than a number. */
export function notACounter(key: string, value?: string): ValidationError {
  const message = `the key holds ${value === undefined ? 'something' : `"${value.slice(0, 40)}"`} other than a number; use another key for the counter`
  return new ValidationError(`Invalid store.increment() key '${key}': ${message}.`, [{ path: 'key', message }])
}
