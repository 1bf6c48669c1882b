// The event log: one row per write, in the write's own transaction (the base of history, change feed and the
// webhook outbox).
import type { Db } from '../db/connection.ts';
import { prepared } from '../db/prepared.ts';
import { sendAhead } from '../db/tx.ts';
import type { TenantContext } from '../http/context.ts';

export type ResourceType = 'customer' | 'contact' | 'channel';
export type EventAction = 'created' | 'updated' | 'deleted' | 'restored' | 'purged';

// Compiled once (src/db/prepared.ts): every write records one.
const insertEvent = prepared(
  (
    db,
    tenantId: string,
    type: string,
    resourceType: ResourceType,
    resourceId: string,
    data: Record<string, unknown>,
    apiKeyId: string | null,
    requestId: string | null,
  ) =>
    db.insertInto('events').values({
      tenant_id: tenantId,
      type,
      resource_type: resourceType,
      resource_id: resourceId,
      data,
      api_key_id: apiKeyId,
      request_id: requestId,
    }),
);

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
    insertEvent.compile(
      trx,
      ctx.tenantId,
      `${resourceType}.${action}`,
      resourceType,
      resourceId,
      previous ? { object, previous_attributes: previous } : { object },
      ctx.apiKeyId ?? null,
      ctx.requestId ?? null,
    ),
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
