/**
 * A cold start loads only what a call needs: importing `llm-onion` and `llm-onion/middleware` loads
 * no provider SDK, no OpenTelemetry package, no price data, no tokenizer and none of the other heavy
 * packages (the list is in fixtures/cold-start-child.mjs); a mock call still loads none of them; the
 * first `openai/` call loads the `openai` SDK (and the price data, to price it). The import builds no
 * zod schema and loads a few shared files of the build, not one per layer: what a cold start costs is
 * mostly the number of modules loaded (docs/benchmarks.md, "Cold start"; the time is measured by
 * bench/cold-start.ts, never here).
 *
 * The package is built here (JavaScript only, no type declarations, a few seconds) into a temporary
 * directory, so the test never reads a stale `dist/`, and each build (ESM and CJS) is loaded in a
 * fresh Node process, the way an application or a serverless function starts.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { build, type Options } from 'tsup'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOpenAIFake, type OpenAIFake } from '../src/testing/openai-server'
import tsupConfig from '../tsup.config'

const repositoryRoot = fileURLToPath(new URL('..', import.meta.url))
const child = fileURLToPath(new URL('./fixtures/cold-start-child.mjs', import.meta.url))
/** The files of middleware/, each also built as its own entry, `llm-onion/middleware/<name>`. */
const layerFiles = readdirSync(join(repositoryRoot, 'middleware')).filter((file) => file.endsWith('.ts'))

let directory: string
let buildDirectory: string
let fake: OpenAIFake

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'llm-onion-cold-start-'))
  buildDirectory = join(directory, 'dist')
  // The build's imports of its dependencies resolve through this link, as from an installed package.
  symlinkSync(join(repositoryRoot, 'node_modules'), join(directory, 'node_modules'), 'dir')
  const options = tsupConfig as Options
  await build({ ...options, dts: false, sourcemap: false, outDir: buildDirectory, silent: true, config: false })
  fake = await startOpenAIFake()
}, 120_000)

afterAll(async () => {
  await fake?.close()
  if (directory) rmSync(directory, { recursive: true, force: true })
})

interface ChildReport {
  afterImport: string[]
  schemasBuiltByImport: number
  buildFilesLoadedByImport: string[]
  afterMockCall: string[]
  schemasBuiltByMockCall: number
  afterOpenAICall: string[]
  layerExports: Record<string, string[]>
  mockAnswered: boolean
  openaiAnswered: boolean
}

const reports = new Map<string, Promise<ChildReport>>()

/** One fresh process per build, shared by the tests that read its report. */
function coldStart(format: 'esm' | 'cjs'): Promise<ChildReport> {
  let report = reports.get(format)
  if (!report) reports.set(format, (report = runChild(format)))
  return report
}

async function runChild(format: 'esm' | 'cjs'): Promise<ChildReport> {
  // No provider keys from the environment: the default providers must be the mock alone.
  const env = { ...process.env, OPENAI_API_KEY: '', GEMINI_API_KEY: '', GOOGLE_API_KEY: '', OPENAI_BASE_URL: '' }
  const { stdout } = await promisify(execFile)(process.execPath, [child, buildDirectory, format, join(directory, `loaded-${format}.txt`), fake.url], { env })
  return JSON.parse(stdout) as ChildReport
}

describe.each(['esm', 'cjs'] as const)('a cold start of the %s build', (format) => {
  it('imports llm-onion and llm-onion/middleware and makes a mock call without loading a provider SDK, OpenTelemetry, price data, a tokenizer, pg, an object-store signer or zod as a package', async () => {
    const report = await coldStart(format)
    expect(report.afterImport).toEqual([])
    expect(report.mockAnswered).toBe(true)
    expect(report.afterMockCall).toEqual([])
  }, 60_000)

  it('loads the openai SDK, and the price data to price the call, on the first openai/ call and nothing else heavy', async () => {
    const report = await coldStart(format)
    expect(report.openaiAnswered).toBe(true)
    expect(report.afterOpenAICall).toEqual(['openai', '@pydantic/genai-prices'])
  }, 60_000)

  it('builds no zod schema on import (every schema waits in lazySchema for its first use); the mock call builds the ones it validates with', async () => {
    const report = await coldStart(format)
    expect(report.schemasBuiltByImport, 'a module builds a schema at load time: wrap it in lazySchema(() => ...) (src/lazy-schema.ts)').toBe(0)
    // Shows the count works: were zod's hook gone, this would be 0 too.
    expect(report.schemasBuiltByMockCall).toBeGreaterThan(0)
  }, 60_000)

  it('loads the two entries and a few shared chunks of the build, not a file per layer', async () => {
    const report = await coldStart(format)
    const files = report.buildFilesLoadedByImport
    expect(files).toContain(`src/index.${format === 'esm' ? 'js' : 'cjs'}`)
    expect(files).toContain(`middleware/index.${format === 'esm' ? 'js' : 'cjs'}`)
    // 11 today for 50 files in middleware/; a chunk per layer (tsup.config.ts's layer entries undone) made it 89.
    expect(files.length, `${files.length} files of the build loaded: is there a chunk per layer again (tsup.config.ts)?`).toBeLessThan(layerFiles.length / 2)
  }, 60_000)

  it('gives each llm-onion/middleware/<name> exactly the exports of middleware/<name>.ts', async () => {
    const report = await coldStart(format)
    const expected: Record<string, string[]> = {}
    for (const file of layerFiles) {
      const name = file.slice(0, -'.ts'.length)
      expected[name] = Object.keys((await import(`../middleware/${name}.ts`)) as object).sort()
    }
    expect(report.layerExports).toEqual(expected)
  }, 60_000)
})
