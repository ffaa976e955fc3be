/**
 * A function of a name with its results remembered per name, for names that repeat from call to call
 * (a request's field and header names, an event's keys). Bounded: past 1,024 names a result is
 * computed and not kept, so names made up per request cannot grow it.
 */

/** How many names a remembered function keeps. */
const rememberedNames = 1024

/**
 * `compute` with its result remembered per name.
 *
 * @example
 * ```ts
 * const quoted = rememberedPerName((name) => JSON.stringify(name))
 * quoted('max_tokens') // '"max_tokens"', computed once
 * ```
 */
export function rememberedPerName<Result>(compute: (name: string) => Result): (name: string) => Result {
  const results = new Map<string, Result>()
  return (name) => {
    let result = results.get(name)
    if (result === undefined) {
      result = compute(name)
      if (results.size < rememberedNames) results.set(name, result)
    }
    return result
  }
}
