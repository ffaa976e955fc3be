/**
 * The guide's Recipes 5 & 6, "Accessing Proxy Request & Model Info", ported. The proxy passes the
 * HTTP request behind each call and the config entry's `model_info` to the client as
 * `client.chat(request, { http, modelInfo })`; handlers read them from
 * `kwargs.litellm_params.proxy_server_request` and `kwargs.litellm_params.model_info`, credentials
 * removed. This example makes that call itself, as the proxy does. Run: npx tsx examples/proxy-request-info.ts
 */
import { createClient, CustomLogger, type LoggerKwargs } from 'llm-onion'
import { asMiddleware } from 'llm-onion/middleware'

class ProxyInfoHandler extends CustomLogger {
  override async asyncLogSuccessEvent(kwargs: LoggerKwargs) {
    const litellmParams = kwargs.litellm_params
    // The original HTTP request sent to the proxy
    const proxyRequest = litellmParams.proxy_server_request
    if (proxyRequest) {
      console.log(`[PROXY_INFO] Original Request URL: ${proxyRequest.url}`)
      console.log(`[PROXY_INFO] Original Request Headers: ${JSON.stringify(proxyRequest.headers)}`)
      console.log(`[PROXY_INFO] Original Request Body: ${JSON.stringify(proxyRequest.body)}`) // careful, can be large
    }
    // model_info from the config entry that served the call
    const modelInfo = litellmParams.model_info
    if (modelInfo) console.log(`[PROXY_INFO] Configured Model Info: ${JSON.stringify(modelInfo)}`)
  }
}

// In proxy_callbacks.ts next to config.yaml: `export const proxyInfoLogger = new ProxyInfoHandler()`,
// and in config.yaml: `litellm_settings: { callbacks: proxy_callbacks.proxyInfoLogger }`.
export const proxyInfoLogger = new ProxyInfoHandler()

// The proxy turns each loaded instance into a layer like this (a wrong export fails here, naming it).
const client = createClient().use(asMiddleware(proxyInfoLogger, 'litellm_settings.callbacks[0] (proxy_callbacks.proxyInfoLogger)'))

const body = { model: 'gpt-3.5-turbo', messages: [{ role: 'user' as const, content: 'Test proxy callback' }], user: 'proxy-test-user' }
await client.chat(
  { ...body, model: 'mock/gpt-3.5-turbo' },
  {
    http: {
      method: 'POST',
      url: '/chat/completions',
      headers: { authorization: 'Bearer sk-my-master-key', 'content-type': 'application/json', 'x-request-id': 'req-7' },
      clientIp: '127.0.0.1',
      body,
    },
    modelInfo: { id: 'gpt-35-deployment-1', mode: 'chat', base_model: 'gpt-3.5-turbo' },
  },
)
await client.close()
