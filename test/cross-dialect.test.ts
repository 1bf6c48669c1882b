// One tenant's data through every door: objects written through one dialect are visible through the native API
// and through every other dialect that can express them, and a delete anywhere is a delete everywhere.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestTenant, json, setupTestEnv, type TestEnv, type TestTenant } from './helpers.ts';

type Obj = Record<string, unknown>;
let env: TestEnv;
let t: TestTenant;
let customer: { id: string; number: number };

const fastly = (path: string) => `/compat/fastly/customer/${customer.id}${path}`;
const dayzero = (path: string) => `/compat/dayzero/api/v1/customers/${customer.id}${path}`;
const bc = (path: string) => `/compat/businesscentral/v2.0/companies(${t.tenant.id})${path}`;
const dnsimple = (path: string) => `/compat/dnsimple/v2/${t.tenant.number}${path}`;
const ecwid = (path: string) => `/compat/ecwid/api/v3/${t.tenant.number}/customers/${customer.number}${path}`;

async function call(method: string, url: string, payload?: unknown, extra: Record<string, string> = {}) {
  const headers: Record<string, string> = url.startsWith('/compat/fastly')
    ? { 'fastly-key': t.token }
    : { ...t.auth, ...(url.startsWith('/compat/dayzero') ? { 'x-business-id': t.tenant.id } : {}) };
  const res = await env.app.inject({
    method: method as 'GET',
    url,
    headers: { ...headers, ...extra },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  assert.ok(res.statusCode < 300, `${method} ${url} → ${res.statusCode} ${res.body}`);
  return res.body ? json<Obj>(res) : {};
}

const nativeEmails = async () =>
  ((await call('GET', '/v1/contacts?limit=200')).data as Obj[]).map((c) => String(c.email));

before(async () => {
  env = await setupTestEnv();
  t = await createTestTenant(env);
  customer = (await call('POST', '/v1/customers', { name: 'Everywhere Inc' })) as {
    id: string;
    number: number;
  };
});
after(() => env.close());

test('a contact written through Fastly is seen natively, by Business Central and by DayZero', async () => {
  const created = await call('POST', fastly('/contacts'), {
    contact_type: 'billing',
    name: 'Fay Fastly',
    email: 'fay@everywhere.example',
    phone: '+1 202 555 0111',
  });
  assert.ok((await nativeEmails()).includes('fay@everywhere.example'));
  const native = await call('GET', `/v1/contacts/${created.id}`);
  assert.equal(native.contact_type, 'billing');
  assert.equal(native.customer_id, customer.id);
  const bcList = await call(
    'GET',
    bc(`/customerContacts?$filter=${encodeURIComponent("email eq 'fay@everywhere.example'")}`),
  );
  assert.equal((bcList.value as Obj[])[0]?.id, created.id);
  assert.equal((bcList.value as Obj[])[0]?.customerName, 'Everywhere Inc');
  const dz = await call('GET', dayzero(`/contacts/${created.id}`));
  assert.equal(dz.name, 'Fay Fastly');
  assert.equal(dz.entity_id, customer.id);
});

test('DayZero writes and Business Central edits are seen by everyone; a delete anywhere is a delete everywhere', async () => {
  const created = await call('POST', dayzero('/contacts'), {
    name: 'Dana Dayzero',
    email: 'dana@everywhere.example',
    phone: '+1 202 555 0122',
    role: 'Technical',
    is_primary: true,
  });
  const fastlyList = (await call('GET', fastly('/contacts'))) as unknown as Obj[];
  assert.ok(fastlyList.some((c) => c.id === created.id && c.email === 'dana@everywhere.example'));
  const bcOne = await call('GET', bc(`/customerContacts(${created.id})`));
  const patched = await call(
    'PATCH',
    bc(`/customerContacts(${created.id})`),
    { professionalTitle: 'CTO' },
    { 'if-match': String(bcOne['@odata.etag']) },
  );
  assert.equal(patched.professionalTitle, 'CTO');
  const native = await call('GET', `/v1/contacts/${created.id}`);
  assert.equal(native.job_title, 'CTO');
  assert.equal(native.is_primary, true);
  assert.equal(native.role, 'Technical');

  await call('DELETE', dayzero(`/contacts/${created.id}`));
  const gone = await env.app.inject({ method: 'GET', url: `/v1/contacts/${created.id}`, headers: t.auth });
  assert.equal(gone.statusCode, 404);
  const bcGone = await env.app.inject({
    method: 'GET',
    url: bc(`/customerContacts(${created.id})`),
    headers: t.auth,
  });
  assert.equal(bcGone.statusCode, 404);
  assert.ok(!((await call('GET', fastly('/contacts'))) as unknown as Obj[]).some((c) => c.id === created.id));
  // The native API can still restore it, and then every dialect sees it again.
  await call('POST', `/v1/contacts/${created.id}/restore`);
  assert.equal((await call('GET', dayzero(`/contacts/${created.id}`))).name, 'Dana Dayzero');
});

test("DNSimple account contacts are the tenant's own contacts: seen natively, not as any customer's", async () => {
  const { data } = (await call('POST', dnsimple('/contacts'), {
    first_name: 'Dora',
    last_name: 'Dns',
    address1: '1 Main St',
    city: 'Rome',
    state_province: 'RM',
    postal_code: '00100',
    country: 'IT',
    email: 'dora@everywhere.example',
    phone: '+39 06 1234 5678',
  })) as { data: Obj };
  const native = ((await call('GET', '/v1/contacts?email=dora@everywhere.example')).data as Obj[])[0];
  assert.equal(native?.customer_id, null);
  assert.equal(native?.number, data.id);
  assert.equal(native?.phone_e164, '+390612345678');
  const bcList = await call(
    'GET',
    bc(`/customerContacts?$filter=${encodeURIComponent("email eq 'dora@everywhere.example'")}`),
  );
  assert.equal((bcList.value as Obj[]).length, 0);
  // A native tenant-level contact shows up in DNSimple.
  const own = await call('POST', '/v1/contacts', {
    first_name: 'Nat',
    last_name: 'Ive',
    email: 'nat@everywhere.example',
  });
  const got = (await call('GET', dnsimple(`/contacts/${own.number}`))) as { data: Obj };
  assert.equal(got.data.email, 'nat@everywhere.example');
});

test('Ecwid customer contacts are the native channels, both ways', async () => {
  const created = await call('POST', ecwid('/contacts'), {
    contact: 'orders@everywhere.example',
    type: 'EMAIL',
    default: true,
  });
  const channels = (await call('GET', `/v1/customers/${customer.id}/channels`)).data as Obj[];
  const channel = channels.find((c) => c.number === created.id);
  assert.equal(channel?.value, 'orders@everywhere.example');
  assert.equal(channel?.is_default, true);
  await call('POST', `/v1/customers/${customer.id}/channels`, {
    type: 'EMAIL',
    value: 'billing@everywhere.example',
    is_default: true,
  });
  const items = (await call('GET', ecwid('/contacts'))).items as Obj[];
  assert.deepEqual(
    items.filter((i) => i.type === 'EMAIL').map((i) => [i.contact, i.default]),
    [
      ['orders@everywhere.example', false],
      ['billing@everywhere.example', true],
    ],
  );
});
