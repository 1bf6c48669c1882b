// The `contacts` command. It opens the same database as the server (embedded in DATA_DIR, or DATABASE_URL),
// whether or not a server is running, and calls the same services.
import { parseArgs } from 'node:util';
import { type Config, ConfigError, loadConfig } from '../config.ts';
import { type Database, openDatabase } from '../db/connection.ts';
import { mapDatabaseError } from '../db/errors.ts';
import { AppError, ERRORS } from '../http/errors.ts';
import { createApiKey, listApiKeys, revokeApiKey } from '../keys/keys.service.ts';
import { isUuid } from '../lib/ids.ts';
import { createTenant, findTenantBySlug, listTenants } from '../tenants/tenants.service.ts';

const USAGE = `usage: contacts <command>

  serve                                         run the API server (what npm start runs)
  migrate                                       apply pending database migrations
  tenant create <slug> [--name NAME] [--region CC]
  tenant list
  key create --tenant <slug> [--scopes s1,s2] [--name NAME]   prints the secret token alone on the last line
  key list --tenant <slug>
  key revoke --tenant <slug> <key-id>

Environment: DATABASE_URL (else an embedded PostgreSQL in DATA_DIR, default ./data), HOST, PORT, LOG_LEVEL.`;

class UsageError extends Error {}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

async function withDatabase<T>(config: Config, fn: (database: Database) => Promise<T>): Promise<T> {
  const database = await openDatabase(config, { poolSize: 2, log: (m) => process.stderr.write(`${m}\n`) });
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

async function tenantId(database: Database, slug: string | undefined): Promise<string> {
  if (!slug) throw new UsageError('--tenant <slug> is required');
  const tenant = await findTenantBySlug(database.db, slug);
  if (!tenant) throw new AppError(404, 'not_found', 'Not found', `No tenant with slug "${slug}".`);
  return tenant.id;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      region: { type: 'string' },
      tenant: { type: 'string' },
      scopes: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub, arg] = positionals;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!command) throw new UsageError('a command is required');
  const config = loadConfig();
  switch (`${command} ${sub ?? ''}`.trim()) {
    case 'serve': {
      // Loaded on demand: the HTTP stack (Fastify, every route) doubles the start-up time of the other commands.
      const { serve } = await import('../server.ts');
      await serve(config);
      return -1;
    }
    case 'migrate':
      await withDatabase(config, async (database) => {
        // openDatabase has migrated already; report the state.
        const rows = await database.sql<
          { version: string }[]
        >`select version from schema_migrations order by version`;
        print({ applied: rows.map((r) => r.version) });
      });
      return 0;
    case 'tenant create':
      if (!arg) throw new UsageError('tenant create needs a <slug>');
      await withDatabase(config, async ({ db }) =>
        print(await createTenant(db, { slug: arg, name: values.name, default_region: values.region })),
      );
      return 0;
    case 'tenant list':
      await withDatabase(config, async ({ db }) => print(await listTenants(db)));
      return 0;
    case 'key create':
      await withDatabase(config, async (database) => {
        const id = await tenantId(database, values.tenant);
        const scopes = values.scopes
          ?.split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        // parseScopes reads "no scopes" as "all scopes"; an explicitly empty --scopes must not mint an admin key.
        if (scopes?.length === 0) {
          throw ERRORS.invalidField('scopes', 'invalid_value', 'at least one scope is required');
        }
        const { key, token } = await createApiKey(database.db, id, { name: values.name, scopes });
        print(key);
        process.stdout.write(`${token}\n`);
      });
      return 0;
    case 'key list':
      await withDatabase(config, async (database) =>
        print(await listApiKeys(database.db, await tenantId(database, values.tenant))),
      );
      return 0;
    case 'key revoke':
      if (!arg || !isUuid(arg)) throw new UsageError('key revoke needs a <key-id> (a UUID from key list)');
      await withDatabase(config, async (database) =>
        print(await revokeApiKey(database.db, await tenantId(database, values.tenant), arg)),
      );
      return 0;
    default:
      throw new UsageError(`unknown command "${positionals.join(' ')}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    // Every parseArgs failure (unknown option, option missing its value, ...) is a usage error.
    if (err instanceof UsageError || String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_')) {
      process.stderr.write(`contacts: ${(err as Error).message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    const appError = mapDatabaseError(err);
    if (appError instanceof AppError) {
      const err = appError;
      // A validation error's message already lists its field errors: print them once, one a line.
      const fields = err.errors.map((e) => `\n  ${e.field}: ${e.message}`).join('');
      process.stderr.write(`contacts: ${fields ? err.title : err.message}${fields}\n`);
      process.exit(1);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`contacts: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`contacts: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
