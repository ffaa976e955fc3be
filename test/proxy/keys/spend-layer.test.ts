/**
 * The spend layer on a client of its own, with a ticket as the proxy's access checks hand it over:
 * the call's metadata carries the key's identity under LiteLLM's names and never what a client sent
 * under them, its spend reaches the key's, the model's and the tag's counters, and its slot in flight
 * is given back.
 */
import { describe, expect, it } from 'vitest'
import { createClient, memoryStore } from 'llm-onion'
import type { Context } from '../../../src/context'
import { ticketSlot, type Ticket } from '../../../src/proxy/keys/access'
import { createCounterBuffer } from '../../../src/proxy/keys/counter-buffer'
import { keyPlan } from '../../../src/proxy/keys/key-plan'
import { createRateWindows } from '../../../src/proxy/keys/rate-windows'
import type { KeyRecord } from '../../../src/proxy/keys/records'
import { spendLayer } from '../../../src/proxy/keys/spend-layer'
import { spendCounter } from '../../../src/proxy/keys/spend-ledger'

const at = '2026-01-15T12:00:00.000Z'
const key: KeyRecord = {
  token: 'hash-k', key_name: 'sk-...test', key_alias: 'checkout-key', user_id: null, team_id: null, models: [], max_budget: 5, budget_duration: null,
  tpm_limit: null, rpm_limit: null, max_parallel_requests: 1, metadata: {}, expires: null, blocked: false, created_at: at, updated_at: at,
}

function setup() {
  const store = memoryStore()
  const counters = createCounterBuffer(store, { flushMs: 10, maxAgeMs: 100 })
  const windows = createRateWindows(store, counters, { windowMs: 60_000 })
  let seen: Record<string, unknown> | undefined
  const client = createClient({ middleware: [spendLayer({ counters, windows })] }).use(async function look(ctx, next) {
    seen = ctx.metadata
    await next()
    ctx.cost = { input: 0.25, output: 0.5, total: 0.75, currency: 'USD' } as Context['cost']
  })
  return { store, counters, windows, client, seen: () => seen }
}

describe('the spend layer', () => {
  it('stamps the key\'s identity over what a client sent under LiteLLM\'s names, keeping the rest of the metadata', async () => {
    const { client, seen } = setup()
    const ticket: Ticket = { token: 'hash-k', found: { key }, windows: [], inFlight: false }
    const metadata = { user_api_key_hash: 'someone-else', user_api_key_team_id: 'team-of-someone-else', purpose: 'checkout' }
    await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }], metadata }, { onContext: (ctx) => ctx.setSlot(ticketSlot, ticket) })
    expect(seen()).toEqual({ purpose: 'checkout', user_api_key_hash: 'hash-k', user_api_key_alias: 'checkout-key' })
    // Without a ticket (the master key), a client's names are dropped, and nothing is stamped.
    await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }], metadata })
    expect(seen()).toEqual({ purpose: 'checkout' })
  })

  it('adds the call\'s cost to the key\'s, the model\'s and the tags\' counters, and gives its slot in flight back', async () => {
    const { store, counters, windows, client } = setup()
    expect(await windows.enter('hash-k', 1)).toBe(1)
    const ticket: Ticket = { token: 'hash-k', found: { key }, windows: [], inFlight: true }
    await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }], metadata: { tags: ['checkout'] } }, { onContext: (ctx) => ctx.setSlot(ticketSlot, ticket) })
    await counters.flush()
    expect(await store.get(keyPlan('hash-k', { key }, Date.now()).spendCounters[0]!.counter)).toBe('0.75')
    expect(await store.get(spendCounter('model', 'mock/echo'))).toBe('0.75')
    expect(await store.get(spendCounter('tag', 'checkout'))).toBe('0.75')
    // The slot is this process's again: the next request of the key takes it without the store.
    await windows.release()
    expect(await store.get('ratelimit:in_flight:hash-k')).toBe('0')
  })
})
