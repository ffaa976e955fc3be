/**
 * The guide's "alert if the average response time for gpt-4 exceeds 5 seconds", in code without the
 * proxy: slack({ latency: { window: '5m', average: 5000 } }). Scaled down so it runs in a second: a
 * mock gpt-4 that answers after 60 ms, and a 50 ms average over five minutes. A local receiver
 * stands in for Slack; with a Redis store, every process sharing it would send one alert, not one each.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createClient, memoryStore, mock } from 'llm-onion'
import { slack } from 'llm-onion/middleware'

const received: string[] = []
const fakeSlack = createServer((request, response) => {
  let body = ''
  request.on('data', (part) => (body += part))
  request.on('end', () => {
    received.push((JSON.parse(body) as { text: string }).text)
    response.end('ok')
  })
})
await new Promise<void>((resolve) => fakeSlack.listen(0, '127.0.0.1', resolve))
const webhookUrl = `http://127.0.0.1:${(fakeSlack.address() as AddressInfo).port}/services/T0/B0/x`

const client = createClient({ providers: { mock: mock({ latencyMs: 60 }) }, store: memoryStore() })
// The guide's numbers would be: latency: { window: '5m', average: 5000, models: ['gpt-4'] }
client.use(slack({ webhookUrl, latency: { window: '5m', average: 50, models: ['mock/gpt-4'] } }))

for (let index = 0; index < 5; index++) await client.chat({ model: 'mock/gpt-4', messages: [{ role: 'user', content: `question ${index}` }] })
await client.flush()

console.log(received)
if (received.length !== 1 || !received[0]!.startsWith('Average latency of mock/gpt-4')) throw new Error(`expected one latency alert, got ${JSON.stringify(received)}`)
await client.close()
fakeSlack.close()
