/**
 * Keeps the README and docs/ true: every `ts` snippet names, on its first line, the example file it
 * comes from (`// from examples/x.ts`, which CI runs) or the test that runs it (`// run by test/x.test.ts`),
 * and its lines must stand, in order, in that file.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

function markdownFiles(directory: string): string[] {
  if (!existsSync(directory)) return []
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name)
    if (statSync(path).isDirectory()) return markdownFiles(path)
    return name.endsWith('.md') ? [path] : []
  })
}

const files = ['README.md', ...markdownFiles('docs')]
const snippets = files.flatMap((file) =>
  [...readFileSync(file, 'utf8').matchAll(/```(?:ts|typescript)\n([\s\S]*?)```/g)].map((match, index) => ({
    file,
    index: index + 1,
    code: match[1]!,
  })),
)

const significant = (code: string) =>
  code
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && line !== '...' && line !== '// ...')

describe('documentation snippets', () => {
  it('finds snippets to check', () => {
    expect(snippets.length).toBeGreaterThan(2)
  })

  for (const snippet of snippets) {
    it(`${snippet.file} snippet ${snippet.index} stands in the file that runs it`, () => {
      const [first, ...rest] = snippet.code.split('\n')
      const source = /^\/\/ (?:from|run by) (\S+)/.exec(first ?? '')?.[1]
      expect(source, `start the snippet with "// from examples/<file>.ts" or "// run by test/<file>.test.ts"`).toBeDefined()
      expect(existsSync(source!), `${source} does not exist`).toBe(true)
      const target = significant(readFileSync(source!, 'utf8'))
      let position = 0
      for (const line of significant(rest.join('\n'))) {
        const found = target.indexOf(line, position)
        expect(found, `line not found (in order) in ${source}: ${line}`).toBeGreaterThanOrEqual(0)
        position = found + 1
      }
    })
  }
})
