// /docs: an API reference rendered on the server from the OpenAPI document, self-contained (no scripts, no CDN),
// so it works offline and cannot drift from the routes.

interface Schema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  maxLength?: number;
  minimum?: number;
  maximum?: number;
}

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema; description?: string }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses?: Record<string, { description?: string }>;
  'x-required-scope'?: string;
}

interface Document {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

const esc = (s: unknown) =>
  String(s ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

function resolve(doc: Document, schema: Schema | undefined): Schema {
  if (!schema) return {};
  if (schema.$ref) {
    const name = schema.$ref.split('/').at(-1) ?? '';
    return doc.components?.schemas?.[name] ?? {};
  }
  return schema;
}

function typeOf(doc: Document, schema: Schema | undefined): string {
  const s = resolve(doc, schema);
  if (schema?.$ref) return esc(schema.$ref.split('/').at(-1));
  if (s.anyOf) return s.anyOf.map((x) => typeOf(doc, x)).join(' | ');
  const t = Array.isArray(s.type) ? s.type.join(' | ') : (s.type ?? 'any');
  const extra = [
    s.format,
    s.enum
      ? `one of ${s.enum
          .filter((v) => v !== null)
          .map((v) => JSON.stringify(v))
          .join(', ')}`
      : '',
    s.maxLength !== undefined ? `≤ ${s.maxLength} chars` : '',
    s.minimum !== undefined || s.maximum !== undefined ? `${s.minimum ?? ''}..${s.maximum ?? ''}` : '',
  ].filter(Boolean);
  return esc(
    t === 'array'
      ? `array of ${typeOf(doc, s.items)}`
      : `${t}${extra.length ? ` (${extra.join('; ')})` : ''}`,
  );
}

function fields(doc: Document, schema: Schema | undefined): string {
  const s = resolve(doc, schema);
  if (!s.properties) return `<p><code>${typeOf(doc, schema)}</code></p>`;
  const rows = Object.entries(s.properties)
    .map(
      ([name, p]) =>
        `<tr><td><code>${esc(name)}</code>${s.required?.includes(name) ? ' <b>required</b>' : ''}</td><td>${typeOf(doc, p)}</td><td>${esc(resolve(doc, p).description)}</td></tr>`,
    )
    .join('');
  return `<table><tr><th>field</th><th>type</th><th>description</th></tr>${rows}</table>`;
}

export function renderReference(doc: Document): string {
  const byTag = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags?.[0] ?? 'other';
      const params = (op.parameters ?? [])
        .map(
          (p) =>
            `<tr><td><code>${esc(p.name)}</code> <i>${esc(p.in)}</i>${p.required ? ' <b>required</b>' : ''}</td><td>${typeOf(doc, p.schema)}</td><td>${esc(p.description ?? p.schema?.description)}</td></tr>`,
        )
        .join('');
      const body = op.requestBody ? Object.values(op.requestBody.content)[0]?.schema : undefined;
      const responses = Object.entries(op.responses ?? {})
        .map(([code, r]) => `<li><code>${esc(code)}</code> ${esc(r.description)}</li>`)
        .join('');
      const html = `<section id="${esc(op.operationId)}"><h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p>${esc(op.summary)}${op['x-required-scope'] ? ` — scope <code>${esc(op['x-required-scope'])}</code>` : ''}</p>
${op.description ? `<p>${esc(op.description)}</p>` : ''}
${params ? `<h4>Parameters</h4><table><tr><th>name</th><th>type</th><th>description</th></tr>${params}</table>` : ''}
${body ? `<h4>Body</h4>${fields(doc, body)}` : ''}
<h4>Responses</h4><ul>${responses}</ul></section>`;
      byTag.set(tag, [...(byTag.get(tag) ?? []), html]);
    }
  }
  const nav = [...byTag.keys()].map((t) => `<a href="#tag-${esc(t)}">${esc(t)}</a>`).join(' · ');
  const sections = [...byTag.entries()]
    .map(([t, ops]) => `<h2 id="tag-${esc(t)}">${esc(t)}</h2>${ops.join('')}`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${esc(doc.info.title)} reference</title><style>
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px}table{border-collapse:collapse;width:100%;margin:.5em 0}
td,th{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}section{border-top:1px solid #eee;padding:.5em 0}
.m{font-weight:bold;padding:0 .4em;border-radius:3px;color:#fff}.get{background:#2b7}.post{background:#27b}.patch{background:#b82}.delete{background:#b33}.put{background:#72b}
</style></head><body><h1>${esc(doc.info.title)} <small>${esc(doc.info.version)}</small></h1><p>${esc(doc.info.description)}</p>
<p>Authenticate with <code>Authorization: Bearer &lt;API key&gt;</code>. The machine-readable document is at <a href="/openapi.json">/openapi.json</a>.</p>
<nav>${nav}</nav>${sections}</body></html>`;
}
