// Credentials and meta on every route: missing or unknown credentials, bad and expired tokens,
// the tenant boundary, every meta rule of docs/api.md, bodies that are not JSON objects, limits.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OmnicastNode, waitFor } from './lib/node.mjs';
import { Api, expectStatus, prepared, uniqueId } from './lib/http.mjs';
import { expiredCopy, forgedCopy } from './lib/tokens.mjs';

describe('credentials and meta', () => {
  let node, acme, globex, s; // s: a circle session of acme, prepared
  before(async () => {
    node = await OmnicastNode.start({ name: 'auth-meta' });
    acme = new Api(node, { tenant: 'acme', user: 'alice', device: 'dev-alice-1' });
    globex = new Api(node, { tenant: 'globex', user: 'gus', device: 'dev-gus' });
    s = await prepared(acme, 'circle');
  });
  after(() => node?.stop());

  // Every state-changing route with a body that would succeed (or fail only for state reasons).
  const routes = () => [
    { name: 'POST /internal/stream/prepare', path: '/internal/stream/prepare', body: (m) => ({ meta: m, mode: 'circle' }) },
    { name: 'POST /internal/stream/go_live', path: '/internal/stream/go_live', body: (m) => ({ meta: m, session_id: s.session_id }) },
    { name: 'POST /internal/stream/end', path: '/internal/stream/end', body: (m) => ({ meta: m, session_id: s.session_id }) },
    { name: 'POST /internal/stream/tokens/refresh', path: '/internal/stream/tokens/refresh', body: (m) => ({ meta: m, session_id: s.session_id }) },
    { name: 'POST /internal/stream/snapshot', path: '/internal/stream/snapshot', body: (m) => ({ meta: m, session_id: s.session_id }) },
    { name: 'POST /v1/streams', path: '/v1/streams', body: (m) => ({ meta: m, mode: 'circle' }) },
    { name: 'POST /v1/streams/{id}/go_live', path: `/v1/streams/${s.session_id}/go_live`, body: (m) => ({ meta: m }), token: true },
    { name: 'POST /v1/streams/{id}/end', path: `/v1/streams/${s.session_id}/end`, body: (m) => ({ meta: m }), token: true },
    { name: 'POST /v1/streams/{id}/tokens/refresh', path: `/v1/streams/${s.session_id}/tokens/refresh`, body: (m) => ({ meta: m }), token: true },
    { name: 'POST /v1/streams/{id}/snapshot', path: `/v1/streams/${s.session_id}/snapshot`, body: (m) => ({ meta: m }), token: true },
    { name: 'POST /v1/streams/{id}/consent', path: `/v1/streams/${s.session_id}/consent`, body: (m) => ({ meta: m, consent: true }), token: true },
    { name: 'POST /v1/rooms/{id}/join', path: `/v1/rooms/${s.room_id}/join`, body: (m) => ({ meta: m }), token: true },
    { name: 'POST /v1/rooms/{id}/leave', path: `/v1/rooms/${s.room_id}/leave`, body: (m) => ({ meta: m }), token: true },
    { name: 'POST /v1/rooms/{id}/next', path: `/v1/rooms/${s.room_id}/next`, body: (m) => ({ meta: m }), token: true },
  ];
  const reads = () => [
    { name: 'GET /v1/streams/{id}', path: `/v1/streams/${s.session_id}` },
    { name: 'GET /v1/rooms/{id}', path: `/v1/rooms/${s.room_id}` },
  ];

  describe('401 unauthenticated / token_expired on every route', () => {
    test('no credentials', async () => {
      for (const r of routes()) {
        const res = await acme.post(r.path, r.body(acme.meta('circle')), { auth: null });
        expectStatus(res, 401, 'unauthenticated');
      }
      for (const r of reads()) expectStatus(await acme.get(r.path, { auth: null }), 401, 'unauthenticated');
    });

    test('an unknown API key', async () => {
      const bogus = 'ock_' + 'A'.repeat(52);
      for (const r of routes()) expectStatus(await acme.post(r.path, r.body(acme.meta('circle')), { auth: bogus }), 401, 'unauthenticated');
      for (const r of reads()) expectStatus(await acme.get(r.path, { auth: bogus }), 401, 'unauthenticated');
    });

    test('a malformed Authorization header', async () => {
      for (const header of ['Basic YWxpY2U6c2VjcmV0', 'Bearer', 'ock_not-bearer']) {
        const res = await acme.post('/v1/streams', { meta: acme.meta('circle'), mode: 'circle' }, { auth: null, headers: { Authorization: header } });
        expectStatus(res, 401, 'unauthenticated');
      }
    });

    test('a token with a bad signature', async () => {
      const forged = await forgedCopy(s.tokens.pub);
      for (const r of routes().filter((x) => x.token))
        expectStatus(await acme.post(r.path, r.body(acme.meta('circle')), { auth: forged }), 401, 'unauthenticated');
      for (const r of reads()) expectStatus(await acme.get(r.path, { auth: forged }), 401, 'unauthenticated');
    });

    test('an expired token (signed with the node’s secret, exp in the past)', async () => {
      const expired = await expiredCopy(node.tokenSecret(), s.tokens.pub);
      for (const r of routes().filter((x) => x.token))
        expectStatus(await acme.post(r.path, r.body(acme.meta('circle')), { auth: expired }), 401, 'token_expired');
      for (const r of reads()) expectStatus(await acme.get(r.path, { auth: expired }), 401, 'token_expired');
    });

    test('API-key-only routes refuse tokens', async () => {
      for (const r of routes().filter((x) => !x.token)) {
        const res = await acme.post(r.path, r.body(acme.meta('circle')), { auth: s.tokens.pub });
        assert.ok([401, 403].includes(res.status), `${r.name} with a token: ${res.status} ${res.text}`);
      }
    });
  });

  describe('the tenant boundary', () => {
    test('meta.scope.tenant that is not the API key’s → 403 tenant_mismatch on every route', async () => {
      for (const r of routes()) {
        const res = await acme.post(r.path, r.body(acme.meta('circle', { scope: { tenant: 'globex' } })));
        expectStatus(res, 403, 'tenant_mismatch');
      }
    });

    test('meta.scope.tenant that is not the token’s → 403 tenant_mismatch', async () => {
      const res = await acme.post(`/v1/streams/${s.session_id}/tokens/refresh`, { meta: acme.meta('circle', { scope: { tenant: 'globex' } }) }, { auth: s.tokens.pub });
      expectStatus(res, 403, 'tenant_mismatch');
    });

    test('another tenant’s session and room are not found', async () => {
      // Every route that names acme's session or room, called with globex's key and meta.
      for (const r of routes().filter((x) => !x.path.endsWith('/prepare') && x.path !== '/v1/streams')) {
        const res = await globex.post(r.path, r.body(globex.meta('circle')));
        expectStatus(res, 404, 'not_found');
      }
      for (const r of reads()) expectStatus(await globex.get(r.path), 404, 'not_found');
    });

    test('a token of one session cannot act on another session of the same tenant', async () => {
      const other = await prepared(acme.with({ device: uniqueId('dev') }), 'circle');
      const asOwnerOfS = acme.with({ auth: s.tokens.pub });
      const res = await asOwnerOfS.goLive(other);
      assert.ok([403, 404].includes(res.status), `${res.status} ${res.text}`);
      if (res.status === 403) expectStatus(res, 403, 'forbidden');
      const g = await asOwnerOfS.getSession(other.session_id);
      assert.ok([403, 404].includes(g.status), `${g.status} ${g.text}`);
    });
  });

  describe('meta', () => {
    const fields = ['version', 'client_id', 'op_id', 'correlation_id', 'session_type', 'mode', 'scope'];

    test('each required field missing → 400 invalid_meta naming it (every route)', async () => {
      for (const r of routes()) {
        for (const f of fields) {
          const meta = acme.meta('circle');
          delete meta[f];
          const b = expectStatus(await acme.post(r.path, r.body(meta)), 400, 'invalid_meta');
          assert.match(b.error.message, new RegExp(`meta\\.${f}`), `${r.name} without meta.${f}: ${b.error.message}`);
        }
        const meta = acme.meta('circle');
        delete meta.scope.tenant;
        const b = expectStatus(await acme.post(r.path, r.body(meta)), 400, 'invalid_meta');
        assert.match(b.error.message, /meta\.scope\.tenant/);
        const none = await acme.post(r.path, { ...r.body(undefined), meta: undefined });
        assert.match(expectStatus(none, 400, 'invalid_meta').error.message, /meta/);
      }
    });

    test('malformed fields → 400 invalid_meta naming them', async () => {
      const cases = [
        [{ version: 'v2' }, 'meta.version'],
        [{ version: 1 }, 'meta.version'],
        [{ client_id: 'has space' }, 'meta.client_id'],
        [{ client_id: '' }, 'meta.client_id'],
        [{ client_id: 'x'.repeat(129) }, 'meta.client_id'],
        [{ op_id: 'op/1' }, 'meta.op_id'],
        [{ op_id: 'op@1' }, 'meta.op_id'],
        [{ correlation_id: 'c#1' }, 'meta.correlation_id'],
        [{ session_type: 'vod' }, 'meta.session_type'],
        [{ mode: 'solo' }, 'meta.mode'],
        [{ scope: 'acme' }, 'meta.scope'],
      ];
      for (const [over, field] of cases) {
        const meta = { ...acme.meta('circle'), ...over };
        const b = expectStatus(await acme.post('/v1/streams', { meta, mode: 'circle' }), 400, 'invalid_meta');
        assert.ok(b.error.message.includes(field), `${JSON.stringify(over)}: ${b.error.message}`);
      }
      // client_id may contain '@'; op_id may not.
      expectStatus(await acme.with({ device: uniqueId('dev') }).prepare('duo', {}, { client_id: 'svc@eu-1:a.b_c-d' }), 201);
    });

    test('session_type that does not fit the mode → 400 invalid_meta naming meta.session_type', async () => {
      for (const [mode, st] of [['stage', 'realtime'], ['duo', 'broadcast'], ['circle', 'broadcast']]) {
        const b = expectStatus(await acme.prepare(mode, {}, { session_type: st }), 400, 'invalid_meta');
        assert.match(b.error.message, /meta\.session_type/);
        assert.ok(b.error.message.includes(mode), b.error.message);
      }
      const b = expectStatus(await acme.goLive(s, {}, { session_type: 'broadcast' }), 400, 'invalid_meta');
      assert.match(b.error.message, /meta\.session_type/);
    });

    test('meta.correlation_id is echoed in X-Correlation-Id and in errors', async () => {
      const ok = await acme.prepare('duo', {}, { correlation_id: 'corr-echo-1', scope: { device: uniqueId('dev') } });
      expectStatus(ok, 201);
      assert.equal(ok.headers['x-correlation-id'], 'corr-echo-1');
      const bad = await acme.goLive({ ...s, mode: 'duo' }, {}, { correlation_id: 'corr-echo-2' });
      expectStatus(bad, 409, 'mode_mismatch');
      assert.equal(bad.headers['x-correlation-id'], 'corr-echo-2');
      assert.equal(bad.body.error.correlation_id, 'corr-echo-2');
    });
  });

  describe('bodies', () => {
    test('not JSON, or not a JSON object → 400 invalid_json (every route)', async () => {
      for (const r of routes()) {
        for (const body of ['{"meta":', 'not json', '[1,2]', '"text"', '42', 'null', '']) {
          const res = await acme.post(r.path, body);
          expectStatus(res, 400, 'invalid_json');
        }
      }
    });

    test('a body over http.body_limit → 413 payload_too_large', async () => {
      const big = JSON.stringify({ meta: acme.meta('circle'), mode: 'circle', title: 'x'.repeat(1100000) });
      const res = await acme.post('/v1/streams', big);
      expectStatus(res, 413, 'payload_too_large');
    });

    test('a header block over http.header_limit → 431 headers_too_large', async () => {
      const res = await acme.get(`/v1/streams/${s.session_id}`, { headers: { 'X-Padding': 'p'.repeat(20000) } });
      expectStatus(res, 431, 'headers_too_large');
    });
  });

  test('a refused request changes nothing; only a tenant breach leaves an audit record', async () => {
    const before = await acme.headSeq();
    await acme.post('/v1/streams', 'not json');
    await acme.post('/v1/streams', { meta: acme.meta('circle', { version: 'v9' }), mode: 'circle' });
    await acme.post('/v1/streams', { meta: acme.meta('circle'), mode: 'circle' }, { auth: null });
    await acme.post('/v1/streams', { meta: acme.meta('circle', { scope: { tenant: 'globex' } }), mode: 'circle' });
    await globex.goLive(s);
    // The audit record is appended after the refusal is answered: wait for it.
    const after = await waitFor('the auth.denied record', async () => ((await acme.headSeq()) > before ? acme.headSeq() : 0));
    const added = node.dump('--from-seq', String(before + 1));
    assert.deepEqual(
      added.map((r) => [r.kind, r.payload.reason, r.tenant]),
      [['auth.denied', 'tenant_mismatch', 'acme']],
      `only the tenant_mismatch refusal is recorded: ${JSON.stringify(added)}`,
    );
    assert.equal(after, before + 1);
  });
});
