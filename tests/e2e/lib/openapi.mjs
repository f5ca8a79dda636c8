// Validates what the node answers against docs/openapi.yaml (and the JSON Schemas in docs/schemas/
// it references). Every HTTP response the suite receives goes through validateResponse(): a status
// the route does not document, a missing documented header or a body that does not match the
// documented schema throws, failing the test that received it.
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { DOCS_DIR } from './env.mjs';

const OPENAPI_ID = 'urn:omnicast:openapi';

function loadJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// The OpenAPI document with its relative $refs to docs/schemas/*.json replaced by those schemas' $id.
function loadDocument() {
  const doc = YAML.parse(fs.readFileSync(path.join(DOCS_DIR, 'openapi.yaml'), 'utf8'));
  const external = {};
  for (const f of fs.readdirSync(path.join(DOCS_DIR, 'schemas'))) {
    if (!f.endsWith('.json')) continue;
    const schema = loadJson(path.join(DOCS_DIR, 'schemas', f));
    external[`./schemas/${f}`] = schema;
    external[`schemas/${f}`] = schema;
  }
  const rewrite = (node) => {
    if (Array.isArray(node)) return node.forEach(rewrite);
    if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref' && typeof v === 'string' && !v.startsWith('#')) {
          const target = external[v];
          assert.ok(target, `openapi.yaml refers to ${v}, which is not in docs/schemas/`);
          node[k] = target.$id;
        } else rewrite(v);
      }
    }
  };
  rewrite(doc);
  return { doc, external: Object.values(external) };
}

const { doc, external } = loadDocument();
export const openapi = doc;

export const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
addFormats(ajv);
for (const s of new Set(external)) ajv.addSchema(s);
ajv.addSchema({ ...doc, $id: OPENAPI_ID });

const compiled = new Map();
// A validator for a JSON pointer into openapi.yaml ('#/components/schemas/X') or a schema $id.
export function validator(ref) {
  const key = ref.startsWith('#') ? OPENAPI_ID + ref : ref;
  if (!compiled.has(key)) {
    const v = ajv.getSchema(key);
    assert.ok(v, `no schema ${ref}`);
    compiled.set(key, v);
  }
  return compiled.get(key);
}

export function schemaRef(name) {
  return `#/components/schemas/${name}`;
}

function describeErrors(errors) {
  return (errors || [])
    .slice(0, 12)
    .map((e) => `  ${e.instancePath || '(root)'} ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`)
    .join('\n');
}

// Throws unless `value` matches the schema at `ref`.
export function assertSchema(ref, value, what = 'value') {
  const v = validator(ref);
  if (!v(value)) {
    assert.fail(
      `${what} does not match ${ref}:\n${describeErrors(v.errors)}\n${what}: ${JSON.stringify(value).slice(0, 2000)}`,
    );
  }
  return value;
}

// A schema written inside openapi.yaml (its '#/...' refs point into the document), compiled.
const inline = new Map();
export function compileInline(schema) {
  const key = JSON.stringify(schema);
  if (!inline.has(key)) {
    const fix = (n) =>
      Array.isArray(n)
        ? n.map(fix)
        : n && typeof n === 'object'
          ? Object.fromEntries(
              Object.entries(n).map(([k, v]) => [
                k,
                k === '$ref' && typeof v === 'string' && v.startsWith('#') ? OPENAPI_ID + v : fix(v),
              ]),
            )
          : n;
    inline.set(key, ajv.compile(fix(schema)));
  }
  return inline.get(key);
}

function resolve(obj) {
  let o = obj;
  for (let i = 0; o && o.$ref && i < 10; ++i) {
    assert.ok(o.$ref.startsWith('#/'), `cannot resolve ${o.$ref}`);
    o = o.$ref
      .slice(2)
      .split('/')
      .reduce((acc, part) => acc[part.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return o;
}

const templates = Object.keys(doc.paths).map((t) => ({
  template: t,
  regex: new RegExp('^' + t.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+') + '$'),
}));

// The documented path template that `urlPath` (no query) falls under, or null.
export function routeOf(urlPath) {
  const exact = templates.find((t) => t.template === urlPath);
  if (exact) return exact.template;
  const m = templates.filter((t) => t.regex.test(urlPath));
  return m.length ? m[0].template : null;
}

function headerValue(headers, name) {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}

function checkHeaders(where, resp, headers) {
  for (const [name, h0] of Object.entries(resp.headers || {})) {
    const h = resolve(h0);
    const value = headerValue(headers, name);
    if (value === undefined) {
      assert.ok(!h.required, `${where}: the documented header ${name} is missing`);
      continue;
    }
    if (h.schema) {
      const schema = resolve(h.schema);
      const typed = schema.type === 'integer' || schema.type === 'number' ? Number(value) : value;
      if (schema.type === 'integer')
        assert.ok(/^\d+$/.test(value), `${where}: header ${name} = ${JSON.stringify(value)} is not an integer`);
      const v = compileInline(h.schema);
      assert.ok(v(typed), `${where}: header ${name} = ${JSON.stringify(value)}: ${describeErrors(v.errors)}`);
    }
  }
}

// res: {method, path, status, headers (lower-case names), text}. Returns the parsed JSON body (or
// the text for non-JSON media types, or null for an empty one or a HEAD answer).
export function validateResponse(res) {
  const method = res.method.toLowerCase();
  const urlPath = res.path.split('?')[0];
  const template = routeOf(urlPath);
  const where = `${res.method} ${urlPath} → ${res.status}`;
  let resp;
  if (!template) {
    assert.equal(res.status, 404, `${where}: the path is not in openapi.yaml, so only 404 not_found is documented`);
    resp = doc.components.responses.NotFound;
  } else {
    const item = doc.paths[template];
    const op = item[method] || (method === 'head' ? item.get : undefined);
    if (!op) {
      assert.equal(res.status, 405, `${where}: ${res.method} is not documented for ${template}: expected 405`);
      resp = doc.components.responses.MethodNotAllowed;
    } else {
      resp = op.responses[String(res.status)];
      assert.ok(
        resp,
        `${where}: status ${res.status} is not documented for ${res.method} ${template} ` +
          `(documented: ${Object.keys(op.responses).join(', ')}); body: ${String(res.text).slice(0, 500)}`,
      );
    }
  }
  resp = resolve(resp);
  checkHeaders(where, resp, res.headers);
  const content = resp.content;
  if (!content) {
    assert.equal(res.text || '', '', `${where}: documented without a body, but it has one`);
    return null;
  }
  // A HEAD answer has the headers of its GET and never a body: nothing more to check.
  if (method === 'head') {
    assert.equal(res.text || '', '', `${where}: a HEAD answer has no body`);
    return null;
  }
  const ctype = String(headerValue(res.headers, 'content-type') || '').split(';')[0].trim().toLowerCase();
  // The exact media type, else a documented range (`type/*`, `*/*`: e.g. a blob served with its own type).
  const mediaKey = [ctype, ctype.replace(/\/.*$/, '/*'), '*/*'].find((k) => content[k]);
  const media = mediaKey && content[mediaKey];
  assert.ok(media, `${where}: Content-Type ${ctype || '(none)'} is not documented (${Object.keys(content).join(', ')})`);
  if (ctype !== 'application/json' || mediaKey !== ctype) {
    // Binary bodies (documented without a schema, or under a media range) are checked for status
    // and headers only.
    if (media.schema) {
      const v = compileInline(media.schema);
      assert.ok(v(res.text), `${where}: the body does not match openapi.yaml:\n${describeErrors(v.errors)}`);
    }
    return res.text;
  }
  let body;
  try {
    body = JSON.parse(res.text);
  } catch (e) {
    assert.fail(`${where}: the body is not JSON: ${String(res.text).slice(0, 300)}`);
  }
  const v = compileInline(media.schema);
  if (!v(body)) {
    assert.fail(
      `${where}: the body does not match openapi.yaml:\n${describeErrors(v.errors)}\nbody: ${res.text.slice(0, 2000)}`,
    );
  }
  return body;
}
