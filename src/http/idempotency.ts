// Idempotency-Key for POST: the key row is inserted in the same transaction as the write it guards. A concurrent
// request with the same key blocks on the key's primary key until the first commits, then replays its response,
// so a retried create happens exactly once. Failed requests (4xx) roll back with their write and store nothing.
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';
import type { TenantContext } from './context.ts';
import { ERRORS } from './errors.ts';

export interface Outcome<T> {
  status: number;
  body: T;
  headers?: Record<string, string>;
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

export function idempotencyKey(request: FastifyRequest): string | undefined {
  const raw = request.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (!key || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw ERRORS.invalidField('Idempotency-Key', 'invalid_format', 'must be 1-255 visible ASCII characters');
  }
  return key;
}

export async function runIdempotent<T>(
  db: Db,
  ctx: TenantContext,
  request: FastifyRequest,
  ttlHours: number,
  work: (trx: Db) => Promise<Outcome<T>>,
): Promise<Outcome<T> & { replayed: boolean }> {
  const key = idempotencyKey(request);
  if (!key) {
    const outcome = await db.transaction().execute(work);
    return { ...outcome, replayed: false };
  }
  const fingerprint = createHash('sha256')
    .update(`${request.method} ${request.url.split('?')[0]}\n${canonical(request.body ?? null)}`)
    .digest('hex');
  return db.transaction().execute(async (trx) => {
    // An expired key is forgotten, so the same key may start a new request.
    await trx
      .deleteFrom('idempotency_keys')
      .where('tenant_id', '=', ctx.tenantId)
      .where('key', '=', key)
      .where('created_at', '<', sql<Date>`now() - make_interval(hours => ${ttlHours})`)
      .execute();
    const inserted = await trx
      .insertInto('idempotency_keys')
      .values({ tenant_id: ctx.tenantId, key, fingerprint, status: 0, body: null })
      .onConflict((oc) => oc.columns(['tenant_id', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (!inserted) {
      const previous = await trx
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('tenant_id', '=', ctx.tenantId)
        .where('key', '=', key)
        .executeTakeFirst();
      if (!previous) throw ERRORS.idempotencyInFlight();
      if (previous.fingerprint !== fingerprint) throw ERRORS.idempotencyMismatch();
      return {
        status: previous.status,
        body: previous.body as T,
        headers: previous.headers as Record<string, string>,
        replayed: true,
      };
    }
    const outcome = await work(trx);
    await trx
      .updateTable('idempotency_keys')
      .set({
        status: outcome.status,
        body: outcome.body as never,
        headers: outcome.headers ?? {},
      })
      .where('tenant_id', '=', ctx.tenantId)
      .where('key', '=', key)
      .execute();
    return { ...outcome, replayed: false };
  });
}

export function sendOutcome(reply: FastifyReply, outcome: Outcome<unknown> & { replayed: boolean }) {
  for (const [name, value] of Object.entries(outcome.headers ?? {})) reply.header(name, value);
  if (outcome.replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(outcome.status).send(outcome.body);
}
