// Reads on the request pool, each bound to its tenant (app.tenant_id, row-level security) at no extra round trip
// and, mostly, no extra statement.
//
// A lane is a postgres.js pool of exactly one connection: everything sent on it runs in the order it was sent, and
// many requests' statements are pipelined on it at once, as on a bare pool. A lane remembers the tenant its
// session was last set to (a session-level set_config), so a read for that tenant is sent alone; a read for
// another tenant is sent right behind a set_config, in the same write. Every read depends on the set_config sent
// last before it on its lane, and its rows are used only if that set_config succeeded in the same session (a
// reconnect in between gives a fresh session with no tenant): otherwise the read is sent again behind a fresh
// set_config, or fails. A read can therefore never return rows read under another tenant.
import type { Row, RowList, Sql } from 'postgres';

/**
 * Asks PostgreSQL to cancel a statement. postgres.js answers with a promise that rejects when the cancel request
 * itself fails (the server went away meanwhile): nothing is left to do then, and it must not surface as an
 * unhandled rejection, which would end the process.
 */
export function cancelQuietly(query: { cancel: () => unknown }): void {
  const outcome = query.cancel();
  if (outcome instanceof Promise) outcome.catch(() => undefined);
}

const SET_TENANT_SESSION = "select set_config('app.tenant_id', $1, false)";

interface Lane {
  readonly sql: Sql;
  /** The tenant of the last set_config sent on this lane; undefined: unknown (send one). */
  tenant: string | undefined;
  /** That set_config: resolves to the backend pid of the session it ran in. */
  set: Promise<number> | undefined;
  inflight: number;
}

/** Thrown when a read could not be bound to its tenant (the set_config failed or ran in another session). */
export class TenantBindingError extends Error {
  readonly code = 'TENANT_BINDING';
}

export class ReadLanes {
  readonly #lanes: Lane[];

  /** open(onclose) makes one lane's pool (max: 1); onclose must be called when its connection closes. */
  constructor(count: number, open: (onclose: () => void) => Sql) {
    this.#lanes = Array.from({ length: Math.max(1, count) }, () => {
      const lane: Lane = {
        sql: undefined as unknown as Sql,
        tenant: undefined,
        set: undefined,
        inflight: 0,
      };
      // A new connection is a new session, without the tenant.
      (lane as { sql: Sql }).sql = open(() => {
        lane.tenant = undefined;
        lane.set = undefined;
      });
      return lane;
    });
  }

  /**
   * Sends one read for tenant ('' for none: the policies show no rows). `settle` bounds the wait (the caller's
   * deadline) and calls `cancel` when it gives up.
   */
  async read(
    tenant: string,
    text: string,
    parameters: readonly unknown[],
    settle: <T>(work: Promise<T>, cancel: () => void) => Promise<T>,
  ): Promise<RowList<Row[]>> {
    for (let attempt = 0; ; attempt++) {
      const lane = this.#pick(tenant);
      if (attempt > 0 || lane.tenant !== tenant || !lane.set) this.#bind(lane, tenant);
      const set = lane.set as Promise<number>;
      const query = lane.sql.unsafe(text, parameters as never[], { prepare: true }).execute();
      lane.inflight++;
      try {
        const [setPid, rows] = await settle(Promise.all([set, query]), () => cancelQuietly(query));
        // rows.state is the connection's live session state; no reconnect can happen between the query's answer
        // and this line (no I/O in between), so its pid is that of the session that ran the query.
        if (setPid === rows.state.pid) return rows;
        if (attempt > 0)
          throw new TenantBindingError('the read ran in another session than its tenant binding');
      } catch (err) {
        // Whichever failed first is the cause; a failed set_config has also unbound the lane (see #bind), and the
        // query's rows, read under an unknown tenant, are dropped here.
        set.catch(() => undefined);
        query.catch(() => undefined);
        throw err;
      } finally {
        lane.inflight--;
      }
    }
  }

  async end(): Promise<void> {
    await Promise.all(this.#lanes.map((l) => l.sql.end({ timeout: 5 })));
  }

  #bind(lane: Lane, tenant: string): void {
    const set = lane.sql
      .unsafe(SET_TENANT_SESSION, [tenant], { prepare: true })
      .execute()
      .then((rows) => rows.state.pid);
    lane.tenant = tenant;
    lane.set = set;
    set.catch(() => {
      if (lane.set === set) {
        lane.tenant = undefined;
        lane.set = undefined;
      }
    });
  }

  // The least busy lane already bound to the tenant, unless another lane is clearly less busy: then that one
  // (binding it costs one more statement, piling everything onto one lane costs more).
  #pick(tenant: string): Lane {
    let least = this.#lanes[0] as Lane;
    let bound: Lane | undefined;
    for (const lane of this.#lanes) {
      if (lane.inflight < least.inflight) least = lane;
      if (lane.tenant === tenant && (!bound || lane.inflight < bound.inflight)) bound = lane;
    }
    return bound && bound.inflight <= least.inflight + 2 ? bound : least;
  }
}
