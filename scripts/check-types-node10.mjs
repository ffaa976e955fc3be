// Checks that the built package's types resolve for a TypeScript project on `moduleResolution:
// node10` (the `node` of older tsconfigs), which ignores `exports`: the root through `types`, and
// every subpath entry (`llm-onion/testing`, `llm-onion/middleware`, `llm-onion/integrations`, ...) and `llm-onion/middleware/<layer>` through
// `typesVersions`. It makes a throwaway project in a temp dir whose node_modules/llm-onion holds
// only what npm publishes (package.json and dist/), and runs tsc on a file importing every entry.
// Needs dist/ (`npm run build` first); CI runs it after the build. Building takes minutes on a
// shared machine, which is why this is a CI step and not a vitest test.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
if (!existsSync(join(root, 'dist/src/index.d.ts'))) {
  console.error('check-types-node10: dist/ is missing; run `npm run build` first.')
  process.exit(1)
}
const layers = readdirSync(join(root, 'middleware'))
  .filter((file) => file.endsWith('.ts') && file !== 'index.ts')
  .map((file) => file.slice(0, -'.ts'.length))

const project = mkdtempSync(join(tmpdir(), 'llm-onion-node10-'))
try {
  const installed = join(project, 'node_modules', 'llm-onion')
  mkdirSync(installed, { recursive: true })
  symlinkSync(join(root, 'package.json'), join(installed, 'package.json'))
  symlinkSync(join(root, 'dist'), join(installed, 'dist'), 'dir')
  // What `tsc --init` of TypeScript 4.x wrote, with `moduleResolution` spelled out.
  const compilerOptions = { module: 'commonjs', moduleResolution: 'node10', target: 'es2022', strict: true, esModuleInterop: true, skipLibCheck: true, noEmit: true, types: [] }
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['index.ts'] }, null, 2))
  // Every subpath entry package.json exports that has types (besides the wildcard, checked layer by layer below; JSON files have none).
  const { exports } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const entries = Object.keys(exports).filter((key) => key.startsWith('./') && !key.includes('*') && !key.endsWith('.json')).map((key) => key.slice(2))
  const imports = [
    "import { createClient } from 'llm-onion'",
    ...entries.map((entry, index) => `import * as entry${index} from 'llm-onion/${entry}'`),
    ...layers.map((layer, index) => `import * as layer${index} from 'llm-onion/middleware/${layer}'`),
  ]
  const uses = ['createClient', ...entries.map((_entry, index) => `entry${index}`), ...layers.map((_layer, index) => `layer${index}`)]
  writeFileSync(join(project, 'index.ts'), `${imports.join('\n')}\nexport const used = [${uses.join(', ')}]\n`)
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', project], { encoding: 'utf8' })
  if (tsc.status !== 0) {
    console.error(`check-types-node10: tsc with moduleResolution node10 failed:\n${tsc.stdout}${tsc.stderr}`)
    process.exit(1)
  }
  console.log(`check-types-node10: the root, ${entries.join(', ')} and ${layers.length} middleware/<layer> entries resolve with moduleResolution node10`)
} finally {
  rmSync(project, { recursive: true, force: true })
}
