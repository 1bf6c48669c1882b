// config → database (migrated) → bootstrap → buildApp → listen, with graceful shutdown on SIGTERM/SIGINT:
// stop accepting, drain in-flight requests, close the pool, and stop the embedded PostgreSQL if ours alone.
import fs from 'node:fs/promises';
import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import { openDatabase } from './db/connection.ts';
import { createApiKey } from './keys/keys.service.ts';
import { bootstrapDefaultTenant } from './tenants/tenants.service.ts';

export async function serve(config: Config): Promise<void> {
  const say = (message: string) => process.stderr.write(`${message}\n`);
  const database = await openDatabase(config, { log: say });
  if (database.applied.length) say(`applied migrations: ${database.applied.join(', ')}`);

  const boot = await bootstrapDefaultTenant(database.db, async (trx, tenantId) => {
    const { token } = await createApiKey(trx, tenantId, { name: 'bootstrap admin key' });
    return token;
  });
  const https =
    config.tlsCert && config.tlsKey
      ? { cert: await fs.readFile(config.tlsCert), key: await fs.readFile(config.tlsKey) }
      : undefined;
  const app = await buildApp({ config, database, https });
  await app.listen({ host: config.host, port: config.port });
  const base = `${https ? 'https' : 'http'}://${config.host}:${(app.server.address() as { port: number }).port}`;
  if (boot) {
    process.stdout.write(
      [
        '',
        `Created tenant "default" (number ${boot.tenant.number}) with an admin API key. It is shown only this once:`,
        '',
        `  ${boot.token}`,
        '',
        `Try it:  curl -H "Authorization: Bearer ${boot.token}" ${base}/v1/customers`,
        `API reference: ${base}/docs`,
        '',
      ].join('\n'),
    );
  }
  say(
    `contacts listening on ${base}${database.embedded ? ` (embedded PostgreSQL in ${database.embedded.location})` : ''}`,
  );

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    say(`${signal}: draining requests and shutting down`);
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    try {
      await app.close();
      await database.close();
    } finally {
      clearTimeout(force);
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
