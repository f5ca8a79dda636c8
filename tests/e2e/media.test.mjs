// media@v1 (docs/api.md, "Uploads"): encrypted uploads end to end against a real node over real
// sockets. The client encrypts with AES-256-GCM before it uploads and decrypts after it downloads;
// the node only stores, hashes, counts and serves ciphertext. Covers presign → PUT (whole, or in
// parts, resumed after a dropped connection) → commit → get_link → GET/HEAD with Range, ETag and
// If-None-Match; every refusal; tenants; idempotency; MCP; the per-tenant byte quota and the limits.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { OmnicastNode, waitFor } from './lib/node.mjs';
import { Api, expectStatus, prepared, request, uniqueId } from './lib/http.mjs';
import { validateResponse } from './lib/openapi.mjs';
import { connectMcp, callTool } from './lib/mcp.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;
const DAY_MS = 86400 * 1000;
const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function near(isoTime, expectedMs, { withinMs = 60000 } = {}) {
  const t = Date.parse(isoTime);
  assert.ok(Number.isFinite(t), `${isoTime} is a time`);
  assert.ok(Math.abs(expectedMs - t) < withinMs, `${isoTime} is near ${new Date(expectedMs).toISOString()}`);
}

// ---- the client's encryption: AES-256-GCM with a fresh content key, wrapped (RFC 3394) with the
// client's key-encryption key. enc_meta carries what a reader needs besides that KEK; to the node
// it is an opaque string.
const KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');

function encrypt(plaintext, kek, type) {
  const key = crypto.randomBytes(32);
  const iv = crypto.randomBytes(12);
  const gcm = crypto.createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([gcm.update(plaintext), gcm.final(), gcm.getAuthTag()]);
  const kw = crypto.createCipheriv('id-aes256-wrap', kek, KW_IV);
  const wrapped = Buffer.concat([kw.update(key), kw.final()]);
  const encMeta = JSON.stringify({
    v: 1, alg: 'A256GCM', iv: iv.toString('base64'), tag_bytes: 16,
    kw: 'A256KW', kid: 'kek-e2e-1', wrapped_key: wrapped.toString('base64'), type,
  });
  return { ciphertext, encMeta };
}

function decrypt(ciphertext, encMeta, kek) {
  const m = JSON.parse(encMeta);
  assert.equal(m.alg, 'A256GCM');
  const kw = crypto.createDecipheriv('id-aes256-wrap', kek, KW_IV);
  const key = Buffer.concat([kw.update(Buffer.from(m.wrapped_key, 'base64')), kw.final()]);
  const body = ciphertext.subarray(0, ciphertext.length - m.tag_bytes);
  const gcm = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(m.iv, 'base64'));
  gcm.setAuthTag(ciphertext.subarray(ciphertext.length - m.tag_bytes));
  return Buffer.concat([gcm.update(body), gcm.final()]);
}

// ---- the control plane (REST), every answer validated by Api against openapi.yaml --------------
function presign(api, room, args = {}, metaOver = {}) {
  return api.post('/v1/media', { meta: api.meta(room.mode, metaOver), room_id: room.room_id, mime: 'video/mp4', ...args });
}
function commit(api, room, mediaId, args = {}, metaOver = {}) {
  return api.post(`/v1/media/${mediaId}/commit`, { meta: api.meta(room.mode, metaOver), ...args });
}
function getLink(api, room, mediaId, args = {}) {
  return api.post(`/v1/media/${mediaId}/link`, { meta: api.meta(room.mode), ...args });
}
function getMedia(api, mediaId) {
  return api.get(`/v1/media/${mediaId}`);
}

// ---- the data plane: signed URLs, no credentials ------------------------------------------------
function validated(method, url, status, headers, raw) {
  const u = new URL(url);
  const text = raw.toString('utf8');
  const body = validateResponse({ method, path: u.pathname + u.search, status, headers, text });
  return { status, headers, raw, text, body };
}

// A body that fetch sends chunked (no Content-Length), in 64 KiB pieces.
function streamOf(buf) {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= buf.length) return c.close();
      c.enqueue(new Uint8Array(buf.subarray(at, at + 64 * KiB)));
      at += 64 * KiB;
    },
  });
}

// PUT with fetch: a Buffer goes with Content-Length; { chunked: true } streams it.
async function fetchPut(url, body, { headers = {}, chunked = false } = {}) {
  const init = { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', ...headers } };
  if (chunked) Object.assign(init, { body: streamOf(body), duplex: 'half' });
  else init.body = body;
  const res = await fetch(url, init);
  const raw = Buffer.from(await res.arrayBuffer());
  return validated('PUT', url, res.status, Object.fromEntries(res.headers), raw);
}

// PUT with node:http, for what fetch hides: the answer to a body the node stops reading, a chunked
// body, a Content-Length the client does not honour. Resolves {status, headers, body, …} or, when
// the connection broke while the body was being sent, {error} (with the status of an answer that
// arrived before the break, if any).
function rawPut(url, body, { headers = {}, chunked = false } = {}) {
  const u = new URL(url);
  return new Promise((resolve) => {
    let answered = null;
    const req = http.request(
      {
        host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'PUT', agent: false,
        headers: { 'Content-Type': 'application/octet-stream', ...(chunked ? {} : { 'Content-Length': body.length }), ...headers },
      },
      (res) => {
        answered = { status: res.statusCode };
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(validated('PUT', url, res.statusCode, res.headers, Buffer.concat(chunks)));
          } catch (e) {
            resolve({ status: res.statusCode, error: e });
          }
        });
        res.on('error', (e) => resolve({ ...answered, error: e }));
      },
    );
    req.on('error', (e) => setTimeout(() => resolve({ ...answered, error: e }), 200));
    if (chunked) {
      for (let i = 0; i < body.length; i += 64 * KiB) req.write(body.subarray(i, i + 64 * KiB));
      req.end();
    } else req.end(body);
  });
}

// GET or HEAD of a signed URL (raw bytes), validated.
async function blob(url, { method = 'GET', headers = {} } = {}) {
  const u = new URL(url);
  const r = await request({ port: Number(u.port), method, path: u.pathname + u.search, headers });
  return validated(method, url, r.status, r.headers, r.raw);
}

// The URL with query parameter `name` set to `value` (or removed with undefined).
function withParam(url, name, value) {
  const u = new URL(url);
  if (value === undefined) u.searchParams.delete(name);
  else u.searchParams.set(name, value);
  return u.toString();
}

function partUrl(presigned, n) {
  return presigned.upload.parts.url.replace('{n}', String(n));
}

// presign → PUT (whole) → commit → get_link: a committed object of `bytes` random bytes.
async function committed(api, room, bytes, { mime = 'application/octet-stream', link = {} } = {}) {
  const data = crypto.randomBytes(bytes);
  const p = expectStatus(await presign(api, room, { bytes, mime }), 201);
  expectStatus(await fetchPut(p.upload.url, data, { chunked: bytes > 512 * KiB }), 200);
  expectStatus(await commit(api, room, p.media_id, { sha256: sha256(data), bytes }), 200);
  const l = expectStatus(await getLink(api, room, p.media_id, link), 200);
  return { p, data, url: l.url, link: l };
}

function tempFilesUnder(dir) {
  const out = [];
  const walk = (d) => {
    let entries = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.name.includes('.tmp-')) out.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

describe('media@v1: encrypted uploads', () => {
  let node, acme, globex, room, groom;
  const kek = crypto.randomBytes(32);
  let flow; // the object of the full flow, reused by the read tests
  before(async () => {
    node = await OmnicastNode.start({ name: 'media' });
    acme = new Api(node, { tenant: 'acme', user: 'alice', device: 'dev-alice-media' });
    globex = new Api(node, { tenant: 'globex', user: 'gina', device: 'dev-gina-media' });
    room = await prepared(acme.with({ device: uniqueId('dev') }), 'circle');
    groom = await prepared(globex.with({ device: uniqueId('dev') }), 'duo');
  });
  after(() => node?.stop());

  test('full flow: AES-256-GCM ciphertext of a few MiB → presign → PUT → commit → get_link → download → decrypt', async () => {
    const plaintext = crypto.randomBytes(3 * MiB + 4321);
    const { ciphertext, encMeta } = encrypt(plaintext, kek, 'video/mp4');
    assert.equal(ciphertext.length, plaintext.length + 16);
    const digest = sha256(ciphertext);

    const p = expectStatus(
      await presign(acme, room, { mime: 'video/mp4', bytes: ciphertext.length, enc_meta: encMeta }),
      201,
    );
    assert.match(p.media_id, /^md_/);
    assert.equal(p.room_id, room.room_id);
    assert.ok(
      p.upload.url.startsWith(`${node.baseUrl}/v1/blobs/${p.media_id}?`),
      `upload.url is a /v1/blobs URL of the node: ${p.upload.url}`,
    );
    const q = new URL(p.upload.url).searchParams;
    assert.match(q.get('exp'), /^\d+$/);
    assert.ok(q.get('sig'));
    assert.equal(p.upload.method, 'PUT');
    assert.deepEqual(p.upload.headers, { 'Content-Type': 'application/octet-stream' });
    assert.equal(p.upload.expires_in, 3600, 'media.upload_ttl_s defaults to 3600');
    assert.deepEqual(p.upload.parts, { url: `${p.upload.url}&part={n}`, header: 'X-Part-Sha256', max_parts: 10000 });
    assert.equal(p.max_bytes, ciphertext.length);
    assert.deepEqual(p.checksum, { algo: 'sha256' });
    assert.equal(p.retention, 'standard');

    let g = expectStatus(await getMedia(acme, p.media_id), 200);
    assert.deepEqual(
      { state: g.state, enc_meta: g.enc_meta, parts: g.parts, received_bytes: g.received_bytes, sha256: g.sha256, bytes: g.bytes },
      { state: 'presigned', enc_meta: encMeta, parts: [], received_bytes: 0, sha256: null, bytes: ciphertext.length },
    );
    near(g.upload_expires_at, Date.now() + 3600 * 1000);

    // Streamed (chunked) with fetch; the same PUT with a Content-Length is the next test.
    const put = expectStatus(await fetchPut(p.upload.url, ciphertext, { chunked: true }), 200);
    assert.deepEqual(put, { media_id: p.media_id, bytes: ciphertext.length, sha256: digest });
    g = expectStatus(await getMedia(acme, p.media_id), 200);
    assert.equal(g.state, 'uploaded');
    assert.equal(g.received_bytes, ciphertext.length);
    assert.equal(g.sha256, digest);

    const c = expectStatus(await commit(acme, room, p.media_id, { sha256: digest.toUpperCase(), bytes: ciphertext.length }), 200);
    assert.equal(c.ok, true);
    assert.equal(c.media_id, p.media_id);
    near(c.retain_until, Date.now() + 90 * DAY_MS);

    g = expectStatus(await getMedia(acme, p.media_id), 200);
    assert.equal(g.state, 'committed');
    assert.equal(g.enc_meta, encMeta, 'enc_meta comes back exactly as given');
    assert.equal(g.mime, 'video/mp4');
    assert.equal(g.tenant, 'acme');
    assert.equal(g.room_id, room.room_id);
    assert.equal(g.retain_until, c.retain_until);
    assert.equal(g.reject_reason, null);

    const l = expectStatus(await getLink(acme, room, p.media_id), 200);
    assert.equal(l.ttl_s, 300, 'media.link_ttl_s defaults to 300');
    near(l.expires_at, Date.now() + 300 * 1000);
    assert.ok(l.url.startsWith(`${node.baseUrl}/v1/blobs/${p.media_id}?`), l.url);

    const d = await blob(l.url);
    assert.equal(d.status, 200);
    assert.ok(d.raw.equals(ciphertext), 'the downloaded bytes are the ciphertext, byte for byte');
    assert.equal(d.headers['content-type'], 'video/mp4');
    assert.equal(d.headers.etag, `"${digest}"`);
    assert.equal(d.headers['accept-ranges'], 'bytes');
    assert.equal(Number(d.headers['content-length']), ciphertext.length);
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(d.headers['cache-control'])?.[1]);
    assert.ok(maxAge > 0 && maxAge <= 300, `Cache-Control ${d.headers['cache-control']}: the seconds the URL has left`);
    assert.equal(d.headers['content-disposition'], undefined, 'no dl, no attachment');
    assert.ok(decrypt(d.raw, g.enc_meta, kek).equals(plaintext), 'the decrypted download is the original plaintext');

    const kinds = node.dump().filter((r) => r.actor === p.media_id).map((r) => r.kind);
    assert.deepEqual(kinds, ['media.presigned', 'media.upload.started', 'media.uploaded', 'media.committed']);
    flow = { p, ciphertext, digest, url: l.url };
  });

  test('a whole PUT of a few MiB with Content-Length (a Buffer body) is accepted like the chunked one', async () => {
    const data = crypto.randomBytes(3 * MiB);
    const p = expectStatus(await presign(acme, room, { bytes: data.length }), 201);
    const r = await rawPut(p.upload.url, data);
    assert.equal(r.error, undefined, `PUT ${data.length} bytes with Content-Length: ${r.status ?? ''} ${r.text ?? ''} ${r.error?.message}`);
    expectStatus(r, 200);
    assert.deepEqual(r.body, { media_id: p.media_id, bytes: data.length, sha256: sha256(data) });
  });

  test('a part of 2 MiB with Content-Length is accepted (parts may be of any size)', async () => {
    const data = crypto.randomBytes(2 * MiB);
    const p = expectStatus(await presign(acme, room, { bytes: data.length }), 201);
    const r = await rawPut(partUrl(p, 1), data, { headers: { 'X-Part-Sha256': sha256(data) } });
    assert.equal(r.error, undefined, `PUT part 1 of ${data.length} bytes with Content-Length: ${r.status ?? ''} ${r.text ?? ''} ${r.error?.message}`);
    expectStatus(r, 200);
    assert.deepEqual(r.body, { media_id: p.media_id, part: 1, bytes: data.length, sha256: sha256(data) });
  });

  test('Range reads of the ciphertext, byte for byte: bytes=a-b, a-, -n; 416 outside', async () => {
    assert.ok(flow, 'the full flow ran');
    const { ciphertext: ct, digest, url } = flow;
    const n = ct.length;
    const cases = [
      ['bytes=0-0', 0, 0],
      ['bytes=1000-1999', 1000, 1999],
      [`bytes=${MiB - 7}-${2 * MiB + 11}`, MiB - 7, 2 * MiB + 11],
      [`bytes=${n - 777}-`, n - 777, n - 1],
      ['bytes=0-', 0, n - 1],
      ['bytes=-4096', n - 4096, n - 1],
      [`bytes=-${n + 10}`, 0, n - 1], // a suffix longer than the object is all of it
      [`bytes=${n - 10}-${n + 100}`, n - 10, n - 1], // the end is clipped to the object
    ];
    for (const [range, first, last] of cases) {
      const r = await blob(url, { headers: { Range: range } });
      assert.equal(r.status, 206, `${range}: ${r.status} ${r.text.slice(0, 200)}`);
      assert.equal(r.headers['content-range'], `bytes ${first}-${last}/${n}`, range);
      assert.equal(Number(r.headers['content-length']), last - first + 1, range);
      assert.ok(r.raw.equals(ct.subarray(first, last + 1)), `${range}: the bytes of the ciphertext`);
      assert.equal(r.headers.etag, `"${digest}"`);
      assert.equal(r.headers['content-type'], 'video/mp4');
    }
    for (const range of [`bytes=${n}-`, `bytes=${n + 5}-${n + 10}`, 'bytes=-0']) {
      const r = await blob(url, { headers: { Range: range } });
      expectStatus(r, 416, 'range_not_satisfiable');
      assert.equal(r.headers['content-range'], `bytes */${n}`, range);
    }
    // Several ranges, or a malformed one, are not served as ranges: the whole object (RFC 9110).
    for (const range of ['bytes=0-1,5-6', 'bytes=9-3', 'items=0-1']) {
      const r = await blob(url, { headers: { Range: range } });
      assert.equal(r.status, 200, `${range}: ${r.status}`);
      assert.equal(r.raw.length, n);
    }
  });

  test('If-None-Match with the ETag → 304 without a body; another ETag → 200', async () => {
    assert.ok(flow, 'the full flow ran');
    for (const inm of [`"${flow.digest}"`, '*']) {
      const r = await blob(flow.url, { headers: { 'If-None-Match': inm } });
      assert.equal(r.status, 304, `If-None-Match ${inm}`);
      assert.equal(r.raw.length, 0);
      assert.equal(r.headers.etag, `"${flow.digest}"`);
    }
    const other = await blob(flow.url, { headers: { 'If-None-Match': `"${'0'.repeat(64)}"` } });
    assert.equal(other.status, 200);
    assert.ok(other.raw.equals(flow.ciphertext));
  });

  test('HEAD answers the headers and Content-Length of the GET, without a body', async () => {
    assert.ok(flow, 'the full flow ran');
    const h = await blob(flow.url, { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(h.raw.length, 0, 'no body');
    assert.equal(Number(h.headers['content-length']), flow.ciphertext.length);
    assert.equal(h.headers.etag, `"${flow.digest}"`);
    assert.equal(h.headers['accept-ranges'], 'bytes');
    assert.equal(h.headers['content-type'], 'video/mp4');
    assert.match(h.headers['cache-control'], /^private, max-age=\d+$/);
    const hr = await blob(flow.url, { method: 'HEAD', headers: { Range: 'bytes=10-19' } });
    assert.equal(hr.status, 206);
    assert.equal(hr.raw.length, 0);
    assert.equal(hr.headers['content-range'], `bytes 10-19/${flow.ciphertext.length}`);
    assert.equal(Number(hr.headers['content-length']), 10);
  });

  test('dl → Content-Disposition: attachment; a granted range limits the link to those bytes', async () => {
    assert.ok(flow, 'the full flow ran');
    const { p, ciphertext: ct, digest } = flow;
    const n = ct.length;
    const dl = expectStatus(await getLink(acme, room, p.media_id, { dl: true }), 200);
    const a = await blob(dl.url);
    assert.equal(a.status, 200);
    assert.match(a.headers['content-disposition'], /^attachment/);
    assert.ok(a.raw.equals(ct));

    const g = expectStatus(await getLink(acme, room, p.media_id, { range: '1000-1999' }), 200);
    const whole = await blob(g.url);
    assert.equal(whole.status, 200);
    assert.equal(Number(whole.headers['content-length']), 1000);
    assert.ok(whole.raw.equals(ct.subarray(1000, 2000)), 'the link serves the granted bytes as its whole object');
    assert.equal(whole.headers.etag, `"${digest}"`);
    let r = await blob(g.url, { headers: { Range: 'bytes=0-9' } });
    assert.equal(r.status, 206);
    assert.equal(r.headers['content-range'], 'bytes 0-9/1000');
    assert.ok(r.raw.equals(ct.subarray(1000, 1010)));
    r = await blob(g.url, { headers: { Range: 'bytes=-10' } });
    assert.equal(r.headers['content-range'], 'bytes 990-999/1000');
    assert.ok(r.raw.equals(ct.subarray(1990, 2000)));
    r = await blob(g.url, { headers: { Range: 'bytes=1000-' } });
    expectStatus(r, 416, 'range_not_satisfiable');
    assert.equal(r.headers['content-range'], 'bytes */1000');

    // A grant that runs past the end is clipped; one that starts past it serves nothing.
    const tail = expectStatus(await getLink(acme, room, p.media_id, { range: `${n - 10}-${n + 100}` }), 200);
    r = await blob(tail.url);
    assert.equal(r.status, 200);
    assert.ok(r.raw.equals(ct.subarray(n - 10)));
    const beyond = expectStatus(await getLink(acme, room, p.media_id, { range: `${n}-${n + 5}` }), 200);
    expectStatus(await blob(beyond.url), 416, 'range_not_satisfiable');

    // The grants are signed: widening the range, or adding or dropping dl, breaks the link.
    expectStatus(await blob(withParam(g.url, 'range', `0-${n - 1}`)), 403, 'link_invalid');
    expectStatus(await blob(withParam(g.url, 'range', undefined)), 403, 'link_invalid');
    expectStatus(await blob(withParam(dl.url, 'dl', undefined)), 403, 'link_invalid');
    expectStatus(await blob(withParam(flow.url, 'dl', '1')), 403, 'link_invalid');

    expectStatus(await getLink(acme, room, p.media_id, { range: '10-5' }), 400, 'invalid_argument');
    expectStatus(await getLink(acme, room, p.media_id, { range: 'bytes=0-1' }), 400, 'invalid_argument');
  });

  test('internal routes: presign (200), commit with media_id in the body, GET link with dl and range in the query', async () => {
    const data = crypto.randomBytes(5000);
    const p = expectStatus(
      await acme.post('/internal/media/presign', { meta: acme.meta('circle'), room_id: room.room_id, mime: 'image/png', bytes: data.length, retention: 'ephemeral' }),
      200,
    );
    assert.equal(p.retention, 'ephemeral');
    expectStatus(await fetchPut(p.upload.url, data), 200);
    const c = expectStatus(
      await acme.post('/internal/media/commit', { meta: acme.meta('circle'), media_id: p.media_id, sha256: sha256(data), bytes: data.length }),
      200,
    );
    near(c.retain_until, Date.now() + 7 * DAY_MS);
    const l = expectStatus(await acme.get(`/internal/media/link/${p.media_id}?dl=true&range=100-199`), 200);
    const r = await blob(l.url);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'image/png');
    assert.match(r.headers['content-disposition'], /^attachment/);
    assert.ok(r.raw.equals(data.subarray(100, 200)));
    const plain = expectStatus(await acme.get(`/internal/media/link/${p.media_id}`), 200);
    assert.ok((await blob(plain.url)).raw.equals(data));
    // The internal routes take an API key only.
    expectStatus(await acme.get(`/internal/media/link/${p.media_id}`, { auth: room.tokens.pub }), 401, 'unauthenticated');
    expectStatus(await acme.post('/internal/media/commit', { meta: acme.meta('circle'), sha256: sha256(data), bytes: 1 }), 400, 'invalid_argument');
  });

  describe('refusals', () => {
    test('presign: a bad mime, bytes 0 or not an integer, an enc_meta over 4096 bytes, a bad retention → 400 invalid_argument naming them', async () => {
      for (const mime of ['video', 'video/', '/mp4', 'video/mp4/x', 'vi deo/mp4']) {
        const b = expectStatus(await presign(acme, room, { mime, bytes: 10 }), 400, 'invalid_argument');
        assert.match(b.error.message, /mime/, mime);
      }
      for (const bytes of [0, -1, 1.5, '10']) {
        const b = expectStatus(await presign(acme, room, { bytes }), 400, 'invalid_argument');
        assert.match(b.error.message, /bytes/, String(bytes));
      }
      let b = expectStatus(await presign(acme, room, { bytes: 10, enc_meta: 'x'.repeat(4097) }), 400, 'invalid_argument');
      assert.match(b.error.message, /enc_meta/);
      expectStatus(await presign(acme, room, { bytes: 10, enc_meta: 'x'.repeat(4096) }), 201);
      b = expectStatus(await presign(acme, room, { bytes: 10, retention: 'forever' }), 400, 'invalid_argument');
      assert.match(b.error.message, /retention/);
      b = expectStatus(await presign(acme, room, { room_id: undefined, bytes: 10 }), 400, 'invalid_argument');
      assert.match(b.error.message, /room_id/);
    });

    test('presign: an unknown room or another tenant’s → 404; meta.mode not the room’s → 409 mode_mismatch', async () => {
      expectStatus(await presign(acme, { ...room, room_id: 'rm_01JDUNKNOWN0000000000000000' }, { bytes: 10 }), 404, 'not_found');
      expectStatus(await presign(acme, { ...groom, mode: 'duo' }, { bytes: 10 }), 404, 'not_found');
      expectStatus(await presign(acme, { ...room, mode: 'duo' }, { bytes: 10 }), 409, 'mode_mismatch');
      expectStatus(await presign(acme, { ...room, mode: 'stage' }, { bytes: 10 }), 409, 'mode_mismatch');
    });

    test('presign into a closed room (its session ended) → 409 (api.md: "an open room of the tenant")', async () => {
      const s = await prepared(acme.with({ device: uniqueId('dev') }), 'duo');
      expectStatus(await acme.end(s), 200);
      assert.equal(expectStatus(await acme.getRoom(s.room_id), 200).state, 'closed');
      expectStatus(await presign(acme, s, { bytes: 10 }), 409, 'illegal_transition');
    });

    test('PUT: no signature, an altered signature or exp, another media id’s path, a GET link → 403 link_invalid', async () => {
      const data = crypto.randomBytes(100);
      const p = expectStatus(await presign(acme, room, { bytes: data.length }), 201);
      const other = expectStatus(await presign(acme, room, { bytes: data.length }), 201);
      const u = new URL(p.upload.url);
      const sig = u.searchParams.get('sig');
      const exp = Number(u.searchParams.get('exp'));
      const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
      const bad = {
        'no query': `${u.origin}${u.pathname}`,
        'no sig': withParam(p.upload.url, 'sig', undefined),
        'no exp': withParam(p.upload.url, 'exp', undefined),
        'altered sig': withParam(p.upload.url, 'sig', flipped),
        'truncated sig': withParam(p.upload.url, 'sig', sig.slice(0, -2)),
        'exp + 1': withParam(p.upload.url, 'exp', String(exp + 1)),
        'exp − 1': withParam(p.upload.url, 'exp', String(exp - 1)),
        'exp not a number': withParam(p.upload.url, 'exp', 'soon'),
        'another media id': p.upload.url.replace(p.media_id, other.media_id),
        'a granted extra': withParam(p.upload.url, 'dl', '1'),
      };
      for (const [what, url] of Object.entries(bad)) {
        const r = await fetchPut(url, data);
        assert.equal(r.status, 403, `${what}: ${r.status} ${r.text}`);
        expectStatus(r, 403, 'link_invalid');
      }
      // A download link does not upload; an upload URL does not download.
      const f = flow ? expectStatus(await getLink(acme, room, flow.p.media_id), 200) : null;
      if (f) expectStatus(await fetchPut(f.url, data), 403, 'link_invalid');
      expectStatus(await blob(p.upload.url), 403, 'link_invalid');
      const head = await blob(withParam(p.upload.url, 'sig', flipped), { method: 'HEAD' });
      assert.equal(head.status, 403);
      assert.equal(head.raw.length, 0);
      // Nothing was stored: the upload still waits for its bytes, and the signed URL still works.
      const g = expectStatus(await getMedia(acme, p.media_id), 200);
      assert.equal(g.state, 'presigned');
      expectStatus(await fetchPut(p.upload.url, data), 200);
    });

    test('PUT of more bytes than declared → 413 payload_too_large; nothing is received, and the upload can be sent again', async () => {
      const outcome = {};
      for (const chunked of [false, true]) {
        const p = expectStatus(await presign(acme, room, { bytes: 1000 }), 201);
        const r = await rawPut(p.upload.url, crypto.randomBytes(1500), { chunked });
        const g = expectStatus(await getMedia(acme, p.media_id), 200);
        const retry = await fetchPut(p.upload.url, crypto.randomBytes(1000));
        outcome[chunked ? 'chunked' : 'content-length'] = {
          status: r.status ?? r.error?.code,
          code: r.body?.error?.code ?? null,
          received_bytes: g.received_bytes,
          reject_reason: g.reject_reason,
          'then a PUT of 1000 bytes': retry.status,
        };
      }
      const expected = { status: 413, code: 'payload_too_large', received_bytes: 0, reject_reason: null, 'then a PUT of 1000 bytes': 200 };
      assert.deepEqual(outcome, { 'content-length': expected, chunked: expected });
    });

    test('a second whole PUT → 409 illegal_transition before the commit, 409 already_committed after it', async () => {
      const data = crypto.randomBytes(2000);
      const p = expectStatus(await presign(acme, room, { bytes: data.length }), 201);
      expectStatus(await fetchPut(p.upload.url, data), 200);
      expectStatus(await fetchPut(p.upload.url, data), 409, 'illegal_transition');
      expectStatus(await commit(acme, room, p.media_id, { sha256: sha256(data), bytes: data.length }), 200);
      expectStatus(await fetchPut(p.upload.url, data), 409, 'already_committed');
      expectStatus(await fetchPut(partUrl(p, 1), data, { headers: { 'X-Part-Sha256': sha256(data) } }), 409, 'already_committed');
      // Committing again is refused too.
      expectStatus(await commit(acme, room, p.media_id, { sha256: sha256(data), bytes: data.length }), 409, 'already_committed');
    });

    test('commit with the wrong sha256 → 409 upload_rejected; the ledger has media.rejected and media.blob.deleted; its link is refused', async () => {
      const data = crypto.randomBytes(4000);
      const p = expectStatus(await presign(acme, room, { bytes: data.length }), 201);
      expectStatus(await fetchPut(p.upload.url, data), 200);
      const wrong = sha256(Buffer.from('not the bytes'));
      const body = { sha256: wrong, bytes: data.length };
      const meta = acme.meta('circle');
      const r = await acme.post(`/v1/media/${p.media_id}/commit`, { meta, ...body });
      const b = expectStatus(r, 409, 'upload_rejected');
      assert.equal(b.error.details.reason, 'sha256_mismatch');

      const g = expectStatus(await getMedia(acme, p.media_id), 200);
      assert.ok(['rejected', 'deleted'].includes(g.state), `state ${g.state}`);
      assert.equal(g.reject_reason, 'sha256_mismatch');

      const records = node.dump().filter((x) => x.actor === p.media_id);
      const rejected = records.find((x) => x.kind === 'media.rejected');
      const deleted = records.find((x) => x.kind === 'media.blob.deleted');
      assert.ok(rejected, `media.rejected is in the ledger: ${records.map((x) => x.kind)}`);
      assert.equal(rejected.payload.reason, 'sha256_mismatch');
      assert.ok(deleted, `media.blob.deleted is in the ledger: ${records.map((x) => x.kind)}`);
      assert.ok(rejected.seq < deleted.seq);
      assert.ok(!records.some((x) => x.kind === 'media.committed'));

      expectStatus(await getLink(acme, room, p.media_id), 409, 'not_committed');
      expectStatus(await acme.get(`/internal/media/link/${p.media_id}`), 409, 'not_committed');
      expectStatus(await fetchPut(p.upload.url, data), 409, 'illegal_transition');
      expectStatus(await commit(acme, room, p.media_id, { sha256: sha256(data), bytes: data.length }), 409, 'illegal_transition');
      // The same op_id repeats the same refusal, byte for byte, and appends nothing.
      const head = await acme.headSeq();
      const again = await acme.post(`/v1/media/${p.media_id}/commit`, { meta: { ...meta, correlation_id: uniqueId('corr') }, ...body });
      assert.equal(again.status, 409);
      assert.equal(again.text.replace(meta.correlation_id, ''), r.text.replace(meta.correlation_id, ''));
      assert.equal(await acme.headSeq(), head);
    });

    test('commit with the wrong bytes → 409 upload_rejected bytes_mismatch', async () => {
      const data = crypto.randomBytes(3000);
      const p = expectStatus(await presign(acme, room, { bytes: data.length }), 201);
      expectStatus(await fetchPut(p.upload.url, data), 200);
      const b = expectStatus(await commit(acme, room, p.media_id, { sha256: sha256(data), bytes: data.length - 1 }), 409, 'upload_rejected');
      assert.equal(b.error.details.reason, 'bytes_mismatch');
      const g = expectStatus(await getMedia(acme, p.media_id), 200);
      assert.equal(g.reject_reason, 'bytes_mismatch');
      const kinds = node.dump().filter((x) => x.actor === p.media_id).map((x) => x.kind);
      assert.ok(kinds.includes('media.rejected') && kinds.includes('media.blob.deleted'), kinds.join(' '));
    });

    test('get_link before the commit → 409 not_committed; commit before any bytes → 409 illegal_transition; malformed commits → 400', async () => {
      const data = crypto.randomBytes(100);
      const p = expectStatus(await presign(acme, room, { bytes: data.length }), 201);
      expectStatus(await getLink(acme, room, p.media_id), 409, 'not_committed');
      expectStatus(await commit(acme, room, p.media_id, { sha256: sha256(data), bytes: data.length }), 409, 'illegal_transition');
      expectStatus(await fetchPut(p.upload.url, data), 200);
      expectStatus(await getLink(acme, room, p.media_id), 409, 'not_committed');
      let b = expectStatus(await commit(acme, room, p.media_id, { sha256: 'abc', bytes: data.length }), 400, 'invalid_argument');
      assert.match(b.error.message, /sha256/);
      b = expectStatus(await commit(acme, room, p.media_id, { sha256: sha256(data) }), 400, 'invalid_argument');
      assert.match(b.error.message, /bytes/);
      expectStatus(await getMedia(acme, 'md_01JDUNKNOWN0000000000000000'), 404, 'not_found');
      expectStatus(await commit(acme, room, 'md_01JDUNKNOWN0000000000000000', { sha256: sha256(data), bytes: 1 }), 404, 'not_found');
      expectStatus(await getLink(acme, room, 'md_01JDUNKNOWN0000000000000000'), 404, 'not_found');
      // The upload itself was not harmed.
      expectStatus(await commit(acme, room, p.media_id, { sha256: sha256(data), bytes: data.length }), 200);
    });
  });

  test('resumable: parts in any order, a wrong X-Part-Sha256, a connection cut mid-part, parts_missing, then commit and download', async () => {
    const parts = [crypto.randomBytes(200 * KiB + 17), crypto.randomBytes(300 * KiB), crypto.randomBytes(123 * KiB + 5)];
    const whole = Buffer.concat(parts);
    const p = expectStatus(await presign(acme, room, { bytes: whole.length, mime: 'audio/ogg' }), 201);
    const put = (n, data, sha = sha256(data)) => fetchPut(partUrl(p, n), data, { headers: { 'X-Part-Sha256': sha } });

    // Part 3 first, then part 1 (first with other bytes of the same size, then the right ones: a
    // part sent again replaces the stored one).
    assert.deepEqual(expectStatus(await put(3, parts[2]), 200), { media_id: p.media_id, part: 3, bytes: parts[2].length, sha256: sha256(parts[2]) });
    const decoy = crypto.randomBytes(parts[0].length);
    expectStatus(await put(1, decoy), 200);
    expectStatus(await put(1, parts[0]), 200);

    // A part whose bytes do not hash to its header is discarded.
    const mismatch = expectStatus(await put(2, parts[1], sha256(parts[0])), 400, 'part_sha256_mismatch');
    assert.equal(mismatch.error.details.received_sha256, sha256(parts[1]));
    // Malformed part requests.
    expectStatus(await fetchPut(partUrl(p, 2), parts[1]), 400, 'invalid_argument'); // no X-Part-Sha256
    expectStatus(await put(2, parts[1], 'xyz'), 400, 'invalid_argument');
    expectStatus(await put(0, parts[1]), 400, 'invalid_argument');
    expectStatus(await put(10001, parts[1]), 400, 'invalid_argument');

    // Part 2, cut in the middle: Content-Length promises the whole part, half of it is sent (the
    // node is receiving it into a temporary file), then the socket is destroyed.
    const u = new URL(partUrl(p, 2));
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'PUT', agent: false,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': parts[1].length, 'X-Part-Sha256': sha256(parts[1]) },
    });
    const closed = new Promise((resolve) => req.on('close', resolve));
    let answered = null;
    req.on('response', (res) => (answered = res.statusCode));
    req.on('error', () => {});
    req.write(parts[1].subarray(0, parts[1].length / 2));
    const store = path.join(node.dataDir, 'media');
    const during = await waitFor('the part’s temporary file', () => tempFilesUnder(store).length > 0 && tempFilesUnder(store), { timeoutMs: 5000 });
    assert.equal(during.length, 1, during.join(' '));
    req.destroy();
    await closed;
    assert.equal(answered, null, 'the node did not answer a part it did not receive');
    // The interrupted part leaves nothing: its temporary file is removed.
    await waitFor('the interrupted part’s temporary file to go', () => tempFilesUnder(store).length === 0, { timeoutMs: 5000 });

    // media.get lists what is stored: parts 1 and 3, with their sizes and hashes.
    const g = expectStatus(await getMedia(acme, p.media_id), 200);
    assert.equal(g.state, 'uploading');
    assert.deepEqual(g.parts, [
      { number: 1, bytes: parts[0].length, sha256: sha256(parts[0]) },
      { number: 3, bytes: parts[2].length, sha256: sha256(parts[2]) },
    ]);

    // Part 2 is missing: the commit is refused, and nothing is decided.
    const missing = expectStatus(await commit(acme, room, p.media_id, { sha256: sha256(whole), bytes: whole.length }), 409, 'parts_missing');
    assert.match(missing.error.message, /1\.\.3/);
    assert.equal(expectStatus(await getMedia(acme, p.media_id), 200).state, 'uploading');

    // The missing part, whole, then the commit.
    expectStatus(await put(2, parts[1]), 200);
    assert.deepEqual(expectStatus(await getMedia(acme, p.media_id), 200).parts.map((x) => x.number), [1, 2, 3]);
    expectStatus(await commit(acme, room, p.media_id, { sha256: sha256(whole), bytes: whole.length }), 200);
    const after = expectStatus(await getMedia(acme, p.media_id), 200);
    assert.equal(after.state, 'committed');
    assert.equal(after.received_bytes, whole.length);
    assert.equal(after.sha256, sha256(whole));

    const l = expectStatus(await getLink(acme, room, p.media_id), 200);
    const d = await blob(l.url);
    assert.equal(d.status, 200);
    assert.equal(d.headers['content-type'], 'audio/ogg');
    assert.ok(d.raw.equals(whole), 'the object is parts 1..3 in order');
    const kinds = node.dump().filter((x) => x.actor === p.media_id).map((x) => x.kind);
    assert.equal(kinds.filter((k) => k === 'media.part.stored').length, 4, kinds.join(' '));
  });

  test('two tenants: globex cannot read, commit or link acme’s media (404), on any route', async () => {
    const data = crypto.randomBytes(1000);
    const p = expectStatus(await presign(acme, room, { bytes: data.length }), 201);
    expectStatus(await fetchPut(p.upload.url, data), 200);
    const gmeta = (over) => globex.meta('circle', over);
    expectStatus(await getMedia(globex, p.media_id), 404, 'not_found');
    expectStatus(await globex.post(`/v1/media/${p.media_id}/commit`, { meta: gmeta(), sha256: sha256(data), bytes: data.length }), 404, 'not_found');
    expectStatus(await globex.post(`/v1/media/${p.media_id}/link`, { meta: gmeta() }), 404, 'not_found');
    expectStatus(await globex.post('/internal/media/commit', { meta: gmeta(), media_id: p.media_id, sha256: sha256(data), bytes: data.length }), 404, 'not_found');
    expectStatus(await globex.get(`/internal/media/link/${p.media_id}`), 404, 'not_found');
    // acme's meta with globex's key: refused before anything is looked up.
    expectStatus(await globex.post(`/v1/media/${p.media_id}/commit`, { meta: acme.meta('circle'), sha256: sha256(data), bytes: data.length }), 403, 'tenant_mismatch');
    // Nothing happened to it: acme commits and globex still cannot link it.
    expectStatus(await commit(acme, room, p.media_id, { sha256: sha256(data), bytes: data.length }), 200);
    expectStatus(await globex.post(`/v1/media/${p.media_id}/link`, { meta: gmeta() }), 404, 'not_found');
    expectStatus(await getMedia(globex, p.media_id), 404, 'not_found');
  });

  test('a participant token never reaches the media of another room (403 token-scope); for its own room the policy decides', async () => {
    const data = crypto.randomBytes(100);
    const mine = expectStatus(await presign(acme, room, { bytes: data.length }), 201);
    const other = await prepared(acme.with({ device: uniqueId('dev') }), 'circle');
    const theirs = expectStatus(await presign(acme, other, { bytes: data.length }), 201);
    const asOwner = acme.with({ auth: room.tokens.pub });
    for (const r of [
      await getMedia(asOwner, theirs.media_id),
      await commit(asOwner, other, theirs.media_id, { sha256: sha256(data), bytes: data.length }),
      await getLink(asOwner, other, theirs.media_id),
    ]) {
      const b = expectStatus(r, 403, 'forbidden');
      assert.equal(b.error.details.rule, 'token-scope');
    }
    // Its own room: the default policy lets a pub token read and upload (publishers-upload-to-their-room),
    // and an audience token only read.
    const own = expectStatus(await getMedia(asOwner, mine.media_id), 200);
    assert.equal(own.media_id, mine.media_id);
    const asAudience = acme.with({ auth: room.tokens.sub });
    expectStatus(await getMedia(asAudience, mine.media_id), 200);
    const refused = expectStatus(await presign(asAudience, room, { bytes: 10 }), 403, 'forbidden');
    assert.equal(refused.error.details.rule, 'default-deny');
    expectStatus(await presign(asOwner, room, { bytes: 10 }), 201);
    // The internal routes take no token at all.
    expectStatus(await asOwner.post('/internal/media/presign', { meta: acme.meta('circle'), room_id: room.room_id, mime: 'video/mp4', bytes: 1 }), 401, 'unauthenticated');
  });

  test('idempotency: presign again with the same op_id → the same status and body (same media_id and URL), nothing appended', async () => {
    const meta = acme.meta('circle');
    const args = { room_id: room.room_id, mime: 'video/webm', bytes: 777, enc_meta: 'opaque' };
    const first = await acme.post('/v1/media', { meta, ...args });
    const p = expectStatus(first, 201);
    const head = await acme.headSeq();
    const again = await acme.post('/v1/media', { meta: { ...meta, correlation_id: uniqueId('corr') }, ...args });
    expectStatus(again, 201);
    assert.equal(again.text, first.text, 'byte-identical body');
    assert.equal(again.body.media_id, p.media_id);
    assert.equal(again.body.upload.url, p.upload.url);
    assert.equal(await acme.headSeq(), head, 'nothing appended');
    // The same op_id with another request is a conflict.
    expectStatus(await acme.post('/v1/media', { meta, ...args, bytes: 778 }), 409, 'op_conflict');
    // The repeated answer's URL is the one upload: it takes the bytes once.
    const data = crypto.randomBytes(777);
    expectStatus(await fetchPut(again.body.upload.url, data), 200);
    const c = { meta: acme.meta('circle'), sha256: sha256(data), bytes: 777 };
    const ok = await acme.post(`/v1/media/${p.media_id}/commit`, c);
    expectStatus(ok, 200);
    const h2 = await acme.headSeq();
    const okAgain = await acme.post(`/v1/media/${p.media_id}/commit`, { ...c, meta: { ...c.meta, correlation_id: uniqueId('corr') } });
    expectStatus(okAgain, 200);
    assert.equal(okAgain.text, ok.text);
    assert.equal(await acme.headSeq(), h2);
  });

  describe('over MCP', () => {
    let mcp;
    before(async () => {
      mcp = await connectMcp(node, { apiKey: node.apiKeys.acme });
    });
    after(() => mcp?.client.close());
    const meta = (over = {}) => ({ ...acme.meta('circle'), client_id: 'mcp-agent', ...over });

    test('tools/list has media.v1.presign, commit, get_link and get with schemas', async () => {
      const { tools } = await mcp.client.listTools();
      const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
      for (const [name, required] of [
        ['media.v1.presign', ['meta', 'room_id', 'mime', 'bytes']],
        ['media.v1.commit', ['meta', 'media_id', 'sha256', 'bytes']],
        ['media.v1.get_link', ['media_id']],
        ['media.v1.get', ['media_id']],
      ]) {
        const t = byName[name];
        assert.ok(t, `${name} is listed`);
        assert.ok(t.description, `${name} has a description`);
        for (const r of required) assert.ok(t.inputSchema.required?.includes(r), `${name} requires ${r}`);
        assert.ok(t.inputSchema.properties.meta, `${name} takes meta`);
        assert.equal(t.outputSchema?.type, 'object', `${name} has an outputSchema`);
      }
      assert.deepEqual(mcp.problems, []);
    });

    test('presign → PUT → commit → get_link → download through MCP; media.v1.get is GET /v1/media/{id}', async () => {
      const plaintext = crypto.randomBytes(300 * KiB + 3);
      const { ciphertext, encMeta } = encrypt(plaintext, kek, 'image/jpeg');
      const p = await callTool(mcp.client, 'media.v1.presign', {
        meta: meta(), room_id: room.room_id, mime: 'image/jpeg', bytes: ciphertext.length, enc_meta: encMeta, retention: 'archival',
      });
      assert.equal(p.isError, false, p.content[0].text);
      const ps = p.structuredContent;
      assert.match(ps.media_id, /^md_/);
      assert.equal(ps.retention, 'archival');
      expectStatus(await fetchPut(ps.upload.url, ciphertext), 200);

      const c = await callTool(mcp.client, 'media.v1.commit', { meta: meta(), media_id: ps.media_id, sha256: sha256(ciphertext), bytes: ciphertext.length });
      assert.equal(c.isError, false, c.content[0].text);
      near(c.structuredContent.retain_until, Date.now() + 365 * DAY_MS);

      const l = await callTool(mcp.client, 'media.v1.get_link', { media_id: ps.media_id, dl: true });
      assert.equal(l.isError, false, l.content[0].text);
      const d = await blob(l.structuredContent.url);
      assert.equal(d.status, 200);
      assert.match(d.headers['content-disposition'], /^attachment/);
      assert.ok(d.raw.equals(ciphertext));

      const g = await callTool(mcp.client, 'media.v1.get', { media_id: ps.media_id });
      assert.equal(g.isError, false);
      assert.deepEqual(g.structuredContent, expectStatus(await getMedia(acme, ps.media_id), 200));
      assert.ok(decrypt(d.raw, g.structuredContent.enc_meta, kek).equals(plaintext));

      // Errors are tool results with isError.
      const again = await callTool(mcp.client, 'media.v1.commit', { meta: meta(), media_id: ps.media_id, sha256: sha256(ciphertext), bytes: ciphertext.length });
      assert.equal(again.isError, true);
      assert.equal(again.errorDocument.error.code, 'already_committed');
      const fresh = await callTool(mcp.client, 'media.v1.presign', { meta: meta(), room_id: room.room_id, mime: 'image/jpeg', bytes: 10 });
      const nc = await callTool(mcp.client, 'media.v1.get_link', { media_id: fresh.structuredContent.media_id });
      assert.equal(nc.isError, true);
      assert.equal(nc.errorDocument.error.code, 'not_committed');
      assert.deepEqual(mcp.problems, []);
    });
  });
});

describe('media limits (a node with media.max_object_bytes 4096, media.link_ttl_s 10)', () => {
  let node, acme, room;
  before(async () => {
    node = await OmnicastNode.start({ name: 'media-limits', options: { 'media.max_object_bytes': 4096, 'media.link_ttl_s': 10 } });
    acme = new Api(node, { tenant: 'acme', user: 'alice', device: 'dev-alice-limits' });
    room = await prepared(acme.with({ device: uniqueId('dev') }), 'party');
  });
  after(() => node?.stop());

  test('presign of more than media.max_object_bytes → 413 payload_too_large with the limit; exactly the limit is fine', async () => {
    const b = expectStatus(await presign(acme, room, { bytes: 4097 }), 413, 'payload_too_large');
    assert.equal(b.error.details?.limit, 4096);
    assert.match(b.error.message, /max_object_bytes/);
    expectStatus(await presign(acme, room, { bytes: 4096 }), 201);
    expectStatus(await acme.post('/internal/media/presign', { meta: acme.meta('party'), room_id: room.room_id, mime: 'video/mp4', bytes: 1e9 }), 413, 'payload_too_large');
  });

  test('media.size_limits: a smaller limit for a mime prefix or a session type; the smallest that applies wins', async () => {
    const limited = await OmnicastNode.start({ name: 'media-size-limits', options: { 'media.size_limits': 'image/=500,realtime=2000' } });
    try {
      const api = new Api(limited, { tenant: 'acme', user: 'alice', device: 'dev-size' });
      const r = await prepared(api.with({ device: uniqueId('dev') }), 'party');
      const b = expectStatus(await presign(api, r, { bytes: 501, mime: 'image/png' }), 413, 'payload_too_large');
      assert.equal(b.error.details.limit, 500);
      assert.match(b.error.message, /size_limits image\//);
      expectStatus(await presign(api, r, { bytes: 500, mime: 'image/png' }), 201);
      expectStatus(await presign(api, r, { bytes: 1500, mime: 'video/mp4' }), 201);
      const rt = expectStatus(await presign(api, r, { bytes: 2001, mime: 'video/mp4' }), 413, 'payload_too_large');
      assert.equal(rt.error.details.limit, 2000);
    } finally {
      await limited.stop();
    }
  });

  // An upload URL lives media.upload_ttl_s, at least 60 s: its link_expired is not waited for
  // here (an altered exp is link_invalid, above). A download link lives media.link_ttl_s (here 10 s).
  test('a download link expires after media.link_ttl_s → 403 link_expired (GET and HEAD)', async () => {
    const { url, link, data } = await committed(acme, room, 4000);
    assert.equal(link.ttl_s, 10);
    const ok = await blob(url);
    assert.equal(ok.status, 200);
    assert.ok(ok.raw.equals(data));
    const wait = Date.parse(link.expires_at) - Date.now() + 1200;
    assert.ok(wait <= 12000, `expires_at ${link.expires_at} is about 10 s away`);
    await sleep(Math.max(0, wait));
    expectStatus(await blob(url), 403, 'link_expired');
    const head = await blob(url, { method: 'HEAD' });
    assert.equal(head.status, 403);
    // An expired link with an altered exp is not an expired link: it is not the node's.
    expectStatus(await blob(withParam(url, 'exp', String(Math.floor(Date.now() / 1000) + 100))), 403, 'link_invalid');
    // A new link works again.
    const fresh = expectStatus(await getLink(acme, room, new URL(url).pathname.split('/').pop()), 200);
    assert.equal((await blob(fresh.url)).status, 200);
  });
});

describe('media quota (a node with media.tenant_quota_bytes 10000)', () => {
  let node, acme, globex, room, groom;
  before(async () => {
    node = await OmnicastNode.start({ name: 'media-quota', options: { 'media.tenant_quota_bytes': 10000 } });
    acme = new Api(node, { tenant: 'acme', user: 'alice', device: 'dev-alice-quota' });
    globex = new Api(node, { tenant: 'globex', user: 'gina', device: 'dev-gina-quota' });
    room = await prepared(acme.with({ device: uniqueId('dev') }), 'circle');
    groom = await prepared(globex.with({ device: uniqueId('dev') }), 'circle');
  });
  after(() => node?.stop());

  test('a tenant over its media bytes → 429 quota_exceeded media_bytes_per_tenant with Retry-After; other tenants are not affected; a rejected upload frees its bytes', async () => {
    const data = crypto.randomBytes(6000);
    const first = expectStatus(await presign(acme, room, { bytes: data.length }), 201);
    const r = await presign(acme, room, { bytes: 5000 });
    const b = expectStatus(r, 429, 'quota_exceeded');
    assert.equal(b.error.details.quota, 'media_bytes_per_tenant');
    assert.equal(b.error.details.limit, 10000);
    assert.ok(Number(r.headers['retry-after']) >= 0, 'Retry-After');
    expectStatus(await presign(acme, room, { bytes: 4000 }), 201); // 6000 + 4000 = the quota
    expectStatus(await presign(acme, room, { bytes: 1 }), 429, 'quota_exceeded');
    expectStatus(await presign(globex, groom, { bytes: 6000 }), 201);

    // The first upload is rejected at its commit: its bytes no longer count.
    expectStatus(await fetchPut(first.upload.url, data), 200);
    expectStatus(await commit(acme, room, first.media_id, { sha256: sha256(Buffer.from('x')), bytes: data.length }), 409, 'upload_rejected');
    expectStatus(await presign(acme, room, { bytes: 5000 }), 201);
    expectStatus(await presign(acme, room, { bytes: 1001 }), 429, 'quota_exceeded');
    const denied = node.dump().filter((x) => x.kind === 'quota.denied' && x.payload.quota === 'media_bytes_per_tenant');
    assert.equal(denied.length, 3, 'each refusal is audited (quota.denied)');
    assert.deepEqual(
      { actor: denied[0].actor, limit: denied[0].payload.limit, action: denied[0].payload.action, subject: denied[0].payload.subject },
      { actor: 'tenant:acme', limit: 10000, action: 'media.presign', subject: room.room_id },
    );
  });
});
