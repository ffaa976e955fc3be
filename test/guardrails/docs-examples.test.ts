/** The snippets of docs/guardrails.md and docs/routing.md, run as written. */
import { expect, it } from 'vitest'
import { createClient, isGuardrailError, piiDetectors, secretDetectors } from 'llm-onion'
import { bannedKeywords, hideSecrets, maxCost, moderation, pii, promptInjection, route } from 'llm-onion/middleware'
import { createRecorder, mock } from 'llm-onion/testing'

it('docs/guardrails.md: guardrails in code', async () => {
  const client = createClient({
    providers: { mock: mock() },
    middleware: [
      promptInjection(),
      moderation(),
      hideSecrets(),
      pii({ action: 'mask', mode: ['pre_call', 'post_call'] }),
      bannedKeywords({ keywords: ['project falcon'] }),
      maxCost({ maxCostUsd: 0.05 }),
    ],
  })
  try {
    await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'What about Project Falcon?' }] })
  } catch (error) {
    if (isGuardrailError(error)) console.log(`${error.guardrail} blocked it (${error.status})`)
  }
  await client.close()
})

it('docs/guardrails.md: logs-only masking', async () => {
  const recorder = createRecorder()
  const client = createClient({
    providers: { mock: mock() },
    middleware: [recorder.layer],
    redact: { detectors: [...piiDetectors(), ...secretDetectors()], mask: (text) => text.replaceAll('ACME Corp', '[CUSTOMER]') },
  })
  const reply = await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'ACME Corp: mail ada@example.com' }], mock_response: 'ok' })
  expect(reply.choices[0]!.message.content).toBe('ok')
  expect(recorder.events[0]!.messages).toEqual([{ role: 'user', content: '[CUSTOMER]: mail [EMAIL]' }])
  await client.close()
})

it('docs/routing.md: route()', async () => {
  const everyFailure = createRecorder()
  const teamA = createRecorder()
  const sampled = createRecorder()
  const client = createClient({
    providers: { mock: mock() },
    middleware: [
      route([
        { when: (event) => event.status !== 'success' || event.latencyMs > 10_000 || (event.cost?.total ?? 0) > 0.1, to: [everyFailure.layer] },
        { when: (event) => event.metadata.team === 'a', to: [teamA.layer] },
        { when: (event) => event.status === 'success', to: [sampled.layer], sample: 0.05 },
      ]),
    ],
  })
  await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }], metadata: { team: 'a' } })
  expect(teamA.events).toHaveLength(1)
  await client.close()
})
