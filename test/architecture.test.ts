/**
 * The import graph of the package, read from the source: which folder may import which. The core
 * (`src/` outside the proxy, the integration catalogue and the test kit) imports neither
 * `middleware/` nor the proxy, so `import 'llm-onion'` never pulls in a layer or a server; and only
 * the proxy itself imports from `src/proxy/` (the CLI lives there; bench and tests are not scanned).
 * And no two files import each other, directly or around a circle.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Every `.ts` file under `folder`, as a path from the project root with `/` separators. */
function sourceFiles(folder: string): string[] {
  const found: string[] = []
  const walk = (directory: string): void => {
    for (const name of readdirSync(directory)) {
      const path = join(directory, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (path.endsWith('.ts')) found.push(relative(root, path).split('\\').join('/'))
    }
  }
  walk(join(root, folder))
  return found.sort()
}

/** `import ... from`, `import '...'`, `export ... from` and `import('...')`, type-only ones included. */
const specifierPattern = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

/** The project files `file` imports (relative specifiers resolved to `.ts` files; packages left out). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8')
  const targets: string[] = []
  for (const match of text.matchAll(specifierPattern)) {
    const specifier = match[1] ?? match[2]!
    if (!specifier.startsWith('.')) continue
    const target = relative(root, resolve(root, dirname(file), specifier)).split('\\').join('/')
    if (existsSync(join(root, `${target}.ts`))) targets.push(`${target}.ts`)
    else if (existsSync(join(root, target, 'index.ts'))) targets.push(`${target}/index.ts`)
    else targets.push(target)
  }
  return targets
}

/** The import graph of `src/` and `middleware/`: each file with the project files it imports. */
function importGraph(): Map<string, string[]> {
  return new Map([...sourceFiles('src'), ...sourceFiles('middleware')].map((file) => [file, importsOf(file)]))
}

/**
 * The import circles of `graph`: each a list of files that import one another, found with Tarjan's
 * strongly connected components (a file importing itself counts too).
 */
function importCircles(graph: Map<string, string[]>): string[][] {
  let counter = 0
  const order = new Map<string, number>()
  const lowest = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const circles: string[][] = []
  const visit = (file: string): void => {
    order.set(file, counter)
    lowest.set(file, counter++)
    stack.push(file)
    onStack.add(file)
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue
      if (!order.has(target)) {
        visit(target)
        lowest.set(file, Math.min(lowest.get(file)!, lowest.get(target)!))
      } else if (onStack.has(target)) lowest.set(file, Math.min(lowest.get(file)!, order.get(target)!))
    }
    if (lowest.get(file) !== order.get(file)) return
    const circle: string[] = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      circle.push(member)
    } while (member !== file)
    if (circle.length > 1 || graph.get(file)!.includes(file)) circles.push(circle.sort())
  }
  for (const file of graph.keys()) if (!order.has(file)) visit(file)
  return circles
}

const isProxy = (file: string) => file.startsWith('src/proxy/')
/** What `import 'llm-onion'` stands on: `src/` but the proxy, the catalogue (which lists the layers) and the test kit. */
const isCore = (file: string) => file.startsWith('src/') && !isProxy(file) && file !== 'src/integrations/catalogue.ts' && !file.startsWith('src/testing/')

describe('the import graph', () => {
  const graph = importGraph()

  it('is read from every source file, the proxy and the layers included', () => {
    expect(graph.get('src/client.ts')).toContain('src/context.ts')
    expect(graph.get('src/proxy/index.ts')).toContain('src/proxy/server.ts') // a dynamic import()
    expect([...graph.keys()].some((file) => file.startsWith('middleware/'))).toBe(true)
  })

  it('keeps the core from importing middleware/ or the proxy', () => {
    const wrong = [...graph].flatMap(([file, targets]) =>
      isCore(file) ? targets.filter((target) => target.startsWith('middleware/') || isProxy(target)).map((target) => `${file} imports ${target}`) : [],
    )
    expect(wrong, 'the core must stand alone: move what it needs into src/, or have the proxy or a layer import the core instead').toEqual([])
  })

  it('has no import circle, type-only imports included', () => {
    expect(importCircles(graph), 'move the types both files need into a file that imports neither (src/call-facts.ts, src/delivery/sink-contract.ts are examples)').toEqual([])
  })

  it('finds an import circle when there is one', () => {
    const circular = new Map([
      ['src/a.ts', ['src/b.ts']],
      ['src/b.ts', ['src/c.ts']],
      ['src/c.ts', ['src/a.ts', 'src/d.ts']],
      ['src/d.ts', []],
    ])
    expect(importCircles(circular)).toEqual([['src/a.ts', 'src/b.ts', 'src/c.ts']])
  })

  it('lets nothing but the proxy import from src/proxy/', () => {
    const wrong = [...graph].flatMap(([file, targets]) => (isProxy(file) ? [] : targets.filter(isProxy).map((target) => `${file} imports ${target}`)))
    expect(wrong, 'src/proxy/ is the proxy alone: what others need belongs in the core (src/) or a layer (middleware/)').toEqual([])
  })
})
