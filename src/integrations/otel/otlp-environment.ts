/**
 * The OpenTelemetry exporter variables for traces, read as the specification says
 * (opentelemetry.io/docs/specs/otel/protocol/exporter/): a per-signal variable wins over the generic
 * one; `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as it is, while `OTEL_EXPORTER_OTLP_ENDPOINT` is a
 * base that gets `/v1/traces` appended; headers are `key=value` pairs, comma-separated, values
 * percent-decoded. Only the headers these variables name are sent: nothing else of the application's
 * OpenTelemetry setup is copied (a Honeycomb key in another variable never goes to Langfuse).
 */
import { ValidationError } from '../../errors'
import type { Environment } from '../options'
import { registerSecret } from '../../secret-scrubber'
import type { OtlpProtocol } from './pipeline'

/** What the variables say about where traces go. */
export interface OtlpEnvironment {
  /** The full traces URL, or undefined when no endpoint variable is set. */
  url: string | undefined
  /** The headers the variables name (lower-cased names). */
  headers: Record<string, string>
  protocol: OtlpProtocol
  /** Whether `OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION` asks for gzip. */
  gzip: boolean | undefined
  /** The variable the URL came from, for messages. */
  urlVariable: string | undefined
}

const protocols: readonly string[] = ['http/protobuf', 'http/json']

/**
 * The traces exporter settings in `env`.
 *
 * @example
 * ```ts
 * readOtlpEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).url // 'http://collector:4318/v1/traces'
 * ```
 */
export function readOtlpEnvironment(env: Environment): OtlpEnvironment {
  const read = (variable: string) => env[variable]?.trim() || undefined
  const tracesEndpoint = read('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')
  const baseEndpoint = read('OTEL_EXPORTER_OTLP_ENDPOINT')
  const urlVariable = tracesEndpoint ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : baseEndpoint ? 'OTEL_EXPORTER_OTLP_ENDPOINT' : undefined
  const url = tracesEndpoint ?? (baseEndpoint ? `${baseEndpoint.replace(/\/+$/, '')}/v1/traces` : undefined)
  if (url !== undefined && !URL.canParse(url)) {
    throw new ValidationError(`otlp(): ${urlVariable} is not a URL (${JSON.stringify(url)}); give a full URL such as http://localhost:4318.`, [
      { path: urlVariable!, message: 'not a URL' },
    ])
  }
  const protocolVariable = read('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL'
  const protocol = read(protocolVariable) ?? 'http/protobuf'
  if (!protocols.includes(protocol)) {
    throw new ValidationError(
      `otlp(): ${protocolVariable}=${protocol} is not spoken here; set it to http/protobuf or http/json (gRPC needs a collector in between).`,
      [{ path: protocolVariable, message: 'unsupported protocol' }],
    )
  }
  const compression = read('OTEL_EXPORTER_OTLP_TRACES_COMPRESSION') ?? read('OTEL_EXPORTER_OTLP_COMPRESSION')
  // Per the specification the per-signal headers are their own list; a name in both takes the per-signal value.
  const headers = { ...parseOtlpHeaders(read('OTEL_EXPORTER_OTLP_HEADERS'), 'OTEL_EXPORTER_OTLP_HEADERS'), ...parseOtlpHeaders(read('OTEL_EXPORTER_OTLP_TRACES_HEADERS'), 'OTEL_EXPORTER_OTLP_TRACES_HEADERS') }
  return { url, headers, protocol: protocol as OtlpProtocol, gzip: compression === undefined ? undefined : compression === 'gzip', urlVariable }
}

/**
 * Parses a headers variable (`api-key=abc,x-tenant=shop`; values percent-encoded, as W3C Baggage).
 * Every value is registered with the secret scrubber: such headers usually carry credentials.
 *
 * @example
 * ```ts
 * parseOtlpHeaders('x-honeycomb-team=abc%3D', 'OTEL_EXPORTER_OTLP_HEADERS') // { 'x-honeycomb-team': 'abc=' }
 * ```
 */
export function parseOtlpHeaders(text: string | undefined, variable: string): Record<string, string> {
  const headers: Record<string, string> = {}
  if (!text) return headers
  for (const [index, pair] of text.split(',').entries()) {
    if (pair.trim() === '') continue
    const equals = pair.indexOf('=')
    const name = pair.slice(0, Math.max(equals, 0)).trim().toLowerCase()
    if (equals < 1 || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) {
      // The entry is not quoted: it may be a bare credential.
      throw new ValidationError(`${variable}: entry ${index + 1} is not a name=value pair; write ${variable}=name1=value1,name2=value2.`, [
        { path: variable, message: 'not a list of name=value pairs' },
      ])
    }
    let value = pair.slice(equals + 1).trim()
    try {
      value = decodeURIComponent(value)
    } catch {
      // Not percent-encoded after all: the value is taken as written, as the SDKs do.
    }
    registerSecret(value)
    headers[name] = value
  }
  return headers
}
