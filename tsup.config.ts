import { readdirSync } from 'node:fs'
import { defineConfig } from 'tsup'

// Each layer is its own entry so `llm-onion/middleware/sentry` loads Sentry's code and nothing else.
const layers = readdirSync('middleware')
  .filter((file) => file.endsWith('.ts'))
  .map((file) => `middleware/${file}`)

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
})
