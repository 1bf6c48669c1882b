// Environment parsed once into a frozen, typed object. Nothing else reads process.env.
import path from 'node:path';

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** When set, the service uses this PostgreSQL and starts none of its own. */
  readonly databaseUrl: string | undefined;
  /** The request pool's own login (role contacts_app), for a DATABASE_URL PostgreSQL; see src/db/connection.ts. */
  readonly databaseAppUrl: string | undefined;
  /** Port for the embedded PostgreSQL; 0 picks a free one at first initialisation. */
  readonly embeddedPgPort: number;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
  readonly logLevel: string;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  readonly bodyLimitBytes: number;
  /** Seconds an API key stays cached in memory (revocations are also pushed with LISTEN/NOTIFY). */
  readonly keyCacheTtlSeconds: number;
  readonly idempotencyTtlHours: number;
  /** Requests in progress beyond which new ones are shed with 503 instead of queueing without bound. */
  readonly maxInflight: number;
  /** Requests per minute per API key (per server process); 0 turns the limit off. */
  readonly rateLimitPerMinute: number;
  /** Origins allowed to call the API from a browser (CORS); empty: CORS off. '*' allows any. */
  readonly corsOrigins: readonly string[];
}

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function str(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const tlsCert = str(env, 'TLS_CERT');
  const tlsKey = str(env, 'TLS_KEY');
  if (Boolean(tlsCert) !== Boolean(tlsKey)) {
    throw new ConfigError('TLS_CERT and TLS_KEY must be set together');
  }
  const logLevel = str(env, 'LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError(
      `LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "${logLevel}"`,
    );
  }
  const databaseUrl = str(env, 'DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  const databaseAppUrl = str(env, 'DATABASE_APP_URL');
  if (databaseAppUrl && !/^postgres(ql)?:\/\//.test(databaseAppUrl)) {
    throw new ConfigError('DATABASE_APP_URL must be a postgres:// or postgresql:// URL');
  }
  return Object.freeze({
    host: str(env, 'HOST') ?? '127.0.0.1',
    port: int(env, 'PORT', 8080, 0, 65535),
    dataDir: path.resolve(str(env, 'DATA_DIR') ?? './data'),
    databaseUrl,
    databaseAppUrl,
    embeddedPgPort: int(env, 'EMBEDDED_PG_PORT', 0, 0, 65535),
    poolSize: int(env, 'DB_POOL_SIZE', 10, 1, 500),
    statementTimeoutMs: int(env, 'DB_STATEMENT_TIMEOUT_MS', 5000, 100, 600000),
    logLevel,
    tlsCert,
    tlsKey,
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1048576, 1024, 104857600),
    keyCacheTtlSeconds: int(env, 'KEY_CACHE_TTL_SECONDS', 60, 0, 86400),
    idempotencyTtlHours: int(env, 'IDEMPOTENCY_TTL_HOURS', 24, 1, 720),
    maxInflight: int(env, 'MAX_INFLIGHT', 512, 1, 100000),
    rateLimitPerMinute: int(env, 'RATE_LIMIT_PER_MINUTE', 6000, 0, 100_000_000),
    corsOrigins: Object.freeze(
      (str(env, 'CORS_ORIGINS') ?? '')
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    ),
  });
}
