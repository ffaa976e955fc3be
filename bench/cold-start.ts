/**
 * Cold start: how long a fresh Node process takes to import llm-onion, against bare `node -e 1`
 * and against the Vercel AI SDK's `ai`, measured in the same run, with `zod` alone beside them (`ai`
 * loads it as a package; llm-onion bundles its own copy, English messages only, since zod as a package was
 * most of what importing llm-onion cost). Every number is the wall time of
 * a whole process (spawn to exit), so it is what a serverless function or a CLI pays on each start.
 * The contestants take turns, round after round, so a change in the machine's load hits them alike;
 * each number is the median over the rounds (hyperfine is not needed). Beside the wall time, each
 * process reports its own CPU time (user + system, bootstrap included) as it exits: on a machine
 * shared with other work that is the steadier reading, since waiting for a core is not counted.
 *
 * The package is built first (JavaScript only, as `npm run build` makes it, into a temporary
 * directory), so the numbers are never those of a stale `dist/`.
 *
 * `node --import tsx bench/cold-start.ts` prints a table and, last, `BENCH_RESULT {json}`.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build, type Options } from 'tsup'
import tsupConfig from '../tsup.config'
import { emitResult, median, quick, round } from './stats'

const rounds = quick ? 3 : 21
const root = fileURLToPath(new URL('..', import.meta.url))

/** A fresh build of the package in a temporary directory whose `node_modules` is the repository's. */
async function buildPackage(): Promise<{ directory: string; dist: string }> {
  const directory = mkdtempSync(join(tmpdir(), 'llm-onion-cold-start-bench-'))
  symlinkSync(join(root, 'node_modules'), join(directory, 'node_modules'), 'dir')
  const dist = join(directory, 'dist')
  await build({ ...(tsupConfig as Options), dts: false, sourcemap: false, outDir: dist, silent: true, config: false })
  return { directory, dist }
}

/** A preload (CommonJS, so bare `node -e 1` stays free of the ES loader) that prints the process's CPU time at exit. */
function cpuReporter(directory: string): string {
  const path = join(directory, 'report-cpu.cjs')
  writeFileSync(path, "process.on('exit', () => { const used = process.cpuUsage(); process.stderr.write(`COLD_START_CPU_US ${used.user + used.system}\\n`) })\n")
  return path
}

/** The contestants: each is the arguments of one `node` process. */
function contestants(dist: string): Record<string, string[]> {
  const esm = (path: string) => JSON.stringify(pathToFileURL(join(dist, path)).href)
  const cjs = (path: string) => JSON.stringify(join(dist, path))
  const importBoth = `await import(${esm('src/index.js')}); await import(${esm('middleware/index.js')});`
  // Also times itself from the imports' end to the reply: a difference of two noisy process medians is not.
  const firstCall = `const { createClient } = await import(${esm('src/index.js')}); await import(${esm('middleware/index.js')}); const started = performance.now(); const client = createClient(); await client.chat({ model: 'mock/cold-start', messages: [{ role: 'user', content: 'Hi' }] }); process.stderr.write('COLD_START_CALL_MS ' + (performance.now() - started) + '\\n'); await client.close();`
  return {
    bare: ['-e', '1'],
    importBoth: ['--input-type=module', '-e', importBoth],
    importBothCjs: ['-e', `require(${cjs('src/index.cjs')}); require(${cjs('middleware/index.cjs')})`],
    firstMockCall: ['--input-type=module', '-e', firstCall],
    aiSdk: ['--input-type=module', '-e', `await import('ai')`],
    // zod alone, as a package: `ai` loads it so; llm-onion bundles it (tsup.config.ts).
    zod: ['--input-type=module', '-e', `await import('zod')`],
  }
}

/** Wall and CPU milliseconds of one process, spawn to exit; throws with its output if it failed. */
function timeProcess(args: string[], reporter: string): { wallMs: number; cpuMs: number; callMs?: number } {
  const started = performance.now()
  // No provider keys: the default providers are the mock alone, as in a fresh deployment's first call.
  const result = spawnSync(process.execPath, ['-r', reporter, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, OPENAI_API_KEY: '', GEMINI_API_KEY: '', GOOGLE_API_KEY: '' } })
  const wallMs = performance.now() - started
  const cpu = /COLD_START_CPU_US (\d+)/.exec(result.stderr)?.[1]
  if (result.status !== 0 || !cpu) throw new Error(`node ${args.join(' ')} failed (exit ${result.status}):\n${result.stderr}`)
  const call = /COLD_START_CALL_MS ([\d.]+)/.exec(result.stderr)?.[1]
  return { wallMs, cpuMs: Number(cpu) / 1000, callMs: call === undefined ? undefined : Number(call) }
}

const { directory, dist } = await buildPackage()
try {
  const runs = contestants(dist)
  const reporter = cpuReporter(directory)
  const wall: Record<string, number[]> = Object.fromEntries(Object.keys(runs).map((name) => [name, []]))
  const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(runs).map((name) => [name, []]))
  const firstCallMs: number[] = []
  // One untimed round first: the files are in the page cache for every contestant alike.
  for (const args of Object.values(runs)) timeProcess(args, reporter)
  for (let index = 0; index < rounds; index++) {
    for (const [name, args] of Object.entries(runs)) {
      const measured = timeProcess(args, reporter)
      wall[name]!.push(measured.wallMs)
      cpu[name]!.push(measured.cpuMs)
      if (measured.callMs !== undefined) firstCallMs.push(measured.callMs)
    }
  }
  const medians = (samples: Record<string, number[]>) => Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, round(median(values))]))
  /** What each step adds: both entries, `ai` and zod over bare Node, the first mock call over importing both entries. */
  const added = (ms: Record<string, number>) => ({
    importBoth: round(ms.importBoth! - ms.bare!),
    importBothCjs: round(ms.importBothCjs! - ms.bare!),
    firstMockCall: round(ms.firstMockCall! - ms.importBoth!),
    aiSdk: round(ms.aiSdk! - ms.bare!),
    zod: round(ms.zod! - ms.bare!),
  })
  const wallMs = medians(wall)
  const cpuMs = medians(cpu)
  // Its own date and load: the cold start can be measured alone (`npm run bench -- cold-start`).
  const load = loadavg().map((value) => round(value))
  const result = { date: new Date().toISOString(), load, rounds, wallMs, cpuMs, addedWallMs: added(wallMs), addedCpuMs: added(cpuMs), firstMockCallInProcessMs: round(median(firstCallMs)) }
  console.log(`cold start, median of ${rounds} rounds (ms per whole process, wall / CPU):`)
  for (const name of Object.keys(runs)) console.log(`  ${name.padEnd(14)} ${wallMs[name]} / ${cpuMs[name]}`)
  console.log(`  createClient() + first mock call, timed inside the process: ${result.firstMockCallInProcessMs} ms`)
  console.log(`  added (wall / CPU): ${Object.entries(result.addedWallMs).map(([name, value]) => `${name} ${value} / ${result.addedCpuMs[name as keyof typeof result.addedCpuMs]}`).join(', ')}`)
  emitResult(result)
} finally {
  rmSync(directory, { recursive: true, force: true })
}
