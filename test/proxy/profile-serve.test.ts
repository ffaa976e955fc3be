import { afterEach, describe, expect, it } from 'vitest'
import { eventually, runCli, spawnProxy, type SpawnedProxy } from './fixtures/spawn-proxy'

const started: SpawnedProxy[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((proxy) => proxy.stop()))
})

/** Every profile report printed so far: its call count and its rows (layer name → total µs per call), in order. */
function reports(output: string): Array<{ calls: number; rows: Map<string, number> }> {
  return output.split('llm-onion profile: ').slice(1).map((report) => {
    const rows = new Map<string, number>()
    for (const line of report.split('\n').slice(2)) {
      const match = /^ {2}(\S+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)$/.exec(line)
      if (!match) break
      rows.set(match[1]!, Number(match[2]))
    }
    return { calls: Number(/^(\d+) call/.exec(report)?.[1]), rows }
  })
}

describe('llm-onion serve --profile', () => {
  it('prints the slowest layers every N seconds, ranked by their own time', async () => {
    const proxy = await spawnProxy(['--config', 'test/proxy/fixtures/profile.yaml', '--profile', '1'], { OPENAI_API_KEY: '', GEMINI_API_KEY: '' })
    started.push(proxy)
    await eventually(() => proxy.output().includes('profile: the slowest layers every 1 s'))
    for (let call = 0; call < 3; call++) {
      const response = await fetch(`${proxy.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'Hi' }] }),
      })
      expect(response.status).toBe(200)
    }
    // The three calls may fall in one window or two.
    await eventually(() => reports(proxy.output()).reduce((sum, report) => sum + report.calls, 0) >= 3)
    for (const { rows } of reports(proxy.output())) {
      const names = [...rows.keys()]
      expect(names[0]).toBe('slowLayer')
      expect(names.indexOf('slowLayer')).toBeLessThan(names.indexOf('quickLayer'))
      expect(rows.get('slowLayer')).toBeGreaterThanOrEqual(60_000)
    }
  })

  it('refuses --profile 0, naming the flag', async () => {
    const { code, output } = await runCli(['serve', '--profile', '0'])
    expect(code).toBe(1)
    expect(output).toContain('--profile must be a whole number of seconds from 1 to 86400')
  })
})
