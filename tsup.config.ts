import { readdirSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Plugin } from 'esbuild'
import { defineConfig } from 'tsup'

// Each layer keeps its own path (`llm-onion/middleware/sentry`), and every layer's code lands in the
// same few shared chunks: a file per layer made importing `llm-onion/middleware` load one module per
// layer (about 90 files in all), and the loading of each module, not the code in it, was most of a
// cold start (docs/benchmarks.md, "Cold start"). Adding a layer adds code to those chunks, not files.
const layers = readdirSync('middleware')
  .filter((file) => file.endsWith('.ts'))
  .map((file) => `middleware/${file}`)

/**
 * Builds each layer's entry as `export * from './<layer>.ts'` plus an import of every layer: esbuild
 * splits code by the set of entries that reach it, so when every layer entry reaches every layer,
 * all of them share one set and one chunk. The entry's exports stay exactly those of the layer file.
 */
const layerEntries: Plugin = {
  name: 'llm-onion-layer-entries',
  setup(build) {
    const layerFiles = layers.map((layer) => resolve(layer))
    build.onResolve({ filter: /[\\/]middleware[\\/][^\\/]+\.ts$/ }, (args) => {
      const path = resolve(args.resolveDir, args.path)
      if (args.kind !== 'entry-point' || !layerFiles.includes(path) || path === resolve('middleware/index.ts')) return undefined
      return { path, suffix: '?layer-entry' }
    })
    build.onLoad({ filter: /[\\/]middleware[\\/][^\\/]+\.ts$/ }, (args) => {
      if (args.suffix !== '?layer-entry') return undefined
      const contents = [`export * from ${JSON.stringify(args.path)}`, ...layerFiles.map((file) => `import ${JSON.stringify(file)}`)].join('\n')
      return { contents, loader: 'ts', resolveDir: resolve('middleware') }
    })
  },
}

/**
 * zod is bundled (see `noExternal` below) with English messages only: its `locales` namespace
 * (64 languages) is exported by `zod` and never used here, and it was a fifth of the cold start.
 */
const englishZodMessagesOnly: Plugin = {
  name: 'llm-onion-zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.c?js$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)) return undefined
      return { path: resolve(args.resolveDir, args.path), namespace: 'zod-english-locales' }
    })
    build.onLoad({ filter: /.*/, namespace: 'zod-english-locales' }, (args) => {
      const commonJs = args.path.endsWith('.cjs')
      const english = JSON.stringify(`./en.${commonJs ? 'cjs' : 'js'}`)
      const contents = commonJs ? `exports.en = require(${english}).default` : `export { default as en } from ${english}`
      return { contents, loader: 'js', resolveDir: resolve(args.path, '..') }
    })
  },
}

export default defineConfig({
  entry: ['src/index.ts', 'src/integrations/index.ts', 'src/testing/index.ts', 'src/proxy/index.ts', 'src/proxy/cli.ts', ...layers],
  format: ['esm', 'cjs'],
  // `@internal` members of Context and the client stay out of the published types.
  dts: { compilerOptions: { stripInternal: true } },
  sourcemap: true,
  clean: true,
  splitting: true,
  target: 'node20',
  outDir: 'dist',
  shims: true,
  esbuildPlugins: [layerEntries, englishZodMessagesOnly],
  // Bundled: loading zod as a package costs one module per file (about 130), most of a cold start.
  noExternal: ['zod'],
})
