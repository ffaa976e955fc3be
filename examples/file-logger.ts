/**
 * The guide's Recipe 1, "Logging to a Standard Log File", ported: one formatted line per call to a
 * file and to the console. Appends are queued on one promise chain so lines never interleave, and
 * `client.close()` waits for the last one. Run: npx tsx examples/file-logger.ts
 */
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient, CustomLogger, type LoggerKwargs, type LoggerResponse } from 'llm-onion'
import { customLogger } from 'llm-onion/middleware'

/** A tiny logger: `asctime - LEVEL - message`, to a file and to stdout (Python's logging setup in the guide). */
function createFileLogger(path: string) {
  let writes = Promise.resolve()
  const write = (level: 'INFO' | 'ERROR', message: string) => {
    const line = `${new Date().toISOString()} - ${level} - ${message}\n`
    process.stdout.write(line)
    writes = writes.then(() => appendFile(path, line))
    return writes
  }
  return { info: (message: string) => write('INFO', message), error: (message: string) => write('ERROR', message) }
}

const directory = await mkdtemp(join(tmpdir(), 'llm-onion-'))
const logPath = join(directory, 'llm_callbacks.log')
const logger = createFileLogger(logPath)

class MyFileLoggingHandler extends CustomLogger {
  override async asyncLogSuccessEvent(kwargs: LoggerKwargs, response: LoggerResponse) {
    const cost = kwargs.response_cost === undefined ? 'unknown' : kwargs.response_cost.toFixed(6)
    await logger.info(`Success - ID: ${kwargs.litellm_call_id}, Model: ${response.model ?? 'N/A'}, Cost: ${cost}`)
  }

  override async asyncLogFailureEvent(kwargs: LoggerKwargs) {
    await logger.error(`Failure - ID: ${kwargs.litellm_call_id}, Model: ${kwargs.model}, Error: ${kwargs.exception?.message ?? 'Unknown Error'}`)
  }
}

const fileLoggerInstance = new MyFileLoggingHandler()
const client = createClient({ cost: { prices: { 'mock/gpt-4o-mini': { input: 0.15, output: 0.6 } } } })
client.use(customLogger(fileLoggerInstance))

const messages = [{ role: 'user' as const, content: 'Hi' }]
await client.chat({ model: 'mock/gpt-4o-mini', messages })
await client.chat({ model: 'mock/gpt-4o-mini', messages, mock_error: { status: 503, message: 'The server is overloaded' } }).catch(() => undefined)
await client.close()

const lines = (await readFile(logPath, 'utf8')).trim().split('\n')
console.log(`\n${logPath} holds ${lines.length} lines`)
await rm(directory, { recursive: true })
if (lines.length !== 2) process.exit(1)
