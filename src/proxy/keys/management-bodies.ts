/**
 * The bodies of `/key/generate`, `/key/update`, `/key/delete`, `/key/block`, `/user/new` and
 * `/team/new`, with LiteLLM's field names (GenerateKeyRequest, UpdateKeyRequest, KeyRequest,
 * NewUserRequest, NewTeamRequest in litellm/proxy/_types.py). LiteLLM fields llm-onion does not
 * enforce are accepted only empty (as LiteLLM's own clients send them by default), so a request that
 * counts on one of them (a per-model budget, a soft budget) is refused with the field named rather
 * than silently not enforced.
 */
import { z } from 'zod'
import { lazySchema } from '../../lazy-schema'
import { durationHint, parseDuration } from './duration'

const duration = z.string().refine((text) => parseDuration(text) !== undefined, { message: `must be ${durationHint}` })
const limit = z.number().int('must be a whole number').min(0, 'must be 0 or more').nullable()
const money = z.number().min(0, 'must be 0 or more (USD)').nullable()
const models = z.array(z.string().min(1, 'must not be empty'))
const metadata = z.record(z.string(), z.unknown())
const id = z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters')

/** A LiteLLM field llm-onion does not enforce: only its empty value is accepted. */
function notEnforced(name: string, why: string) {
  return z
    .unknown()
    .refine(
      (value) =>
        value === null ||
        value === undefined ||
        value === false ||
        value === 'default' ||
        (Array.isArray(value) && value.length === 0) ||
        (typeof value === 'object' && Object.keys(value as object).length === 0),
      { message: `${name} is not supported by llm-onion's proxy (${why}); leave it out` },
    )
    .optional()
}

const keyNotEnforced = {
  aliases: notEnforced('aliases', 'model aliases go in router_settings.model_group_alias'),
  config: notEnforced('config', 'per-key config is not kept'),
  permissions: notEnforced('permissions', 'per-key permissions are not kept'),
  model_max_budget: notEnforced('model_max_budget', 'budgets are per key, user and team, not per model'),
  model_rpm_limit: notEnforced('model_rpm_limit', 'rate limits are per key, user and team, not per model'),
  model_tpm_limit: notEnforced('model_tpm_limit', 'rate limits are per key, user and team, not per model'),
  soft_budget: notEnforced('soft_budget', 'there are no soft-budget alerts yet'),
  allowed_cache_controls: notEnforced('allowed_cache_controls', 'there is no response cache'),
  guardrails: notEnforced('guardrails', 'guardrails are set in the config for every request'),
  tags: notEnforced('tags', 'tags come with each request, in metadata.tags'),
  budget_id: notEnforced('budget_id', 'there is no budget table'),
  budget_limits: notEnforced('budget_limits', 'a key has one budget window'),
  enforced_params: notEnforced('enforced_params', 'enforced parameters are not checked'),
  allowed_routes: notEnforced('allowed_routes', 'a virtual key may call the model routes and its own /key/info'),
  key_type: notEnforced('key_type', 'every virtual key calls the model routes'),
  organization_id: notEnforced('organization_id', 'there are no organizations'),
  object_permission: notEnforced('object_permission', 'there are no object permissions'),
  send_invite_email: notEnforced('send_invite_email', 'there is no email invitation'),
  temp_budget_increase: notEnforced('temp_budget_increase', 'raise max_budget instead'),
  temp_budget_expiry: notEnforced('temp_budget_expiry', 'raise max_budget instead'),
}

const keyFields = {
  key_alias: z.string().min(1).max(256).nullable().optional(),
  duration: duration.nullable().optional(),
  models: models.optional(),
  max_budget: money.optional(),
  budget_duration: duration.nullable().optional(),
  user_id: id.nullable().optional(),
  team_id: id.nullable().optional(),
  max_parallel_requests: limit.optional(),
  metadata: metadata.nullable().optional(),
  tpm_limit: limit.optional(),
  rpm_limit: limit.optional(),
  blocked: z.boolean().nullable().optional(),
  /** Sets the key's spend in its current budget period (LiteLLM lets an admin set it). */
  spend: z.number().min(0).nullable().optional(),
}

/** `/key/generate`: every field optional; `key` to choose the key yourself (`sk-` and at least 16 more characters). */
export const generateKeyBody = lazySchema(() =>
  z.strictObject({ ...keyFields, ...keyNotEnforced, key: z.string().regex(/^sk-[\w-]{16,}$/, 'must be "sk-" and at least 16 letters, digits, - or _ (or leave it out to have one generated)').nullable().optional() }),
)

/** `/key/update`: `key` (the key, or its hash) and the fields to change. */
export const updateKeyBody = lazySchema(() => z.strictObject({ ...keyFields, ...keyNotEnforced, key: z.string().min(1, 'is required: the key (sk-...) or its hash') }))

/** `/key/delete`: `keys` and/or `key_aliases`. */
export const deleteKeysBody = lazySchema(() =>
  z
    .strictObject({ keys: z.array(z.string().min(1)).nullable().optional(), key_aliases: z.array(z.string().min(1)).nullable().optional() })
    .refine((body) => (body.keys?.length ?? 0) + (body.key_aliases?.length ?? 0) > 0, { message: "give at least one of 'keys' or 'key_aliases'", path: ['keys'] }),
)

/** `/key/block` and `/key/unblock`. */
export const blockKeyBody = lazySchema(() => z.strictObject({ key: z.string().min(1, 'is required: the key (sk-...) or its hash') }))

const ownerFields = {
  models: models.optional(),
  max_budget: money.optional(),
  budget_duration: duration.nullable().optional(),
  tpm_limit: limit.optional(),
  rpm_limit: limit.optional(),
  metadata: metadata.nullable().optional(),
}

/** `/user/new`: the user's budget and limits; `auto_create_key` (default true, as LiteLLM) also makes it a key. */
export const newUserBody = lazySchema(() =>
  z.strictObject({
    ...ownerFields,
    user_id: id.nullable().optional(),
    user_alias: z.string().nullable().optional(),
    user_email: z.string().nullable().optional(),
    auto_create_key: z.boolean().optional(),
    key_alias: keyFields.key_alias,
    duration: keyFields.duration,
    team_id: keyFields.team_id,
    max_parallel_requests: keyFields.max_parallel_requests,
    user_role: z.enum(['internal_user', 'internal_user_viewer'], { error: 'llm-onion has no roles beyond the master key: leave user_role out, or give internal_user' }).nullable().optional(),
    teams: notEnforced('teams', 'a key joins a team with its team_id'),
    organizations: notEnforced('organizations', 'there are no organizations'),
    sso_user_id: notEnforced('sso_user_id', 'there is no single sign-on'),
    send_invite_email: notEnforced('send_invite_email', 'there is no email invitation'),
    spend: z.number().min(0).nullable().optional(),
    aliases: keyNotEnforced.aliases,
    config: keyNotEnforced.config,
    permissions: keyNotEnforced.permissions,
    model_max_budget: keyNotEnforced.model_max_budget,
    allowed_cache_controls: keyNotEnforced.allowed_cache_controls,
  }),
)

/** `/team/new`: the team's budget and limits. */
export const newTeamBody = lazySchema(() =>
  z.strictObject({
    ...ownerFields,
    team_id: id.nullable().optional(),
    team_alias: z.string().nullable().optional(),
    blocked: z.boolean().optional(),
    members_with_roles: notEnforced('members_with_roles', 'team membership is a key\'s team_id'),
    members: notEnforced('members', 'team membership is a key\'s team_id'),
    admins: notEnforced('admins', 'there are no team admins'),
    organization_id: notEnforced('organization_id', 'there are no organizations'),
    max_parallel_requests: notEnforced('max_parallel_requests', 'requests in flight are limited per key'),
    model_aliases: notEnforced('model_aliases', 'model aliases go in router_settings.model_group_alias'),
    model_rpm_limit: notEnforced('model_rpm_limit', 'rate limits are per key, user and team, not per model'),
    model_tpm_limit: notEnforced('model_tpm_limit', 'rate limits are per key, user and team, not per model'),
    tags: notEnforced('tags', 'tags come with each request, in metadata.tags'),
    guardrails: notEnforced('guardrails', 'guardrails are set in the config for every request'),
  }),
)

/**
 * The query of `GET /key/list` (LiteLLM's `list_keys`): filters, a page of `size` keys (at most
 * 100), and `return_full_object=true` for each key's info instead of its hash alone.
 */
export const listKeysQuery = lazySchema(() =>
  z.strictObject({
    page: z.coerce.number().int('must be a whole number').min(1, 'must be 1 or more').default(1),
    size: z.coerce.number().int('must be a whole number').min(1, 'must be 1 or more').max(100, 'must be at most 100').default(10),
    user_id: id.optional(),
    team_id: id.optional(),
    key_alias: z.string().min(1, 'must not be empty').optional(),
    return_full_object: z.enum(['true', 'false'], 'must be true or false').default('false'),
  }),
)

export type GenerateKeyBody = z.output<typeof generateKeyBody>
export type UpdateKeyBody = z.output<typeof updateKeyBody>
export type NewUserBody = z.output<typeof newUserBody>
export type NewTeamBody = z.output<typeof newTeamBody>
export type ListKeysQuery = z.output<typeof listKeysQuery>
