// The event log: one row per write, in the write's own transaction (the base of history, change feed and the
// webhook outbox).
import type { Db } from '../db/connection.ts';
import { sendAhead } from '../db/tx.ts';
import type { TenantContext } from '../http/context.ts';

export type ResourceType = 'customer' | 'contact' | 'channel';
export type EventAction = 'created' | 'updated' | 'deleted' | 'restored' | 'purged';

export async function recordEvent(
  trx: Db,
  ctx: TenantContext,
  resourceType: ResourceType,
  action: EventAction,
  resourceId: string,
  object: object,
  previous?: Record<string, unknown>,
): Promise<void> {
  // Sent ahead: it travels with the transaction's next statement, usually the COMMIT, which fails if it did.
  await sendAhead(
    trx,
    trx.insertInto('events').values({
      tenant_id: ctx.tenantId,
      type: `${resourceType}.${action}`,
      resource_type: resourceType,
      resource_id: resourceId,
      data: previous ? { object, previous_attributes: previous } : { object },
      api_key_id: ctx.apiKeyId ?? null,
      request_id: ctx.requestId ?? null,
    }),
  );
}

/** The fields whose values differ between two API representations, with their old values. */
export function changedFields(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(after)) {
    if (k === 'updated_at') continue;
    if (JSON.stringify(before[k]) !== JSON.stringify(v)) out[k] = before[k] ?? null;
  }
  return out;
}
