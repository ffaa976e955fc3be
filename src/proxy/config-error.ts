/** The error a config that cannot be served raises: every wrong value with its key path. */

/**
 * Raised for a config that cannot be served; `issues` hold every problem with its path.
 *
 * @example
 * ```ts
 * try { await loadConfig('config.yaml') } catch (error) {
 *   if (error instanceof ConfigError) for (const issue of error.issues) console.error(issue.path, issue.message)
 * }
 * ```
 */
export class ConfigError extends Error {
  readonly issues: ReadonlyArray<{ path: string; message: string }>
  constructor(message: string, issues: ReadonlyArray<{ path: string; message: string }> = []) {
    super(message)
    this.name = 'ConfigError'
    this.issues = issues
  }
}

/** One ConfigError listing every issue, each under its key path. */
export function configError(file: string | undefined, issues: Array<{ path: string; message: string }>): ConfigError {
  const lines = issues.map((issue) => `  - ${issue.path || '(top level)'}: ${issue.message}`)
  return new ConfigError(`Invalid proxy config${file ? ` ${file}` : ''}:\n${lines.join('\n')}`, issues)
}
