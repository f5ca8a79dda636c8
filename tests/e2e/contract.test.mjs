// The contract files themselves: openapi.yaml covers every route and operation of docs/api.md,
// and the JSON Schemas in docs/schemas/ are valid JSON Schema 2020-12 that compile strictly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { openapi, validator, schemaRef } from './lib/openapi.mjs';
import { DOCS_DIR } from './lib/env.mjs';
import { ROUTES, TOOLS } from './lib/catalogue.mjs';

const apiMd = fs.readFileSync(path.join(DOCS_DIR, 'api.md'), 'utf8');

test('openapi.yaml documents every route of api.md, and no other', () => {
  const documented = Object.entries(openapi.paths).flatMap(([p, item]) =>
    Object.keys(item)
      .filter((m) => ['get', 'post', 'put', 'delete', 'patch'].includes(m))
      .map((m) => `${m} ${p}`),
  );
  assert.deepEqual(documented.sort(), ROUTES.map(([m, p]) => `${m} ${p}`).sort());
  // …and api.md names each of them.
  for (const [, p] of ROUTES) {
    // api.md abbreviates siblings: `POST /v1/rooms/{room_id}/join`, `…/leave`, `…/next`.
    const abbreviated = `…/${p.split('/').pop()}`;
    assert.ok(apiMd.includes(p) || apiMd.includes(abbreviated), `api.md does not mention ${p}`);
  }
});

test('every MCP tool of api.md is mapped to argument and result schemas', () => {
  const tools = openapi.paths['/mcp'].post['x-mcp-tools'];
  assert.deepEqual(Object.keys(tools).sort(), [...TOOLS].sort());
  for (const t of TOOLS) {
    assert.ok(apiMd.includes(`\`${t}\``), `api.md does not name the tool ${t}`);
    validator(tools[t].arguments.$ref);
    validator(tools[t].result.$ref);
  }
});

test('every operation has an id, a summary, security and documented errors', () => {
  for (const [p, item] of Object.entries(openapi.paths)) {
    for (const [m, op] of Object.entries(item)) {
      assert.ok(op.operationId && op.summary, `${m} ${p}`);
      assert.ok(Array.isArray(op.security), `${m} ${p} declares its security`);
      const statuses = Object.keys(op.responses);
      if (op.security.length > 0 && p !== '/mcp') assert.ok(statuses.includes('401'), `${m} ${p} documents 401`);
      if (op.requestBody) {
        for (const s of ['400', '413', '429']) assert.ok(statuses.includes(s), `${m} ${p} documents ${s}`);
      }
    }
  }
});

test('every error status of the Errors table has its shared response, with Retry-After on 429', () => {
  const table = [...apiMd.matchAll(/^\| (\d{3}) \| `([a-z_]+)`(?:, `([a-z_]+)`)? \|/gm)];
  assert.ok(table.length >= 25, 'the Errors table of api.md was found');
  const codes = openapi.components.schemas.ErrorCode.enum;
  for (const [, status, a, b] of table) {
    for (const code of [a, b].filter(Boolean)) {
      assert.ok(codes.includes(code), `ErrorCode lacks ${code}`);
      const schema = `Error${status}`;
      const v = validator(schemaRef(schema));
      const details = {
        gate_required: { live_session_id: 'ss_x' },
        consent_required: { missing: ['bob'] },
        quota_exceeded: { quota: 'live_sessions_per_tenant' },
        forbidden: { rule: 'role' },
      }[code];
      const doc = { error: { code, message: 'm', correlation_id: 'c', ...(details ? { details } : {}) } };
      assert.ok(v(doc), `${schema} accepts ${code}: ${JSON.stringify(v.errors)}`);
    }
  }
  assert.ok(openapi.components.responses.TooManyRequests.headers['Retry-After']);
  assert.equal(openapi.components.headers['Retry-After'].required, true);
});

test('docs/schemas are strict, valid JSON Schema 2020-12', () => {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  for (const f of ['stream.session.v1.json', 'media.descriptor.v1.json']) {
    const schema = JSON.parse(fs.readFileSync(path.join(DOCS_DIR, 'schemas', f), 'utf8'));
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.ok(ajv.validateSchema(schema), `${f}: ${JSON.stringify(ajv.errors)}`);
    ajv.compile(schema);
  }
});

test('stream.session.v1 accepts the documented shape and refuses contradictions', () => {
  const v = validator('urn:omnicast:schema:stream.session.v1');
  const ok = {
    session_id: 'ss_01JDB2Q7R8X9Y0Z1A2B3C4D5E6',
    tenant: 'acme',
    mode: 'circle',
    audience: 'public',
    title: 'Friday circle',
    owner: 'alice',
    device: 'dev-alice-1',
    room_id: 'rm_01JDB2Q7R8X9Y0Z1A2B3C4D5E7',
    state: 'publishing',
    live: false,
    recording: true,
    consented: ['alice', 'bob'],
    prepared_at: '2026-11-21T10:00:00.000000Z',
    live_since: null,
    ended_at: null,
    end_reason: null,
    replay_media_id: null,
  };
  assert.ok(v(ok), JSON.stringify(v.errors));
  const archived = { ...ok, state: 'archived', recording: false, ended_at: '2026-11-21T10:05:00Z', end_reason: 'requested' };
  assert.ok(v(archived), JSON.stringify(v.errors));
  for (const bad of [
    { ...ok, state: 'live' }, // live state without live flag
    { ...ok, live: true, live_since: '2026-11-21T10:00:01Z' }, // live flag in publishing
    { ...ok, state: 'archived' }, // ended without ended_at
    { ...ok, mode: 'roulette' }, // roulette recording
    { ...ok, prepared_at: 1795255200 }, // times are RFC 3339 strings
    { ...ok, extra: 1 },
  ])
    assert.equal(v(bad), false, JSON.stringify(bad));
});

test('media.descriptor.v1 accepts a committed upload and a fresh presign', () => {
  const v = validator('urn:omnicast:schema:media.descriptor.v1');
  const committed = {
    media_id: 'md_01JDB2Q7R8X9Y0Z1A2B3C4D5E8',
    tenant: 'acme',
    room_id: 'rm_01JDB2Q7R8X9Y0Z1A2B3C4D5E7',
    mime: 'video/mp4',
    bytes: 1048576,
    sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    state: 'committed',
    retention: 'standard',
    created_at: '2026-11-21T10:00:00.000000Z',
    expires_at: '2027-02-19T10:00:00.000000Z',
    enc_meta: { alg: 'A256GCM', kid: 'k1' },
    thumb_media_id: null,
  };
  assert.ok(v(committed), JSON.stringify(v.errors));
  assert.ok(v({ ...committed, state: 'presigned', sha256: null, enc_meta: null }), JSON.stringify(v.errors));
  assert.equal(v({ ...committed, sha256: null }), false, 'a committed object has its hash');
  assert.equal(v({ ...committed, retention: 'forever' }), false);
  assert.equal(v({ ...committed, sha256: 'ABC' }), false);
});
