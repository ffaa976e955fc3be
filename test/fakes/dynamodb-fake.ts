/**
 * A local stand-in for DynamoDB's BatchWriteItem, checked as DynamoDB documents it
 * (docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html): at most 25 put
 * requests, tables that exist, items with their partition key as a string, typed attribute values
 * (numbers as decimal strings), at most 400 KB an item, no key twice in a request. It stores what
 * it accepts, decodes it back for the test, and can leave items unprocessed as a throttled table does.
 */
import type { RecordingServer } from './recording-server'
import { startAwsJsonFake, type AwsError, type AwsKey } from './aws-json-fake'

export interface DynamodbFake extends RecordingServer {
  /** The items of `table`, attribute values decoded (`{ N: '3' }` → 3), in the order written. */
  items(table: string): Array<Record<string, unknown>>
  /** The next `count` put requests are answered as UnprocessedItems (not written), as under throttling. */
  leaveUnprocessed(count: number): void
}

const dynamo = 'com.amazonaws.dynamodb.v20120810'

/** Starts the fake with `tables` (name → partition key attribute) and the access keys it knows. */
export async function startDynamodbFake(settings: { keys: AwsKey[]; tables: Record<string, string> }): Promise<DynamodbFake> {
  const stored = new Map<string, Map<string, Record<string, unknown>>>(Object.keys(settings.tables).map((table) => [table, new Map()]))
  let unprocessedLeft = 0
  const invalid = (message: string): { error: AwsError } => ({ error: { type: `${dynamo}#ValidationException`, message } })

  const server = await startAwsJsonFake({
    service: 'dynamodb',
    targetPrefix: 'DynamoDB_20120810',
    keys: settings.keys,
    operations: {
      BatchWriteItem(input) {
        const requestItems = input.RequestItems as Record<string, unknown> | undefined
        if (requestItems === undefined || typeof requestItems !== 'object') return invalid('1 validation error detected: RequestItems must not be null')
        const all = Object.values(requestItems).flatMap((requests) => (Array.isArray(requests) ? requests : []))
        if (all.length === 0 || all.length > 25) return invalid(`Too many items requested for the BatchWriteItem call (${all.length}); the limit is 25`)
        const accepted: Array<[string, string, Record<string, unknown>]> = []
        const unprocessed: Record<string, unknown[]> = {}
        for (const [table, requests] of Object.entries(requestItems)) {
          const keyAttribute = settings.tables[table]
          if (keyAttribute === undefined) return { error: { type: `${dynamo}#ResourceNotFoundException`, message: 'Requested resource not found' } }
          const keys = new Set<string>()
          for (const request of requests as Array<{ PutRequest?: { Item?: Record<string, unknown> } }>) {
            const item = request.PutRequest?.Item
            if (item === undefined) return invalid('Every request must be a PutRequest with an Item in this fake')
            const key = (item[keyAttribute] as { S?: unknown } | undefined)?.S
            if (typeof key !== 'string' || key === '') return invalid(`One or more parameter values were invalid: Missing the key ${keyAttribute} in the item`)
            if (keys.has(key)) return invalid('Provided list of item keys contains duplicates')
            keys.add(key)
            if (Buffer.byteLength(JSON.stringify(item)) > 400 * 1024) return invalid('Item size has exceeded the maximum allowed size')
            let decoded: Record<string, unknown>
            try {
              decoded = decodeItem(item)
            } catch (error) {
              return invalid(`One or more parameter values were invalid: ${(error as Error).message}`)
            }
            if (unprocessedLeft > 0) {
              unprocessedLeft--
              ;(unprocessed[table] ??= []).push(request)
            } else accepted.push([table, key, decoded])
          }
        }
        for (const [table, key, item] of accepted) stored.get(table)!.set(key, item)
        return { output: { UnprocessedItems: unprocessed } }
      },
    },
  })
  return Object.assign(server, {
    items: (table: string) => [...(stored.get(table)?.values() ?? [])],
    leaveUnprocessed(count: number) {
      unprocessedLeft += count
    },
  })
}

/** An item's typed attribute values as plain values; throws on a value DynamoDB would refuse. */
function decodeItem(item: Record<string, unknown>): Record<string, unknown> {
  const decoded: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(item)) {
    const entries = Object.entries((value ?? {}) as Record<string, unknown>)
    if (entries.length !== 1) throw new Error(`attribute ${name} must have exactly one type`)
    const [type, content] = entries[0]!
    if (type === 'S' && typeof content === 'string') decoded[name] = content
    else if (type === 'N' && typeof content === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(content)) decoded[name] = Number(content)
    else if (type === 'BOOL' && typeof content === 'boolean') decoded[name] = content
    else if (type === 'NULL' && content === true) decoded[name] = null
    else throw new Error(`attribute ${name} has an invalid ${type} value ${JSON.stringify(content)}`)
  }
  return decoded
}
