/**
 * Loads `litellm_settings.callbacks` entries: `module.instance` names `module.ts` (or `.mts`, `.mjs`,
 * `.js`, `.cjs`) next to the config and its export `instance`, as LiteLLM loads `module.py`.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from './config'

const extensions = ['.ts', '.mts', '.cts', '.mjs', '.js', '.cjs']
const typeScript = /\.[mc]?ts$/

/** Errors of a native `import()` that jiti can get past (TypeScript on Node 20, extensionless imports). */
const retryWithJiti = new Set([
  'ERR_UNKNOWN_FILE_EXTENSION',
  'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX',
  'ERR_INVALID_TYPESCRIPT_SYNTAX',
  'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING',
  'ERR_MODULE_NOT_FOUND',
  'ERR_UNSUPPORTED_DIR_IMPORT',
])

/** A loaded callback and where it came from. */
export interface LoadedCallback {
  /** The reference as the config wrote it (`proxy_callbacks.proxy_logger_instance`). */
  reference: string
  file: string
  exportName: string
  value: unknown
}

/**
 * Loads the export a `module.instance` reference names, from the module file in `directory`. A
 * missing file, a missing export or an exported class (LiteLLM wants an instance) fails with a
 * message naming the file, the export and what was found. A module that has not finished loading
 * after `timeoutMs` (default 30,000; a top-level `await` that never settles) fails naming the file.
 *
 * @example
 * ```ts
 * const { value } = await loadCallback('proxy_callbacks.proxy_logger_instance', '/etc/llm-onion')
 * ```
 */
export async function loadCallback(reference: string, directory: string, where = 'litellm_settings.callbacks', timeoutMs = 30_000): Promise<LoadedCallback> {
  const dot = reference.lastIndexOf('.')
  const modulePath = reference.slice(0, dot).replaceAll('.', '/')
  const exportName = reference.slice(dot + 1)
  const base = join(directory, modulePath)
  const file = extensions.map((extension) => base + extension).find((candidate) => existsSync(candidate))
  if (file === undefined) {
    const found = scriptsIn(join(base, '..'))
    throw new ConfigError(
      `${where}: cannot load "${reference}": no file ${modulePath}{${extensions.join(',')}} in ${join(base, '..')} ` +
        `(callback modules are looked up next to the config). Found there: ${found.length > 0 ? found.join(', ') : 'no script files'}.`,
      [{ path: where, message: `module ${modulePath} not found` }],
    )
  }
  const module = await withDeadline(importModule(file, where, reference), timeoutMs, () =>
    new ConfigError(
      `${where}: loading ${file} (for "${reference}") did not finish within ${timeoutMs / 1000} s. A top-level await in the module (or in one it imports) ` +
        'never settled: make it finish, or move the slow work into the handler. general_settings.callback_load_timeout_ms sets the limit.',
      [{ path: where, message: `loading ${file} timed out` }],
    ),
  )
  if (!(exportName in module) || module[exportName] === undefined) {
    const exported = Object.keys(module).filter((name) => name !== '__esModule')
    throw new ConfigError(
      `${where}: ${file} has no export "${exportName}" (from "${reference}"). It exports: ${exported.length > 0 ? exported.join(', ') : 'nothing'}. ` +
        `Export the instance at the top level, for example: export const ${exportName} = new MyHandler()`,
      [{ path: where, message: `export ${exportName} not found in ${file}` }],
    )
  }
  const value = module[exportName]
  if (isClass(value)) {
    const name = (value as { name?: string }).name || 'MyHandler'
    throw new ConfigError(
      `${where}: "${exportName}" in ${file} is the class ${name}, not an instance. Export an instance: export const ${exportName} = new ${name}()`,
      [{ path: where, message: `${exportName} is a class` }],
    )
  }
  return { reference, file, exportName, value }
}

/**
 * Native `import()` first: under a TypeScript loader (tsx) or on a Node that strips types, the
 * module then shares this process's copy of llm-onion. Where Node cannot run it (`.ts` on Node 20,
 * any module from the CommonJS build), jiti loads it.
 */
async function importModule(file: string, where: string, reference: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // MODULE_NOT_FOUND is the CommonJS build, where import() is compiled to a require() of the URL.
    const canRetry = code === 'MODULE_NOT_FOUND' || (typeScript.test(file) && (retryWithJiti.has(code ?? '') || error instanceof SyntaxError))
    if (!canRetry) throw loadFailure(file, where, reference, error)
  }
  try {
    const { createJiti } = await import('jiti')
    const jiti = createJiti(import.meta.url, { interopDefault: true })
    return (await jiti.import(file)) as Record<string, unknown>
  } catch (error) {
    throw loadFailure(file, where, reference, error)
  }
}

/**
 * The promise, or `timedOut()` thrown once `ms` pass. The timer keeps the process alive on purpose:
 * an import that waits on nothing would otherwise let Node exit with code 0 and no word.
 */
function withDeadline<Value>(promise: Promise<Value>, ms: number, timedOut: () => Error): Promise<Value> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

function loadFailure(file: string, where: string, reference: string, error: unknown): ConfigError {
  const message = error instanceof Error ? error.message : String(error)
  return new ConfigError(`${where}: loading ${file} (for "${reference}") failed: ${message}`, [{ path: where, message }])
}

function isClass(value: unknown): boolean {
  return typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value))
}

function scriptsIn(directory: string): string[] {
  try {
    return readdirSync(directory).filter((name) => extensions.some((extension) => name.endsWith(extension)) && !name.endsWith('.d.ts'))
  } catch {
    return []
  }
}
