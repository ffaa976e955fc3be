/**
 * p-retry, the same under ESM and CommonJS. p-retry is ESM only: in the CommonJS build on Node 20
 * `require()` hands back its namespace, whose `default` is the function; under ESM the default
 * import is the function itself.
 */
import pRetryImport from 'p-retry'

export { AbortError as StopRetrying } from 'p-retry'

export const pRetry: typeof pRetryImport =
  typeof pRetryImport === 'function' ? pRetryImport : (pRetryImport as unknown as { default: typeof pRetryImport }).default
