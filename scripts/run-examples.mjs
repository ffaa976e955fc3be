// Runs every example in examples/ (top-level *.ts files) with tsx, one at a time, and fails if any
// exits non-zero or runs longer than its limit. CI runs this after the tests.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

const only = process.argv.slice(2)
const files = readdirSync('examples')
  .filter((file) => file.endsWith('.ts'))
  .filter((file) => only.length === 0 || only.includes(file))
  .sort()
let failed = 0
for (const file of files) {
  const started = Date.now()
  const result = spawnSync(process.execPath, ['--import', 'tsx', join('examples', file)], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  })
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  if (result.status === 0) {
    console.log(`ok   ${file} (${seconds} s)`)
  } else {
    failed++
    console.log(`FAIL ${file} (${seconds} s, exit ${result.status ?? result.signal})`)
    console.log(result.stdout)
    console.log(result.stderr)
  }
}
console.log(`examples: ${files.length - failed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
