// The floor: the most this stack can do on this machine. Bare Fastify routes sending the API's SQL straight to
// postgres.js, on pools configured like the service's, with no auth, validation, mapping, Kysely or hooks.
// Figures are ratios to these.
import Fastify from 'fastify';
import { APP_ROLE, createSql } from '../src/db/connection.ts';

const url = process.env.DATABASE_URL ?? '';
const port = Number(process.env.PORT ?? 0);
const max = Number(process.env.DB_POOL_SIZE ?? 10);
// Reads as the tables' owner: no row-level security to evaluate, so a stricter floor than the API's own reads.
const sql = createSql(url, { max, statementTimeoutMs: 5000 });
// Writes as the API's request pool does: logged in as contacts_app, under row-level security, with the tenant set.
const appUrl = process.env.DATABASE_APP_URL;
const appSql = createSql(appUrl ?? url, {
  max,
  statementTimeoutMs: 5000,
  role: appUrl ? undefined : APP_ROLE,
});
const app = Fastify({ logger: false });

app.get<{ Params: { tenant: string; id: string } }>('/floor/:tenant/contacts/:id', async (request, reply) => {
  const rows =
    await sql`select * from contacts where tenant_id = ${request.params.tenant} and id = ${request.params.id} and deleted_at is null`;
  if (!rows[0]) return reply.code(404).send({});
  return rows[0];
});

type CreateRoute = { Params: { tenant: string; customer: string }; Body: Record<string, string> };

// The statements POST /v1/customers/{id}/contacts sends, in its two round trips: the transaction bound to the
// tenant, the customer's liveness check (FOR KEY SHARE) and the insert; then the event insert with the COMMIT.
app.post<CreateRoute>('/floor/:tenant/customers/:customer/contacts', async (request, reply) => {
  const { tenant, customer } = request.params;
  const b = request.body;
  const tx = await appSql.reserve();
  try {
    const first = await Promise.all([
      tx.unsafe('begin').execute(),
      tx`select set_config('app.tenant_id', ${tenant}, true)`.execute(),
      tx`select * from customers where tenant_id = ${tenant} and id = ${customer} and deleted_at is null for key share`.execute(),
      tx`insert into contacts (tenant_id, id, customer_id, name, email, phone)
        values (${tenant}, gen_random_uuid(), ${customer}, ${b.name ?? null}, ${b.email ?? null}, ${b.phone ?? null})
        returning *`.execute(),
    ]);
    const row = first[3][0];
    if (!first[2][0] || !row) {
      await tx.unsafe('rollback');
      return reply.code(404).send({});
    }
    await Promise.all([
      tx`insert into events (tenant_id, type, resource_type, resource_id, data)
        values (${tenant}, 'contact.created', 'contact', ${row.id}, ${tx.json({ object: row } as never)})`.execute(),
      tx.unsafe('commit').execute(),
    ]);
    return reply.code(201).send(row);
  } finally {
    tx.release();
  }
});

// For reference only: a single autocommitted INSERT, the least a create can cost (no transaction, no event).
app.post<CreateRoute>('/floor/:tenant/customers/:customer/contacts/bare', async (request, reply) => {
  const b = request.body;
  const rows = await sql`insert into contacts (tenant_id, id, customer_id, name, email, phone)
      values (${request.params.tenant}, gen_random_uuid(), ${request.params.customer}, ${b.name ?? null}, ${b.email ?? null}, ${b.phone ?? null})
      returning *`;
  return reply.code(201).send(rows[0]);
});

await app.listen({ host: '127.0.0.1', port });
process.stderr.write(
  `floor listening on http://127.0.0.1:${(app.server.address() as { port: number }).port}\n`,
);
