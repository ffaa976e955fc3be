/**
 * The guide's Recipe 4, "Simple Failure Alerting", ported: on every failed call, post a Slack-style
 * alert to a webhook. The example starts its own local webhook receiver and points the handler at it;
 * given a real Slack webhook URL the same handler posts to Slack. (For deduplicated, batched Slack
 * alerts use the built-in: `callbacks({ failure: ['slack'] })`.) Run: npx tsx examples/alerting-handler.ts
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createClient, CustomLogger, type LoggerKwargs } from 'llm-onion'
import { customLogger } from 'llm-onion/middleware'

// A local stand-in for Slack's incoming webhook: records each JSON payload and answers 200 "ok".
const received: Array<{ text: string }> = []
const webhook = createServer((request, response) => {
  let body = ''
  request.on('data', (part) => (body += part))
  request.on('end', () => {
    received.push(JSON.parse(body))
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
  })
})
await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve))
// In production: const webhookUrl = process.env.SLACK_WEBHOOK_URL
const webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/services/T000/B000/XXXX`

async function sendSlackAlert(message: string): Promise<void> {
  const payload = { text: `:rotating_light: LLM Failure Alert :rotating_light:\n${message}` }
  const response = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) })
  if (!response.ok) console.log(`[SLACK ALERT] Error sending alert: ${response.status} ${await response.text()}`)
}

class AlertingHandler extends CustomLogger {
  override async asyncLogFailureEvent(kwargs: LoggerKwargs) {
    const callId = kwargs.litellm_call_id
    const alertMessage = [
      'LLM Call Failed!',
      `*Call ID:* ${callId}`,
      `*Model:* ${kwargs.model}`,
      `*User:* ${kwargs.user ?? 'N/A'}`,
      `*Error:* \`${kwargs.exception?.name}: ${kwargs.exception?.message ?? 'Unknown Error'}\``,
      // kwargs.traceback_exception holds the stack; too long for Slack.
    ].join('\n')
    console.log(`[ALERT_HANDLER] Sending failure alert for ${callId}`)
    await sendSlackAlert(alertMessage) // a throw here would go to onHookError, never to the caller
  }
}

const alerter = new AlertingHandler()
const client = createClient().use(customLogger(alerter))

await client.chat({ model: 'mock/gpt-4o', messages: [{ role: 'user', content: 'All good' }], user: 'user-1' })
try {
  await client.chat({
    model: 'mock/gpt-4o',
    messages: [{ role: 'user', content: 'This one fails' }],
    user: 'user-2',
    mock_error: { status: 401, message: 'Incorrect API key provided' },
  })
} catch (error) {
  console.log(`caller saw: ${(error as Error).message}`)
}

await client.close() // waits for the alert to be posted
webhook.closeAllConnections()
webhook.close()
console.log(`webhook received ${received.length} alert(s):\n${received.map((alert) => alert.text).join('\n---\n')}`)
if (received.length !== 1) process.exit(1)
