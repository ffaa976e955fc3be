import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  resolve: {
    alias: [
      { find: /^llm-onion\/middleware\/(.*)$/, replacement: here('./middleware/$1.ts') },
      { find: /^llm-onion\/middleware$/, replacement: here('./middleware/index.ts') },
      { find: /^llm-onion\/integrations$/, replacement: here('./src/integrations/index.ts') },
      { find: /^llm-onion\/testing$/, replacement: here('./src/testing/index.ts') },
      { find: /^llm-onion\/proxy$/, replacement: here('./src/proxy/index.ts') },
      { find: /^llm-onion$/, replacement: here('./src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
