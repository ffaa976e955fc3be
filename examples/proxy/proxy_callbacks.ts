/**
 * The guide's `proxy_callbacks.py`, ported: a CustomLogger subclass with async hooks, and its
 * instance at the module level, which `config.yaml` names as `proxy_callbacks.proxy_logger_instance`.
 * Recipes 5 & 6 (the proxy request and the config's model_info) are in the success hook.
 */
import { CustomLogger, type LoggerKwargs, type LoggerResponse } from 'llm-onion'

class MyProxyHandler extends CustomLogger {
  // Async methods, as the guide recommends for the proxy: the call never waits for them.
  override async asyncLogSuccessEvent(kwargs: LoggerKwargs, _response: LoggerResponse, _startTime: Date, _endTime: Date) {
    console.log('[PROXY HANDLER]: Success!')
    const litellmParams = kwargs.litellm_params
    // Get original HTTP request details sent to the proxy (credentials already removed)
    const proxyRequest = litellmParams.proxy_server_request
    if (proxyRequest) {
      console.log(`[PROXY_INFO] Original Request URL: ${proxyRequest.url}`)
      console.log(`[PROXY_INFO] Original Request Headers: ${JSON.stringify(proxyRequest.headers)}`)
    }
    // Get model_info defined in config.yaml
    const modelInfo = litellmParams.model_info
    if (modelInfo) console.log(`[PROXY_INFO] Configured Model Info: ${JSON.stringify(modelInfo)}`)
  }

  override async asyncLogFailureEvent(kwargs: LoggerKwargs, _response: undefined, _startTime: Date, _endTime: Date) {
    console.log(`[PROXY HANDLER]: Failure! ${kwargs.exception?.message ?? ''}`)
  }
}

// ---> Create the instance AT THE MODULE LEVEL <---
export const proxy_logger_instance = new MyProxyHandler()
