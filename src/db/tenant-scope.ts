// The tenant a piece of work acts for, carried across awaits: the request pool's driver reads it to set
// app.tenant_id, which the row-level security policies compare with every row (migrations/0002). Services keep
// their explicit tenant filters; this is what makes a forgotten one return nothing instead of other tenants' rows.
import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<string>();

/** Runs fn, and everything it awaits or starts, on behalf of tenantId. */
export function runAsTenant<T>(tenantId: string, fn: () => T): T {
  return scope.run(tenantId, fn);
}

/** The tenant the current work acts for, or undefined outside any (then the request pool sees no rows). */
export function currentTenant(): string | undefined {
  return scope.getStore();
}
