/**
 * Schemas built on first use. Building a zod schema costs milliseconds (the first one also pays for
 * compiling zod's constructors), and a module that builds its schemas at load time makes every
 * `import` pay for them: half of the package's cold start was that (docs/benchmarks.md, "Cold
 * start"). `lazySchema(() => z.object(...))` stands for the schema and builds it the first time it is
 * used, so an import builds none and a factory builds only the schema it validates with.
 */
import type { z } from 'zod'

/**
 * A stand-in for the schema `build` returns, built on first use (any property read, `in`, or
 * `instanceof`) and the same schema from then on. Its methods are bound to the built schema. For
 * schemas used once per factory call (options); a schema parsed on every call should be read from
 * a memoised builder instead, so the call does not go through the stand-in.
 *
 * @example
 * ```ts
 * const optionsSchema = lazySchema(() => z.object({ maxRetries: z.number().int().min(0).optional() }))
 * export function retry(options = {}) {
 *   const settings = validate(optionsSchema, options, 'retry() options') // built here, once
 * }
 * ```
 */
export function lazySchema<Schema extends z.ZodType>(build: () => Schema): Schema {
  let built: Schema | undefined
  const schema = (): Schema => (built ??= build())
  const bound = new Map<PropertyKey, unknown>()
  return new Proxy({} as Schema, {
    get(_target, key) {
      const value: unknown = Reflect.get(schema(), key)
      if (typeof value !== 'function') return value
      // Zod's methods read `this`: they run on the built schema, not on this stand-in.
      let method = bound.get(key)
      if (method === undefined || (method as { original?: unknown }).original !== value) {
        method = Object.assign((value as (...args: unknown[]) => unknown).bind(schema()), { original: value })
        bound.set(key, method)
      }
      return method
    },
    has: (_target, key) => Reflect.has(schema(), key),
    ownKeys: () => Reflect.ownKeys(schema()),
    getOwnPropertyDescriptor(_target, key) {
      const descriptor = Reflect.getOwnPropertyDescriptor(schema(), key)
      // A proxy may not report a property its target lacks as non-configurable.
      return descriptor === undefined ? undefined : { ...descriptor, configurable: true }
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(schema()),
  })
}

/**
 * `build` run once, on the first call: for a module's schemas that are parsed on every call (the
 * request schemas), so the call reads the built schema directly.
 *
 * @example
 * ```ts
 * const requestSchemas = memoise(() => ({ chatRequestSchema: z.object({ model: z.string() }) }))
 * validate(requestSchemas().chatRequestSchema, request, 'chat request')
 * ```
 */
export function memoise<Value>(build: () => Value): () => Value {
  let value: Value | undefined
  let done = false
  return () => {
    if (!done) {
      value = build()
      done = true
    }
    return value as Value
  }
}
