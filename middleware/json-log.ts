/**
 * A JSON-lines file: one standard event per line, appended in batches through the delivery queue.
 */
import { appendFile, mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { z } from 'zod'
import type { Sink } from '../src/delivery/queue'
import { defineExporter } from '../src/integrations/exporter'
import { integrationOptionsSchema, readSetting } from '../src/integrations/options'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'
import { eventJson } from '../src/event-json'

const jsonLogOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .omit({ baseUrl: true })
    .extend({
      path: z.string().min(1).optional(),
      maxBatchSize: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link jsonLog}, besides the common ones (`moments`, `redact`, `env`).
 * - `path`: the file, default `LLM_ONION_LOG_FILE`, else `./llm-onion.jsonl` (relative to the working directory).
 * - `moments`: default `['success', 'failure']`.
 * - `maxBatchSize`: lines per write, default 500.
 */
export type JsonLogOptions = z.input<typeof jsonLogOptionsSchema>

/**
 * jsonLog() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * jsonLogIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['jsonLog'] }) builds
 * ```
 */
export const jsonLogIntegration = defineIntegration({
  name: 'jsonLog',
  aliases: [],
  switchedOnBy: [['LLM_ONION_LOG_FILE']],
  position: 'local',
  takesEnv: true,
  factory: jsonLog,
})

/**
 * Appends every finished call to a JSON-lines file: one standard event per line, as
 * `callEventSchema` describes it, written in the background in batches. Missing folders are
 * created. Read it back with `jq`, DuckDB (`read_json('llm-onion.jsonl')`) or any log shipper.
 *
 * @example
 * ```ts
 * client.use(jsonLog({ path: './logs/llm.jsonl' }))
 * // later: jq 'select(.status == "failure") | .error.message' logs/llm.jsonl
 * ```
 */
export function jsonLog(options: JsonLogOptions = {}): Middleware {
  const settings = validate(jsonLogOptionsSchema, options, 'jsonLog() options')
  const env = settings.env ?? process.env
  const path = resolve(readSetting(settings.path, 'LLM_ONION_LOG_FILE', env) ?? './llm-onion.jsonl')
  return defineExporter<string>({
    name: 'jsonLog',
    moments: settings.moments,
    redact: settings.redact,
    sink: fileSink(path, settings.maxBatchSize ?? 500),
    // Serialised in the background, from the event: the snapshot taken when the call ended.
    toItems: eventJson,
  })
}

/** A sink appending lines to `path`, one write per batch, batches in order. */
function fileSink(path: string, maxBatchSize: number): Sink<string> {
  let folderReady: Promise<unknown> | undefined
  let previous: Promise<void> = Promise.resolve()
  return {
    name: 'jsonLog',
    maxBatchSize,
    // One write at a time keeps lines in the order the calls finished.
    maxConcurrency: 1,
    send(lines) {
      // A failed mkdir (permissions fixed later) is tried again on the next batch.
      folderReady ??= mkdir(dirname(path), { recursive: true }).catch((error: unknown) => {
        folderReady = undefined
        throw error
      })
      const write = previous.then(async () => {
        await folderReady
        await appendFile(path, `${lines.join('\n')}\n`, 'utf8')
      })
      previous = write.catch(() => undefined)
      return write
    },
  }
}
