/**
 * OpenInference attributes (github.com/Arize-ai/openinference, `semantic_conventions.py`), what Arize
 * AX and Phoenix read to show a span as an LLM call: span kind, model, token counts, input and output
 * values, and the messages flattened as `llm.input_messages.N.message.role/content`. They are added
 * beside the GenAI attributes every OTLP span already carries.
 */
import type { CallEvent } from '../../event'
import { genAiProviderName, providerModelOf, type SpanAttributes } from './attributes'
import { textOfContent } from './messages'

/**
 * The OpenInference attributes of a call. Content (input/output values and messages) only when
 * `captureContent` is true; the event is already redacted when redaction is on.
 *
 * @example
 * ```ts
 * openInferenceAttributes(ctx.toEvent(), true)['openinference.span.kind'] // 'LLM'
 * ```
 */
export function openInferenceAttributes(event: CallEvent, captureContent: boolean): SpanAttributes {
  const attributes: SpanAttributes = {
    'openinference.span.kind': event.type === 'embedding' ? 'EMBEDDING' : 'LLM',
    'llm.model_name': event.responseModel ?? providerModelOf(event.model, event.provider),
    'llm.invocation_parameters': JSON.stringify(event.parameters),
  }
  if (event.provider) {
    attributes['llm.provider'] = genAiProviderName(event.provider)
    attributes['llm.system'] = event.provider
  }
  if (event.usage) {
    attributes['llm.token_count.prompt'] = event.usage.inputTokens
    attributes['llm.token_count.completion'] = event.usage.outputTokens
    attributes['llm.token_count.total'] = event.usage.totalTokens
    if (event.usage.cachedInputTokens !== undefined) attributes['llm.token_count.prompt_details.cache_read'] = event.usage.cachedInputTokens
    if (event.usage.reasoningTokens !== undefined) attributes['llm.token_count.completion_details.reasoning'] = event.usage.reasoningTokens
  }
  if (event.cost) attributes['llm.cost.total'] = event.cost.total
  if (event.user) attributes['user.id'] = event.user
  const sessionId = event.metadata.session_id
  if (typeof sessionId === 'string') attributes['session.id'] = sessionId
  if (event.tags.length > 0) attributes['tag.tags'] = event.tags
  if (Object.keys(event.metadata).length > 0) attributes.metadata = JSON.stringify(event.metadata)
  if (!captureContent) return attributes

  if (event.type === 'embedding') {
    attributes['input.value'] = JSON.stringify(event.input)
    attributes['input.mime_type'] = 'application/json'
    return attributes
  }
  const messages = event.messages ?? []
  attributes['input.value'] = JSON.stringify(messages)
  attributes['input.mime_type'] = 'application/json'
  messages.forEach((message, index) => {
    attributes[`llm.input_messages.${index}.message.role`] = String(message.role)
    attributes[`llm.input_messages.${index}.message.content`] = textOfContent(message.content)
  })
  const choices = (event.response?.choices ?? []) as Array<{ message?: { role?: string; content?: unknown } }>
  if (choices.length > 0) {
    const outputs = choices.map((choice) => textOfContent(choice.message?.content))
    attributes['output.value'] = outputs.length === 1 ? outputs[0]! : JSON.stringify(outputs)
    attributes['output.mime_type'] = outputs.length === 1 ? 'text/plain' : 'application/json'
    choices.forEach((choice, index) => {
      attributes[`llm.output_messages.${index}.message.role`] = choice.message?.role ?? 'assistant'
      attributes[`llm.output_messages.${index}.message.content`] = outputs[index]!
    })
  }
  return attributes
}
