import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  createCustomer,
  createTestTenant,
  json,
  keyFor,
  setupTestEnv,
  type TestEnv,
  type TestTenant,
} from '../../../test/helpers.ts';
import { etagOf } from './businesscentral.mapping.ts';
import { contactCardPdf, pdfString, toWinAnsi } from './businesscentral.pdf.ts';

type Obj = Record<string, unknown>;
type Entity = Obj & { id: string; '@odata.etag': string };
interface Collection {
  '@odata.context': string;
  '@odata.count'?: number;
  '@odata.nextLink'?: string;
  value: Entity[];
}
interface ODataError {
  error: { code: string; message: string };
}

const BASE = '/compat/businesscentral/v2.0';

let env: TestEnv;
let a: TestTenant;
let b: TestTenant;
let contoso: Obj & { id: string };
let fabrikam: Obj & { id: string };
let john: Entity;
let jane: Entity;
let quoted: Entity;
let untitled: Entity;
let tenantOwn: Obj & { id: string };

async function customer(tenant: TestTenant, name: string): Promise<Obj & { id: string }> {
  return createCustomer(env, tenant, { name });
}

async function nativeContact(
  tenant: TestTenant,
  customerId: string | null,
  payload: Obj,
): Promise<Obj & { id: string }> {
  const res = await env.app.inject({
    method: 'POST',
    url: customerId ? `/v1/customers/${customerId}/contacts` : '/v1/contacts',
    headers: tenant.auth,
    payload,
  });
  assert.equal(res.statusCode, 201, res.body);
  return json(res) as Obj & { id: string };
}

function company(tenant: TestTenant): string {
  return `${BASE}/companies(${tenant.tenant.id})`;
}

function contactsUrl(tenant: TestTenant, query = ''): string {
  return `${company(tenant)}/customerContacts${query}`;
}

function contactUrl(tenant: TestTenant, id: string): string {
  return `${company(tenant)}/customerContacts(${id})`;
}

async function bc(
  method: 'GET' | 'PATCH' | 'DELETE' | 'POST' | 'PUT',
  url: string,
  options: { tenant?: TestTenant; headers?: Record<string, string>; payload?: unknown } = {},
) {
  return env.app.inject({
    method,
    url,
    headers: { ...(options.tenant ?? a).auth, ...options.headers },
    ...(options.payload !== undefined ? { payload: options.payload as Obj } : {}),
  });
}

async function getEntity(id: string, tenant: TestTenant = a): Promise<Entity> {
  const res = await bc('GET', contactUrl(tenant, id), { tenant });
  assert.equal(res.statusCode, 200, res.body);
  return json<Entity>(res);
}

async function list(query: string, tenant: TestTenant = a): Promise<Collection> {
  const res = await bc('GET', contactsUrl(tenant, query), { tenant });
  assert.equal(res.statusCode, 200, res.body);
  return json<Collection>(res);
}

function assertError(
  res: { statusCode: number; body: string },
  status: number,
  code: string,
  message?: RegExp,
) {
  assert.equal(res.statusCode, status, res.body);
  const body = json<ODataError>(res);
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code, res.body);
  assert.match(body.error.message, / {2}CorrelationId: {2}\S+\.$/);
  if (message) assert.match(body.error.message, message);
}

before(async () => {
  env = await setupTestEnv();
  a = await createTestTenant(env);
  b = await createTestTenant(env);
  contoso = await customer(a, 'Contoso Ltd.');
  fabrikam = await customer(a, 'Fabrikam, Inc.');
  const created = [
    await nativeContact(a, contoso.id, {
      first_name: 'John',
      last_name: 'Smith',
      email: 'john.smith@contoso.com',
      job_title: 'Purchasing Manager',
      phone: '+1 202-555-0174',
    }),
    await nativeContact(a, contoso.id, {
      first_name: 'Jane',
      last_name: 'Doe',
      email: 'Jane.Doe@Contoso.com',
      job_title: 'CFO',
      phone: '+1 202-555-0175',
    }),
    await nativeContact(a, fabrikam.id, {
      first_name: 'Seán',
      last_name: "O'Brien",
      email: 'sean@fabrikam.com',
    }),
    await nativeContact(a, fabrikam.id, { first_name: 'Ann', last_name: 'Lee' }),
  ];
  tenantOwn = await nativeContact(a, null, {
    first_name: 'Own',
    last_name: 'Contact',
    email: 'own@tenant.example',
  });
  [john, jane, quoted, untitled] = (await Promise.all(created.map((c) => getEntity(c.id)))) as [
    Entity,
    Entity,
    Entity,
    Entity,
  ];
});
after(() => env.close());

describe('companies', () => {
  test('the company list is the one company: the tenant', async () => {
    const res = await bc('GET', `${BASE}/companies`);
    assert.equal(res.statusCode, 200, res.body);
    const body = json<Collection>(res);
    assert.match(body['@odata.context'], /\/v2\.0\/\$metadata#companies$/);
    assert.equal(body.value.length, 1);
    assert.equal(body.value[0]?.id, a.tenant.id);
    const one = await bc('GET', company(a));
    assert.equal(one.statusCode, 200, one.body);
    assert.equal(json<Entity>(one).id, a.tenant.id);
  });

  test("another tenant's company id, an unknown one or a malformed one is BadRequest_NotFound", async () => {
    assertError(await bc('GET', company(b)), 404, 'BadRequest_NotFound');
    assertError(
      await bc('GET', `${BASE}/companies(00000000-0000-0000-0000-000000000000)`),
      404,
      'BadRequest_NotFound',
    );
    assertError(await bc('GET', `${BASE}/companies(CRONUS)/customerContacts`), 404, 'BadRequest_NotFound');
    assertError(await bc('GET', contactsUrl(b)), 404, 'BadRequest_NotFound');
  });

  test('$metadata describes customerContact', async () => {
    const res = await bc('GET', `${BASE}/$metadata`);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/xml/);
    assert.match(res.body, /<EntityType Name="customerContact">/);
    assert.match(res.body, /<Property Name="primaryPhoneNumber" Type="Edm.String"/);
  });
});

describe('GET customerContacts({id})', () => {
  test('every documented property, @odata.context, @odata.etag, OData headers', async () => {
    const res = await bc('GET', contactUrl(a, john.id));
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['odata-version'], '4.0');
    assert.match(String(res.headers['content-type']), /^application\/json; odata\.metadata=minimal/);
    const body = json<Entity>(res);
    assert.equal(
      body['@odata.context'],
      `http://localhost:80${BASE}/$metadata#companies(${a.tenant.id})/customerContacts/$entity`,
    );
    assert.match(body['@odata.etag'], /^W\/"[A-Za-z0-9+/=]+"$/);
    assert.equal(res.headers.etag, body['@odata.etag']);
    const { '@odata.context': _c, '@odata.etag': _e, ...properties } = body;
    assert.deepEqual(properties, {
      id: john.id,
      email: 'john.smith@contoso.com',
      firstName: 'John',
      lastName: 'Smith',
      professionalTitle: 'Purchasing Manager',
      customerId: contoso.id,
      customerName: 'Contoso Ltd.',
      primaryPhoneNumber: '+1 202-555-0174',
    });
  });

  test('blank fields are empty strings, never null', async () => {
    const body = await getEntity(untitled.id);
    assert.equal(body.email, '');
    assert.equal(body.professionalTitle, '');
    assert.equal(body.primaryPhoneNumber, '');
  });

  test('the etag decodes to the core version', async () => {
    assert.equal(john['@odata.etag'], etagOf(1));
    assert.equal(Buffer.from(/"(.*)"/.exec(etagOf(12))?.[1] ?? '', 'base64').toString(), "'2;12;00;'");
  });

  test('$select on one entity keeps @odata.etag and names the properties in the context', async () => {
    const res = await bc('GET', `${contactUrl(a, john.id)}?$select=lastName,email`);
    assert.equal(res.statusCode, 200, res.body);
    const body = json<Entity>(res);
    assert.deepEqual(Object.keys(body), ['@odata.context', '@odata.etag', 'email', 'lastName']);
    assert.match(String(body['@odata.context']), /customerContacts\(email,lastName\)\/\$entity$/);
  });

  test('a contact that belongs to no customer is not a customerContact', async () => {
    assertError(await bc('GET', contactUrl(a, tenantOwn.id)), 404, 'BadRequest_NotFound');
  });

  test('unknown and malformed ids are BadRequest_NotFound', async () => {
    assertError(
      await bc('GET', contactUrl(a, '0190a6a0-0000-7000-8000-000000000000')),
      404,
      'BadRequest_NotFound',
    );
    assertError(await bc('GET', contactUrl(a, 'CONT00123')), 404, 'BadRequest_NotFound');
  });

  test('$filter on a single entity is a bad request', async () => {
    assertError(
      await bc('GET', `${contactUrl(a, john.id)}?$filter=${encodeURIComponent("firstName eq 'x'")}`),
      400,
      'BadRequest',
    );
  });
});

describe('GET customerContacts', () => {
  test('the OData collection envelope with the customer contacts only, in creation order', async () => {
    const body = await list('');
    assert.deepEqual(Object.keys(body), ['@odata.context', 'value']);
    assert.equal(
      body['@odata.context'],
      `http://localhost:80${BASE}/$metadata#companies(${a.tenant.id})/customerContacts`,
    );
    assert.deepEqual(
      body.value.map((c) => c.id),
      [john.id, jane.id, quoted.id, untitled.id],
    );
    assert.ok(!body.value.some((c) => c.id === tenantOwn.id));
    assert.deepEqual(body.value[0], omitContext(john));
    assert.equal(body.value[2]?.customerName, 'Fabrikam, Inc.');
  });

  const filters: [string, () => string[]][] = [
    ["firstName eq 'John'", () => [john.id]],
    ["firstName ne 'John'", () => [jane.id, quoted.id, untitled.id]],
    ["firstName eq 'John' or lastName eq 'Lee'", () => [john.id, untitled.id]],
    ["customerId eq CUSTOMER and professionalTitle eq 'CFO'", () => [jane.id]],
    ["(firstName eq 'John' or firstName eq 'Jane') and not (lastName eq 'Doe')", () => [john.id]],
    ["not firstName eq 'John'", () => [jane.id, quoted.id, untitled.id]],
    ["contains(email, 'contoso')", () => [john.id, jane.id]],
    ["startswith(lastName, 'O''Br')", () => [quoted.id]],
    ["endswith(primaryPhoneNumber, '0175')", () => [jane.id]],
    ["contains(email, 'contoso') eq false", () => [quoted.id, untitled.id]],
    ["lastName eq 'O''Brien'", () => [quoted.id]],
    ["email eq 'JANE.DOE@contoso.com'", () => [jane.id]],
    ["professionalTitle eq ''", () => [quoted.id, untitled.id]],
    ['email eq null', () => [untitled.id]],
    ["professionalTitle ne ''", () => [john.id, jane.id]],
    ["professionalTitle lt 'D'", () => [jane.id, quoted.id, untitled.id]],
    ["'Jane' eq firstName", () => [jane.id]],
    ["firstName gt 'J' and firstName le 'Jo'", () => [jane.id]],
    ['id eq JOHN', () => [john.id]],
    ["id eq 'JOHN'", () => [john.id]],
    ['customerId ne CUSTOMER', () => [quoted.id, untitled.id]],
    ['true', () => [john.id, jane.id, quoted.id, untitled.id]],
    ['false', () => []],
  ];
  for (const [filter, expected] of filters) {
    test(`$filter=${filter}`, async () => {
      const text = filter.replace('CUSTOMER', contoso.id).replace('JOHN', john.id);
      const body = await list(`?$filter=${encodeURIComponent(text)}`);
      assert.deepEqual(
        body.value.map((c) => c.id),
        expected(),
      );
    });
  }

  const badFilters: [string, RegExp][] = [
    ['firstName eq', /Expression expected at position 12/],
    ["firstName eq 'John' and", /Expression expected/],
    ["(firstName eq 'John'", /'\)' or operator expected/],
    ["firstName eq 'John", /Unterminated string literal at position 13/],
    ["firstName eq 'a' 'b'", /Syntax error at position 17/],
    ["firstName eq 'a' eq 'b'", /Syntax error/],
    // Property names are case-sensitive, as in OData.
    ["FirstName eq 'John'", /Could not find a property named 'FirstName'/],
    [
      "nickname eq 'x'",
      /Could not find a property named 'nickname' on type 'Microsoft\.NAV\.customerContact'/,
    ],
    ['firstName eq 42', /incompatible types.*'Edm\.String' and 'Edm\.Int32'.*'Equal'/],
    ["customerId eq 'CUST1042'", /incompatible types.*'Edm\.Guid' and 'Edm\.String'/],
    ["customerName eq 'Contoso Ltd.'", /customerName.*not supported/],
    ["contains(customerId, 'a')", /No function signature for the function with name 'contains'/],
    ['contains(email)', /No function signature/],
    ["tolower(email) eq 'x'", /function 'tolower' is not supported/],
    ['frobnicate(email)', /Unknown function 'frobnicate'/],
    ['firstName', /must evaluate to a single boolean value/],
    ['firstName eq lastName', /Only comparisons of a property with a literal/],
    ["firstName eq 'a' & 1", /character '&' is not valid/],
    [`${'('.repeat(80)}true${')'.repeat(80)}`, /nested more than/],
  ];
  for (const [filter, message] of badFilters) {
    test(`bad $filter=${filter.slice(0, 40)} → 400 BadRequest`, async () => {
      const res = await bc('GET', contactsUrl(a, `?$filter=${encodeURIComponent(filter)}`));
      assertError(res, 400, 'BadRequest', message);
    });
  }

  test('$orderby one and several properties, both directions', async () => {
    const asc = await list('?$orderby=lastName');
    assert.deepEqual(
      asc.value.map((c) => c.lastName),
      ['Doe', 'Lee', "O'Brien", 'Smith'],
    );
    const desc = await list('?$orderby=lastName desc');
    assert.deepEqual(
      desc.value.map((c) => c.lastName),
      ['Smith', "O'Brien", 'Lee', 'Doe'],
    );
    const multi = await list('?$orderby=customerId asc,firstName desc');
    const byCustomer = [contoso.id, fabrikam.id].sort();
    const expected = [
      ...(byCustomer[0] === contoso.id ? ['John', 'Jane', 'Seán', 'Ann'] : ['Seán', 'Ann', 'John', 'Jane']),
    ];
    assert.deepEqual(
      multi.value.map((c) => c.firstName),
      expected,
    );
  });

  test('bad $orderby → 400', async () => {
    assertError(await bc('GET', contactsUrl(a, '?$orderby=nickname')), 400, 'BadRequest', /nickname/);
    assertError(await bc('GET', contactsUrl(a, '?$orderby=lastName%20up')), 400, 'BadRequest', /\$orderby/);
    assertError(await bc('GET', contactsUrl(a, '?$orderby=customerName')), 400, 'BadRequest', /customerName/);
    assertError(await bc('GET', contactsUrl(a, '?$orderby=email,email')), 400, 'BadRequest', /Duplicate/);
  });

  test('$select returns only the named properties and @odata.etag', async () => {
    const body = await list('?$select=firstName,customerName');
    assert.match(body['@odata.context'], /customerContacts\(firstName,customerName\)$/);
    assert.deepEqual(body.value[0], {
      '@odata.etag': john['@odata.etag'],
      firstName: 'John',
      customerName: 'Contoso Ltd.',
    });
    const all = await list('?$select=*');
    assert.deepEqual(all.value[0], omitContext(john));
    assertError(await bc('GET', contactsUrl(a, '?$select=nickname')), 400, 'BadRequest', /nickname/);
    assertError(await bc('GET', contactsUrl(a, '?$select=firstName,,email')), 400, 'BadRequest');
  });

  test('$top, $skip and $count', async () => {
    const page = await list('?$top=2&$skip=1&$count=true');
    assert.equal(page['@odata.count'], 4);
    assert.deepEqual(
      page.value.map((c) => c.id),
      [jane.id, quoted.id],
    );
    // $top is honoured, so no server-driven next page is offered.
    assert.equal(page['@odata.nextLink'], undefined);
    const none = await list('?$top=0&$count=true');
    assert.deepEqual(none.value, []);
    assert.equal(none['@odata.count'], 4);
    const past = await list('?$skip=10&$count=true');
    assert.deepEqual(past.value, []);
    assert.equal(past['@odata.count'], 4);
  });

  test('bad $top/$skip/$count and unknown or repeated system options → 400', async () => {
    for (const query of [
      '?$top=-1',
      '?$top=ten',
      '?$skip=1.5',
      '?$count=yes',
      '?$search=john',
      '?$top=1&$top=2',
    ]) {
      assertError(await bc('GET', contactsUrl(a, query)), 400, 'BadRequest');
    }
    assertError(await bc('GET', contactsUrl(a, '?$top=x')), 400, 'BadRequest', /Invalid value 'x' for \$top/);
    assertError(
      await bc('GET', contactsUrl(a, '?$apply=x')),
      400,
      'BadRequest',
      /'\$apply' is not supported/,
    );
  });

  test('custom query options and $format=json are accepted', async () => {
    const body = await list('?company=CRONUS&$format=json&$schemaversion=2.0');
    assert.equal(body.value.length, 4);
  });

  test('$expand=pdfDocument inlines the pdfDocument', async () => {
    const body = await list(`?$filter=${encodeURIComponent(`id eq ${john.id}`)}&$expand=pdfDocument`);
    const pdf = body.value[0]?.pdfDocument as Obj;
    assert.equal(pdf.parentId, john.id);
    assert.match(String(pdf['pdfDocumentContent@odata.mediaReadLink']), /\/pdfDocument\/pdfDocumentContent$/);
    assertError(await bc('GET', contactsUrl(a, '?$expand=customer')), 400, 'BadRequest');
  });
});

describe('server-driven paging', () => {
  let big: Obj & { id: string };
  const ids: string[] = [];

  before(async () => {
    big = await customer(a, 'Big Customer');
    for (let i = 0; i < 230; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, 230 - i) }, (_, k) =>
          nativeContact(a, big.id, { first_name: `P${String(i + k).padStart(3, '0')}`, last_name: 'Paged' }),
        ),
      );
      ids.push(...batch.map((c) => c.id));
    }
  });

  async function follow(first: string): Promise<{ pages: Collection[]; seen: string[] }> {
    const pages: Collection[] = [];
    let url: string | undefined = first;
    while (url) {
      const res = await bc('GET', url);
      assert.equal(res.statusCode, 200, res.body);
      const page = json<Collection>(res);
      pages.push(page);
      const next = page['@odata.nextLink'];
      if (next) {
        assert.match(next, /^http:\/\/localhost:80\/compat\/businesscentral\/v2\.0\//);
        const u = new URL(next);
        url = u.pathname + u.search;
      } else url = undefined;
      assert.ok(pages.length < 20, 'paging must end');
    }
    return { pages, seen: pages.flatMap((p) => p.value.map((c) => c.id)) };
  }

  test('100 per page; following @odata.nextLink sees every contact exactly once', async () => {
    const filter = encodeURIComponent("lastName eq 'Paged'");
    const orderby = encodeURIComponent('firstName desc');
    const { pages, seen } = await follow(contactsUrl(a, `?$filter=${filter}&$orderby=${orderby}`));
    assert.deepEqual(
      pages.map((p) => p.value.length),
      [100, 100, 30],
    );
    assert.equal(new Set(seen).size, 230);
    assert.deepEqual([...seen].sort(), [...ids].sort());
    // The order (and the filter) carry over to every page.
    const names = pages.flatMap((p) => p.value.map((c) => String(c.firstName)));
    assert.deepEqual(names, [...names].sort().reverse());
    assert.match(String(pages[0]?.['@odata.nextLink']), /\$filter=.*&\$orderby=.*&\$skip=100$/);
  });

  test('$top spanning pages: the rest of $top rides in the nextLink', async () => {
    const filter = encodeURIComponent("lastName eq 'Paged'");
    const { pages } = await follow(contactsUrl(a, `?$filter=${filter}&$orderby=firstName&$top=150&$skip=5`));
    assert.deepEqual(
      pages.map((p) => p.value.length),
      [100, 50],
    );
    assert.match(String(pages[0]?.['@odata.nextLink']), /\$top=50&\$skip=105$/);
    assert.deepEqual(
      pages.flatMap((p) => p.value.map((c) => c.firstName)),
      Array.from({ length: 150 }, (_, i) => `P${String(i + 5).padStart(3, '0')}`),
    );
  });

  test('Prefer: odata.maxpagesize sets the page size', async () => {
    const res = await bc('GET', `${company(a)}/customers(${big.id})/customerContacts?$count=true`, {
      headers: { prefer: 'odata.maxpagesize=40' },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['preference-applied'], 'odata.maxpagesize=40');
    const page = json<Collection>(res);
    assert.equal(page.value.length, 40);
    assert.equal(page['@odata.count'], 230);
    assert.match(String(page['@odata.nextLink']), /\$count=true&\$skip=40$/);
  });
});

describe('customers({id})/customerContacts', () => {
  test("lists, reads and updates one customer's contacts only", async () => {
    const url = `${company(a)}/customers(${fabrikam.id})/customerContacts`;
    const res = await bc('GET', url);
    assert.equal(res.statusCode, 200, res.body);
    const body = json<Collection>(res);
    assert.match(body['@odata.context'], /#companies\([^)]+\)\/customers\([^)]+\)\/customerContacts$/);
    assert.deepEqual(
      body.value.map((c) => c.id),
      [quoted.id, untitled.id],
    );
    const one = await bc('GET', `${url}(${quoted.id})`);
    assert.equal(one.statusCode, 200, one.body);
    assert.equal(json<Entity>(one).lastName, "O'Brien");
    // John belongs to Contoso, not Fabrikam.
    assertError(await bc('GET', `${url}(${john.id})`), 404, 'BadRequest_NotFound');
    assertError(
      await bc('PATCH', `${url}(${john.id})`, { headers: { 'if-match': '*' }, payload: { firstName: 'X' } }),
      404,
      'BadRequest_NotFound',
    );
  });

  test('an unknown customer is BadRequest_NotFound', async () => {
    const res = await bc(
      'GET',
      `${company(a)}/customers(0190a6a0-0000-7000-8000-000000000000)/customerContacts`,
    );
    assertError(res, 404, 'BadRequest_NotFound');
  });
});

describe('PATCH customerContacts({id})', () => {
  let target: Entity;

  before(async () => {
    const c = await nativeContact(a, contoso.id, {
      first_name: 'Pat',
      last_name: 'Patch',
      email: 'pat@contoso.com',
      job_title: 'Buyer',
      phone: '+1 202-555-0100',
    });
    target = await getEntity(c.id);
  });

  async function patch(payload: unknown, ifMatch?: string, id = target.id) {
    return bc('PATCH', contactUrl(a, id), {
      headers: ifMatch === undefined ? {} : { 'if-match': ifMatch },
      payload,
    });
  }

  test('If-Match is required: BadRequest_InvalidToken', async () => {
    assertError(await patch({ firstName: 'X' }), 400, 'BadRequest_InvalidToken', /concurrency token/);
    assertError(await patch({ firstName: 'X' }, 'W/"garbage!"'), 400, 'BadRequest_InvalidToken');
    assertError(await patch({ firstName: 'X' }, '"v1"'), 400, 'BadRequest_InvalidToken');
    assert.equal((await getEntity(target.id)).firstName, 'Pat');
  });

  test('partial update with the current etag returns the full entity and a new etag', async () => {
    const current = await getEntity(target.id);
    const res = await patch({ professionalTitle: 'Senior Buyer' }, current['@odata.etag']);
    assert.equal(res.statusCode, 200, res.body);
    const body = json<Entity>(res);
    assert.match(String(body['@odata.context']), /customerContacts\/\$entity$/);
    assert.equal(body.professionalTitle, 'Senior Buyer');
    assert.equal(body.firstName, 'Pat');
    assert.equal(body.email, 'pat@contoso.com');
    assert.equal(body.primaryPhoneNumber, '+1 202-555-0100');
    assert.equal(body.customerName, 'Contoso Ltd.');
    assert.notEqual(body['@odata.etag'], current['@odata.etag']);
    assert.equal(res.headers.etag, body['@odata.etag']);
  });

  test('a stale etag is 412 Request_EntityChanged and changes nothing', async () => {
    const before = await getEntity(target.id);
    const ok = await patch({ lastName: 'Patched' }, before['@odata.etag']);
    assert.equal(ok.statusCode, 200, ok.body);
    const stale = await patch({ lastName: 'Lost' }, before['@odata.etag']);
    assertError(stale, 412, 'Request_EntityChanged', /Another user has already changed the record/);
    assert.equal((await getEntity(target.id)).lastName, 'Patched');
  });

  test('If-Match: * and a list of tags are accepted', async () => {
    const star = await patch({ firstName: 'Patricia' }, '*');
    assert.equal(star.statusCode, 200, star.body);
    const current = json<Entity>(star)['@odata.etag'];
    const listed = await patch({ firstName: 'Pat' }, `${etagOf(1)}, ${current}`);
    assert.equal(listed.statusCode, 200, listed.body);
  });

  test('a GET-modify-PATCH round trip (echoed @odata.etag, id, customerName) works', async () => {
    const current = await getEntity(target.id);
    const { '@odata.context': _ctx, ...entity } = current;
    const res = await patch({ ...entity, email: 'pat.patch@contoso.com' }, current['@odata.etag']);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(json<Entity>(res).email, 'pat.patch@contoso.com');
  });

  test("'' clears a field", async () => {
    const res = await patch({ professionalTitle: '' }, '*');
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(json<Entity>(res).professionalTitle, '');
    const native = await env.app.inject({ method: 'GET', url: `/v1/contacts/${target.id}`, headers: a.auth });
    assert.equal(json(native).job_title, null);
  });

  const invalid: [string, Obj, number, string, RegExp?][] = [
    [
      'changing id',
      { id: '0190a6a0-0000-7000-8000-000000000000' },
      400,
      'BadRequest_InvalidOperation',
      /'id' is read-only/,
    ],
    [
      'changing customerName',
      { customerName: 'Other' },
      400,
      'BadRequest_InvalidOperation',
      /'customerName'/,
    ],
    ['an unknown property', { nickname: 'x' }, 400, 'BadRequest', /property 'nickname' does not exist/],
    [
      'a number for a string',
      { firstName: 42 },
      400,
      'BadRequest',
      /Cannot convert the literal '42'.*Edm\.String/,
    ],
    ['a malformed customerId', { customerId: 'CUST1042' }, 400, 'BadRequest', /Edm\.Guid/],
    [
      'a too long firstName',
      { firstName: 'x'.repeat(101) },
      400,
      'Application_StringExceededLength',
      /length of the string is 101.*100/,
    ],
    ['an invalid email', { email: 'not-an-email' }, 400, 'Application_DialogException', /email/],
    [
      'an invalid phone',
      { primaryPhoneNumber: 'call me' },
      400,
      'Application_DialogException',
      /primaryPhoneNumber/,
    ],
    [
      'an unknown customerId',
      { customerId: '0190a6a0-0000-7000-8000-000000000000' },
      400,
      'Application_DialogException',
      /Customer with provided id - does not exist/,
    ],
    [
      "another tenant's customerId",
      { customerId: 'B_CUSTOMER' },
      400,
      'Application_DialogException',
      /does not exist/,
    ],
  ];
  for (const [name, payload, status, code, message] of invalid) {
    test(`${name} → ${status} ${code}, nothing changed`, async () => {
      const before = await getEntity(target.id);
      let body = payload;
      if (payload.customerId === 'B_CUSTOMER')
        body = { customerId: (await customer(b, 'Other tenant customer')).id };
      assertError(await patch(body, '*'), status, code, message);
      assert.deepEqual(await getEntity(target.id), before);
    });
  }

  test('malformed JSON → 400 BadRequest', async () => {
    const res = await env.app.inject({
      method: 'PATCH',
      url: contactUrl(a, target.id),
      headers: { ...a.auth, 'content-type': 'application/json', 'if-match': '*' },
      payload: '{"firstName":',
    });
    assertError(res, 400, 'BadRequest', /Invalid Request Body/);
  });

  test('customerId moves the contact to another customer', async () => {
    const res = await patch({ customerId: fabrikam.id }, '*');
    assert.equal(res.statusCode, 200, res.body);
    const body = json<Entity>(res);
    assert.equal(body.customerId, fabrikam.id);
    assert.equal(body.customerName, 'Fabrikam, Inc.');
    const back = await patch({ customerId: contoso.id.toUpperCase() }, '*');
    assert.equal(json<Entity>(back).customerName, 'Contoso Ltd.');
  });

  test('a key without contacts:write is 403', async () => {
    const reader = await keyFor(env, a.tenant, ['contacts:read']);
    const res = await env.app.inject({
      method: 'PATCH',
      url: contactUrl(a, target.id),
      headers: { ...reader, 'if-match': '*' },
      payload: { firstName: 'Nope' },
    });
    assertError(res, 403, 'Authorization_InsufficientPermissions');
  });
});

describe('DELETE customerContacts({id})', () => {
  test('If-Match required, stale → 412, then 204 and gone (here and natively)', async () => {
    const created = await nativeContact(a, contoso.id, { first_name: 'Del', last_name: 'Ete' });
    const entity = await getEntity(created.id);
    assertError(await bc('DELETE', contactUrl(a, created.id)), 400, 'BadRequest_InvalidToken');
    const changed = await bc('PATCH', contactUrl(a, created.id), {
      headers: { 'if-match': entity['@odata.etag'] },
      payload: { firstName: 'Dell' },
    });
    assert.equal(changed.statusCode, 200, changed.body);
    assertError(
      await bc('DELETE', contactUrl(a, created.id), { headers: { 'if-match': entity['@odata.etag'] } }),
      412,
      'Request_EntityChanged',
    );
    const res = await bc('DELETE', contactUrl(a, created.id), {
      headers: { 'if-match': json<Entity>(changed)['@odata.etag'] },
    });
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    assertError(await bc('GET', contactUrl(a, created.id)), 404, 'BadRequest_NotFound');
    assertError(
      await bc('DELETE', contactUrl(a, created.id), { headers: { 'if-match': '*' } }),
      404,
      'BadRequest_NotFound',
    );
    const native = await env.app.inject({
      method: 'GET',
      url: `/v1/contacts/${created.id}`,
      headers: a.auth,
    });
    assert.equal(native.statusCode, 404);
  });

  test("If-Match: * deletes; a customer's designated contact cannot be deleted", async () => {
    const created = await nativeContact(a, contoso.id, { first_name: 'Star' });
    const res = await bc('DELETE', contactUrl(a, created.id), { headers: { 'if-match': '*' } });
    assert.equal(res.statusCode, 204);
    const billing = await nativeContact(a, fabrikam.id, { first_name: 'Billing' });
    const assign = await env.app.inject({
      method: 'PATCH',
      url: `/v1/customers/${fabrikam.id}`,
      headers: a.auth,
      payload: { billing_contact_id: billing.id },
    });
    assert.equal(assign.statusCode, 200, assign.body);
    assertError(
      await bc('DELETE', contactUrl(a, billing.id), { headers: { 'if-match': '*' } }),
      400,
      'Application_DialogException',
    );
    assert.equal((await getEntity(billing.id)).firstName, 'Billing');
  });
});

describe('methods Business Central does not allow', () => {
  test('POST customerContacts is 405 BadRequest_MethodNotAllowed and creates nothing', async () => {
    const before = (await list('?$count=true&$top=0'))['@odata.count'];
    const res = await bc('POST', contactsUrl(a), { payload: { firstName: 'New', customerId: contoso.id } });
    assertError(
      res,
      405,
      'BadRequest_MethodNotAllowed',
      /'POST' requests for 'customerContacts' of EdmType 'EntitySet'/,
    );
    assert.equal((await list('?$count=true&$top=0'))['@odata.count'], before);
    const scoped = await bc('POST', `${company(a)}/customers(${contoso.id})/customerContacts`, {
      payload: {},
    });
    assertError(scoped, 405, 'BadRequest_MethodNotAllowed');
  });

  test('PUT on an entity and PATCH/DELETE on the collection are 405', async () => {
    assertError(
      await bc('PUT', contactUrl(a, john.id), { payload: {} }),
      405,
      'BadRequest_MethodNotAllowed',
      /'Entity'/,
    );
    assertError(await bc('DELETE', contactsUrl(a)), 405, 'BadRequest_MethodNotAllowed');
  });
});

describe('pdfDocument', () => {
  test('the pdfDocument entity, as Business Central documents it', async () => {
    const res = await bc('GET', `${contactUrl(a, john.id)}/pdfDocument`);
    assert.equal(res.statusCode, 200, res.body);
    const body = json(res);
    assert.match(String(body['@odata.context']), /customerContacts\([^)]+\)\/pdfDocument\/\$entity$/);
    assert.equal(body.id, john.id);
    assert.equal(body.parentId, john.id);
    assert.equal(body.parentType, 'Customer Statement');
    assert.equal(
      body['pdfDocumentContent@odata.mediaReadLink'],
      `http://localhost:80${contactUrl(a, john.id)}/pdfDocument/pdfDocumentContent`,
    );
  });

  test('pdfDocumentContent is a valid one-page PDF with the contact card', async () => {
    const res = await bc('GET', `${contactUrl(a, john.id)}/pdfDocument/pdfDocumentContent`);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'application/pdf');
    const text = checkPdf(res.rawPayload);
    for (const part of [
      '(John Smith)',
      '(Purchasing Manager)',
      '(john.smith@contoso.com)',
      '(+1 202-555-0174)',
      '(Contoso Ltd.)',
    ]) {
      assert.ok(text.includes(part), `${part} in the PDF`);
    }
    assert.match(text, /\/BaseFont \/Helvetica /);
    assert.match(text, /\/Type \/Pages \/Kids \[3 0 R\] \/Count 1/);
  });

  test('( ) \\ are escaped and non-Latin-1 text is replaced safely', async () => {
    const c = await nativeContact(a, fabrikam.id, {
      first_name: 'Zoë (Zo)',
      last_name: 'Łukasz\\Ślusarski 李',
      job_title: 'Head of “Sales” – EMEA',
    });
    const res = await bc('GET', `${contactUrl(a, c.id)}/pdfDocument/pdfDocumentContent`);
    assert.equal(res.statusCode, 200);
    const text = checkPdf(res.rawPayload);
    assert.ok(text.includes('(Zo\\353 \\(Zo\\) ?ukasz\\\\Slusarski ?)'), text);
    assert.ok(text.includes('(Head of \\223Sales\\224 \\226 EMEA)'));
    // Every byte after the header comment is 7-bit.
    assert.ok(res.rawPayload.subarray(16).every((byte) => byte < 0x80));
  });

  test('pdfString and toWinAnsi', () => {
    assert.equal(pdfString('a(b)c\\d'), '(a\\(b\\)c\\\\d)');
    assert.equal(pdfString(toWinAnsi('é€\n')), '(\\351\\200 )');
    assert.equal(toWinAnsi('Ǆ𝒜😀'), 'DZA?');
  });

  test('long values wrap and the file stays valid', () => {
    const pdf = contactCardPdf({
      id: john.id,
      name: 'A '.repeat(60),
      title: 'T'.repeat(200),
      email: `${'e'.repeat(200)}@x.com`,
      phone: '',
      customerName: 'C',
      updatedAt: new Date('2024-01-02T03:04:05Z'),
    });
    const text = checkPdf(pdf);
    assert.match(text, /\/CreationDate \(D:20240102030405Z\)/);
  });

  test("another tenant's contact has no pdfDocument here", async () => {
    assertError(
      await bc('GET', `${contactUrl(b, john.id)}/pdfDocument/pdfDocumentContent`, { tenant: b }),
      404,
      'BadRequest_NotFound',
    );
  });
});

describe('authentication and unknown paths', () => {
  test('no key or a bad key → 401 Authentication_InvalidCredentials', async () => {
    const none = await env.app.inject({ method: 'GET', url: contactsUrl(a) });
    assertError(none, 401, 'Authentication_InvalidCredentials');
    assert.match(String(none.headers['www-authenticate']), /^Bearer/);
    const bad = await env.app.inject({
      method: 'GET',
      url: contactsUrl(a),
      headers: { authorization: 'Bearer ck_not_a_key' },
    });
    assertError(bad, 401, 'Authentication_InvalidCredentials');
  });

  test('an unknown segment → 404 BadRequest_ResourceNotFound', async () => {
    const res = await bc('GET', `${company(a)}/salesInvoices`);
    assertError(res, 404, 'BadRequest_ResourceNotFound', /segment 'salesInvoices'/);
  });

  test('the correlation id is the request id', async () => {
    const res = await env.app.inject({
      method: 'GET',
      url: contactUrl(a, 'nope'),
      headers: { ...a.auth, 'x-request-id': 'req-123' },
    });
    assert.match(json<ODataError>(res).error.message, / {2}CorrelationId: {2}req-123\.$/);
  });
});

describe('tenant isolation', () => {
  test("tenant B's key reaches none of tenant A's contacts, whatever the company id", async () => {
    const before = await getEntity(john.id);
    for (const url of [contactUrl(a, john.id), contactUrl(b, john.id)]) {
      assertError(await bc('GET', url, { tenant: b }), 404, 'BadRequest_NotFound');
      assertError(
        await bc('PATCH', url, { tenant: b, headers: { 'if-match': '*' }, payload: { firstName: 'Hacked' } }),
        404,
        'BadRequest_NotFound',
      );
      assertError(
        await bc('DELETE', url, { tenant: b, headers: { 'if-match': '*' } }),
        404,
        'BadRequest_NotFound',
      );
    }
    assertError(await bc('GET', contactsUrl(a), { tenant: b }), 404, 'BadRequest_NotFound');
    assertError(
      await bc('GET', `${company(b)}/customers(${contoso.id})/customerContacts`, { tenant: b }),
      404,
      'BadRequest_NotFound',
    );
    const own = await list('', b);
    assert.deepEqual(own.value, []);
    const filtered = await list(`?$filter=${encodeURIComponent(`customerId eq ${contoso.id}`)}`, b);
    assert.deepEqual(filtered.value, []);
    assert.deepEqual(await getEntity(john.id), before);
  });
});

describe('cross-dialect visibility', () => {
  test('a PATCH here shows in the native API, and a native write shows here', async () => {
    const c = await nativeContact(a, contoso.id, {
      first_name: 'Cross',
      last_name: 'Dialect',
      email: 'cross@contoso.com',
    });
    const entity = await getEntity(c.id);
    const res = await bc('PATCH', contactUrl(a, c.id), {
      headers: { 'if-match': entity['@odata.etag'] },
      payload: { professionalTitle: 'Integrator', primaryPhoneNumber: '+1 202-555-0199' },
    });
    assert.equal(res.statusCode, 200, res.body);
    const native = await env.app.inject({
      method: 'GET',
      url: '/v1/contacts?email=cross@contoso.com',
      headers: a.auth,
    });
    const row = json<{ data: Obj[] }>(native).data[0] as Obj;
    assert.equal(row.job_title, 'Integrator');
    assert.equal(row.phone_e164, '+12025550199');

    // A native change moves the version: the etag from before it is stale here.
    const updated = await env.app.inject({
      method: 'PATCH',
      url: `/v1/contacts/${c.id}`,
      headers: a.auth,
      payload: { last_name: 'Native' },
    });
    assert.equal(updated.statusCode, 200, updated.body);
    assertError(
      await bc('PATCH', contactUrl(a, c.id), {
        headers: { 'if-match': json<Entity>(res)['@odata.etag'] },
        payload: { firstName: 'Late' },
      }),
      412,
      'Request_EntityChanged',
    );
    const seen = await list(`?$filter=${encodeURIComponent("lastName eq 'Native'")}`);
    assert.deepEqual(
      seen.value.map((x) => x.id),
      [c.id],
    );
  });
});

function omitContext(entity: Entity): Obj {
  const { '@odata.context': _, ...rest } = entity;
  return rest;
}

/** Checks the PDF's structure (header, trailer, every xref offset, stream length); returns it as latin1 text. */
function checkPdf(bytes: Buffer): string {
  const text = bytes.toString('latin1');
  assert.ok(text.startsWith('%PDF-1.4\n'), 'starts with %PDF-');
  assert.ok(text.endsWith('%%EOF'), 'ends with %%EOF');
  const startxref = Number(/startxref\n(\d+)\n%%EOF$/.exec(text)?.[1]);
  const xref = /^xref\n0 (\d+)\n/.exec(text.slice(startxref));
  assert.ok(xref, 'startxref points at the xref table');
  const size = Number(xref[1]);
  const entries = startxref + xref[0].length;
  assert.equal(text.slice(entries, entries + 20), '0000000000 65535 f \n');
  for (let n = 1; n < size; n++) {
    const entry = text.slice(entries + n * 20, entries + n * 20 + 20);
    assert.match(entry, /^\d{10} 00000 n \n$/);
    const offset = Number(entry.slice(0, 10));
    assert.ok(text.startsWith(`${n} 0 obj\n`, offset), `xref entry ${n} points at "${n} 0 obj"`);
  }
  assert.match(text.slice(entries + size * 20), new RegExp(`^trailer\\n<< /Size ${size} /Root 1 0 R`));
  const stream = /\/Length (\d+) >>\nstream\n/.exec(text);
  assert.ok(stream);
  const start = stream.index + stream[0].length;
  assert.equal(text.slice(start + Number(stream[1]), start + Number(stream[1]) + 10), 'endstream\n');
  return text;
}
