// Statements sent ahead inside a transaction (src/db/tx.ts, sendAhead): they save round trips, and must never let
// a transaction commit past one of them that failed. And queries compiled once (src/db/prepared.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { Db } from '../src/db/connection.ts';
import { prepared } from '../src/db/prepared.ts';
import { runAsTenant } from '../src/db/tenant-scope.ts';
import { inTx, sendAhead } from '../src/db/tx.ts';
import { newId } from '../src/lib/ids.ts';
import { createTestTenant, setupTestEnv, type TestEnv, type TestTenant } from './helpers.ts';

let env: TestEnv;
let t: TestTenant;

before(async () => {
  env = await setupTestEnv();
  t = await createTestTenant(env);
});
after(async () => env.close());

const asTenant = <T>(fn: () => Promise<T>) => runAsTenant(t.tenant.id, fn);

function contactInsert(db: Db, id: string, name: string) {
  return db.insertInto('contacts').values({ tenant_id: t.tenant.id, id, name }).returning(['id', 'name']);
}

async function exists(id: string): Promise<boolean> {
  return (await env.sql`select 1 from contacts where id = ${id}`).length > 0;
}

describe('sendAhead', () => {
  test('the rows of a statement sent ahead arrive with the next statement; both commit', async () => {
    const id = newId();
    const [ahead, after] = await asTenant(() =>
      inTx(env.appDb, async (trx) => {
        const sent = await sendAhead(trx, contactInsert(trx, id, 'Sent ahead'));
        // The next statement sees the row written ahead of it: PostgreSQL ran them in order.
        const seen = await trx.selectFrom('contacts').select('name').where('id', '=', id).execute();
        return [[...(await sent.rows)], [...seen]];
      }),
    );
    assert.deepEqual(ahead, [{ id, name: 'Sent ahead' }]);
    assert.deepEqual(after, [{ name: 'Sent ahead' }]);
    assert.equal(await exists(id), true);
  });

  test('a failed statement sent last fails the COMMIT with its own error; nothing is written', async () => {
    const first = newId();
    const duplicate = newId();
    await asTenant(async () => {
      await inTx(env.appDb, async (trx) => {
        await contactInsert(trx, duplicate, 'Exists').execute();
      });
    });
    await assert.rejects(
      asTenant(() =>
        inTx(env.appDb, async (trx) => {
          await contactInsert(trx, first, 'Written before').execute();
          // A primary key violation, sent ahead of the COMMIT: PostgreSQL would answer that COMMIT with ROLLBACK,
          // not an error, so the driver must surface this one.
          await sendAhead(trx, contactInsert(trx, duplicate, 'Duplicate'));
        }),
      ),
      (err: { code?: string }) => err.code === '23505',
    );
    assert.equal(await exists(first), false);
  });

  test('a failed statement sent ahead fails the next statement, and the transaction rolls back', async () => {
    const id = newId();
    let next: unknown;
    await assert.rejects(
      asTenant(() =>
        inTx(env.appDb, async (trx) => {
          const sent = await sendAhead(trx, trx.selectNoFrom(sql<number>`1 / 0`.as('x')));
          sent.rows.catch(() => undefined);
          try {
            await contactInsert(trx, id, 'After a failure').execute();
          } catch (err) {
            next = err;
            throw err;
          }
        }),
      ),
    );
    // The cause, not "current transaction is aborted".
    assert.equal((next as { code?: string }).code, '22012');
    assert.equal(await exists(id), false);
  });

  test("a rollback for the caller's own error reports that error, not a failed statement sent ahead", async () => {
    const own = new Error('the caller gives up');
    const duplicate = newId();
    await asTenant(() =>
      inTx(env.appDb, async (trx) => void (await contactInsert(trx, duplicate, 'Exists').execute())),
    );
    const id = newId();
    await assert.rejects(
      asTenant(() =>
        inTx(env.appDb, async (trx) => {
          await contactInsert(trx, id, 'Rolled back').execute();
          await sendAhead(trx, contactInsert(trx, duplicate, 'Duplicate'));
          throw own;
        }),
      ),
      (err) => err === own,
    );
    assert.equal(await exists(id), false);
  });

  test('outside a transaction the statement simply runs', async () => {
    const id = newId();
    const sent = await asTenant(() => sendAhead(env.appDb, contactInsert(env.appDb, id, 'Alone')));
    assert.deepEqual([...(await sent.rows)], [{ id, name: 'Alone' }]);
    assert.equal(await exists(id), true);
  });
});

describe('prepared', () => {
  test('compiled once, each call runs with its own arguments', async () => {
    const byName = prepared((db, tenantId: string, name: string) =>
      db.selectFrom('contacts').select('name').where('tenant_id', '=', tenantId).where('name', '=', name),
    );
    const ids = [newId(), newId()];
    await asTenant(() =>
      inTx(env.appDb, async (trx) => {
        await contactInsert(trx, ids[0] as string, 'First').execute();
        await contactInsert(trx, ids[1] as string, 'Second').execute();
      }),
    );
    for (const name of ['First', 'Second', 'Nobody']) {
      const rows = await byName.execute(env.db, t.tenant.id, name);
      assert.deepEqual(
        rows.map((r) => r.name),
        name === 'Nobody' ? [] : [name],
      );
    }
  });

  test('refuses a query whose arguments do not map one to one onto its parameters', () => {
    const transformed = prepared((db, name: string) =>
      db.selectFrom('contacts').select('id').where('name', '=', String(name).toLowerCase()),
    );
    assert.throws(() => transformed.compile(env.db, 'Ann'), /exactly once/);
    const twice = prepared((db, name: string) =>
      db.selectFrom('contacts').select('id').where('name', '=', name).where('email', '=', name),
    );
    assert.throws(() => twice.compile(env.db, 'Ann'), /exactly once/);
  });
});
