/**
 * What the tests of layers share: closing the client each test opened, the parts of the hand-written
 * providers they call through (retry, timeout, fallback, cost), and a minimal retry layer for tests
 * that check what runs once per call and what once per attempt (observer, customLogger).
 */
import { afterEach, vi } from 'vitest'
import { defineRepeatingMiddleware, type ChatResponse, type Client, type ProviderUsage } from 'llm-onion'

/**
 * After each test, closes the client it opened (`client()`, closing twice is harmless) and puts
 * back real timers and mocked functions, so a failed test leaves nothing running for the next.
 */
export function closeAfterEach(client: () => Client | undefined): void {
  afterEach(async () => {
    await client()?.close()
    vi.useRealTimers()
    vi.restoreAllMocks()
  })
}

/** The chat completion a hand-written provider answers: one assistant message with `content`. */
export function chatReply(model: string, content: string, options: { id: string; usage?: ProviderUsage }): ChatResponse {
  return {
    id: options.id,
    object: 'chat.completion',
    created: 1,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    ...(options.usage ? { usage: options.usage } : {}),
  }
}

/** Stands for a method of a hand-written provider that the test never calls. */
export function notUsed(): never {
  throw new Error('not used')
}

/** Retries once on any error: enough of a retry layer to show per-attempt placement. */
export const retryOnce = defineRepeatingMiddleware(async function retryOnce(ctx, _next, inner) {
  try {
    await inner()
  } catch {
    ctx.attempt++
    ctx.request = { ...ctx.request, mock_error: undefined }
    await inner()
  }
})
