/**
 * The cache key: the same for the same request whatever the order of its fields, different when
 * anything that changes the answer differs, and never made of a credential.
 */
import { describe, expect, it } from 'vitest'
import { cacheKeyOf, canonicalJson, defaultIgnoredParameters } from '../../src/cache/cache-key'
import { splitByWeight } from '../../src/cache/entries'

const ignored = new Set(defaultIgnoredParameters)
const request = { model: 'mock/echo', messages: [{ role: 'user', content: 'Hi', name: 'ada' }], temperature: 0.5, tools: [{ type: 'function', function: { name: 'f', parameters: { b: 1, a: 2 } } }] }

describe('cacheKeyOf', () => {
  it('is 64 hex characters, the same whatever the order of fields at any depth', () => {
    const reordered = { tools: [{ function: { parameters: { a: 2, b: 1 }, name: 'f' }, type: 'function' }], temperature: 0.5, messages: [{ name: 'ada', content: 'Hi', role: 'user' }], model: 'mock/echo' }
    expect(cacheKeyOf(request, 'chat', ignored)).toMatch(/^[0-9a-f]{64}$/)
    expect(cacheKeyOf(reordered, 'chat', ignored)).toBe(cacheKeyOf(request, 'chat', ignored))
  })

  it('is the key earlier versions stored for the same request, so their entries still answer', () => {
    const known = { model: 'mock/echo', messages: [{ role: 'user', content: 'Grüße' }], temperature: 0, stream: true }
    expect(cacheKeyOf(known, 'chat', ignored)).toBe('87bc3b27140f6de4436977b156ee626cea5c7b5dc4683a4664053efa4af63548')
  })

  it('differs for another model, message, parameter value, call type or message order', () => {
    const key = cacheKeyOf(request, 'chat', ignored)
    expect(cacheKeyOf({ ...request, model: 'mock/other' }, 'chat', ignored)).not.toBe(key)
    expect(cacheKeyOf({ ...request, temperature: 0.6 }, 'chat', ignored)).not.toBe(key)
    expect(cacheKeyOf({ ...request, seed: 1 }, 'chat', ignored)).not.toBe(key)
    expect(cacheKeyOf(request, 'embedding', ignored)).not.toBe(key)
    const two = { ...request, messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] }
    expect(cacheKeyOf({ ...two, messages: [...two.messages].reverse() }, 'chat', ignored)).not.toBe(cacheKeyOf(two, 'chat', ignored))
  })

  it('leaves out delivery, logging and cache controls, and every credential-named field', () => {
    const key = cacheKeyOf(request, 'chat', ignored)
    const noisy = { ...request, stream: true, stream_options: { include_usage: true }, metadata: { a: 1 }, tags: ['t'], cache: { ttl: 5 }, api_key: 'sk-one-1234567', 'no-log': true, client_secret: 'shh-123456789', access_token: 'tok-123456789' }
    expect(cacheKeyOf(noisy, 'chat', ignored)).toBe(key)
    expect(cacheKeyOf({ ...request, max_tokens: 5 }, 'chat', ignored)).not.toBe(key)
  })

  it('hashes what a key function returns instead', () => {
    const byModel = (value: Readonly<Record<string, unknown>>) => value.model
    expect(cacheKeyOf({ ...request, temperature: 1 }, 'chat', ignored, byModel)).toBe(cacheKeyOf(request, 'chat', ignored, byModel))
  })
})

describe('canonicalJson and splitByWeight', () => {
  it('writes objects with sorted keys and leaves undefined members out', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }, undefined], e: 'x' })).toBe('{"a":[{"d":2},null],"b":1,"e":"x"}')
  })

  it('splits a whole number in proportion to the weights, adding up exactly', () => {
    expect(splitByWeight(10, [1, 1, 2])).toEqual([3, 2, 5])
    expect(splitByWeight(7, [3, 0, 4])).toEqual([3, 0, 4])
    expect(splitByWeight(3, [0, 0])).toEqual([2, 1])
    expect(splitByWeight(0, [5, 9])).toEqual([0, 0])
  })
})
