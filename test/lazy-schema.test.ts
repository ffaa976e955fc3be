/**
 * `lazySchema`: a schema built on first use, so importing a module that declares one builds nothing,
 * and once built it validates exactly as the schema itself, with the same messages.
 */
import { z } from 'zod'
import { describe, expect, it } from 'vitest'
import { lazySchema, memoise } from '../src/lazy-schema'
import { validate } from '../src/validate'

describe('lazySchema', () => {
  it('builds the schema on first use only, once', () => {
    let builds = 0
    const schema = lazySchema(() => {
      builds++
      return z.object({ retries: z.number().int().min(0) })
    })
    expect(builds).toBe(0)
    expect(schema.parse({ retries: 2 })).toEqual({ retries: 2 })
    expect(schema.safeParse({ retries: 3 }).success).toBe(true)
    expect(builds).toBe(1)
  })

  it('fails with the same message as the schema built at once', () => {
    const build = () => z.object({ retries: z.number().int().min(0, 'retries must be 0 or more') })
    const message = 'Invalid retry() options: retries: retries must be 0 or more.'
    expect(() => validate(build(), { retries: -1 }, 'retry() options')).toThrow(message)
    expect(() => validate(lazySchema(build), { retries: -1 }, 'retry() options')).toThrow(message)
  })

  it('stands for the schema inside other schemas, in extend and in instanceof', () => {
    const base = lazySchema(() => z.object({ enabled: z.boolean().optional() }))
    const extended = lazySchema(() => base.extend({ host: z.string() }))
    const inList = z.array(base)
    expect(extended.parse({ enabled: true, host: 'h' })).toEqual({ enabled: true, host: 'h' })
    expect(inList.safeParse([{ enabled: 'yes' }]).success).toBe(false)
    expect(base instanceof z.ZodObject).toBe(true)
    expect(Object.keys(base.shape)).toEqual(['enabled'])
  })
})

describe('memoise', () => {
  it('runs its builder on the first call and returns the same value after', () => {
    let builds = 0
    const schemas = memoise(() => ({ built: ++builds }))
    expect(builds).toBe(0)
    expect(schemas()).toBe(schemas())
    expect(builds).toBe(1)
  })
})
