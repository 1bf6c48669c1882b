// The floor: the most this stack can do on this machine. A bare Fastify route doing the same SQL as the API, on a
// pool configured like the service's, with no auth, validation, mapping or events. Figures are ratios to this.
import Fastify from 'fastify';
import { createSql } from '../src/db/connection.ts';

const url = process.env.DATABASE_URL ?? '';
const port = Number(process.env.PORT ?? 0);
const sql = createSql(url, { max: Number(process.env.DB_POOL_SIZE ?? 10), statementTimeoutMs: 5000 });
const app = Fastify({ logger: false });

app.get<{ Params: { tenant: string; id: string } }>('/floor/:tenant/contacts/:id', async (request, reply) => {
  const rows =
    await sql`select * from contacts where tenant_id = ${request.params.tenant} and id = ${request.params.id} and deleted_at is null`;
  if (!rows[0]) return reply.code(404).send({});
  return rows[0];
});

app.post<{ Params: { tenant: string; customer: string }; Body: Record<string, string> }>(
  '/floor/:tenant/customers/:customer/contacts',
  async (request, reply) => {
    const b = request.body;
    const rows = await sql`insert into contacts (tenant_id, id, customer_id, name, email, phone)
      values (${request.params.tenant}, gen_random_uuid(), ${request.params.customer}, ${b.name ?? null}, ${b.email ?? null}, ${b.phone ?? null})
      returning *`;
    return reply.code(201).send(rows[0]);
  },
);

await app.listen({ host: '127.0.0.1', port });
process.stderr.write(
  `floor listening on http://127.0.0.1:${(app.server.address() as { port: number }).port}\n`,
);
