// stream@v1 over REST: prepare → go_live → end on the public and internal routes, tokens, snapshot,
// the Presence Lock gate, per-tenant live quota and per-client rate limit, health and metrics.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OmnicastNode } from './lib/node.mjs';
import { Api, expectStatus, prepared, uniqueId } from './lib/http.mjs';
import { assertTokenClaims, verifyToken } from './lib/tokens.mjs';

const MODES = ['party', 'duo', 'circle', 'roulette', 'stage'];

function near(isoTime, { withinMs = 60000 } = {}) {
  const t = Date.parse(isoTime);
  assert.ok(Number.isFinite(t), `${isoTime} is a time`);
  assert.ok(Math.abs(Date.now() - t) < withinMs, `${isoTime} is now`);
}

describe('stream@v1 over REST', () => {
  let node, acme;
  before(async () => {
    node = await OmnicastNode.start({ name: 'rest-stream' });
    acme = new Api(node, { tenant: 'acme', user: 'alice', device: 'dev-alice-1' });
  });
  after(() => node?.stop());

  for (const mode of MODES) {
    test(`${mode}: prepare (201) answers the documented document with verifiable tokens`, async () => {
      const device = uniqueId('dev');
      const api = acme.with({ device });
      const r = await api.prepare(mode, { audience: 'members', title: `a ${mode}` });
      const s = expectStatus(r, 201);
      assert.equal(s.mode, mode);
      assert.equal(s.audience, 'members');
      assert.equal(s.state, 'prepared');
      assert.equal(s.owner, 'alice');
      assert.equal(s.ended_session_id, undefined);
      if (mode === 'stage') assert.equal(s.sfu_url, undefined, 'a stage has no SFU');
      else assert.match(s.sfu_url, /^wss?:\/\/.+\/v1\/ws$/);
      const pub = await assertTokenClaims(node, s.tokens.pub, {
        sub: 'alice', tid: 'acme', sid: s.session_id, rid: s.room_id, role: 'pub', mode, dev: device,
      });
      const sub = await assertTokenClaims(node, s.tokens.sub, {
        sub: 'audience', tid: 'acme', sid: s.session_id, rid: s.room_id, role: 'sub', mode,
      });
      assert.equal(s.tokens.expires_in, pub.exp - pub.iat, 'expires_in is the tokens’ lifetime');
      assert.equal(sub.exp - sub.iat, pub.exp - pub.iat);
      assert.notEqual(pub.jti, sub.jti);

      const g = expectStatus(await acme.getSession(s.session_id), 200);
      if (mode === 'stage') {
        // A stage also says where it plays; members-only: a signed, expiring URL.
        assert.equal(g.playback.type, 'll-hls');
        assert.match(g.playback.url, new RegExp(`/v1/stage/${s.session_id}/index\\.m3u8\\?exp=\\d+&sig=[A-Za-z0-9_-]+$`));
        assert.match(s.ingest.url, /^rtmp:\/\//);
      } else {
        assert.equal(g.playback, undefined);
      }
      assert.deepEqual(
        { ...g, prepared_at: undefined, playback: undefined },
        {
          session_id: s.session_id, tenant: 'acme', mode, audience: 'members', title: `a ${mode}`,
          owner: 'alice', device, room_id: s.room_id, state: 'prepared', live: false, recording: false,
          consented: [], prepared_at: undefined, live_since: null, ended_at: null, end_reason: null,
          retention: 'standard', replay_media_id: null, replay_playlist_media_id: null, replay_duration_s: 0,
          playback: undefined,
        },
      );
      near(g.prepared_at);

      const room = expectStatus(await acme.getRoom(s.room_id), 200);
      assert.equal(room.room_id, s.room_id);
      assert.equal(room.tenant, 'acme');
      assert.equal(room.mode, mode);
      assert.equal(room.state, 'open');
      const capacity = { duo: 2, roulette: 0, stage: 0 }[mode];
      if (capacity !== undefined) assert.equal(room.capacity, capacity);
    });
  }

  test('audience defaults to public and the title to empty', async () => {
    const s = await prepared(acme.with({ device: uniqueId('dev') }), 'duo');
    assert.equal(s.audience, 'public');
    const g = expectStatus(await acme.getSession(s.session_id), 200);
    assert.equal(g.title, '');
  });

  test('go_live → publishing with webrtc playback; a second go_live is an illegal transition', async () => {
    const s = await prepared(acme.with({ device: uniqueId('dev') }), 'circle');
    const r = expectStatus(await acme.goLive(s), 200);
    assert.deepEqual(
      { ok: r.ok, session_id: r.session_id, state: r.state, recording: r.recording, type: r.playback.type },
      { ok: true, session_id: s.session_id, state: 'publishing', recording: false, type: 'webrtc' },
    );
    assert.match(r.playback.url, /^wss?:\/\//);
    assert.ok(r.playback.url.includes(s.session_id), 'the playback URL names the session');
    const g = expectStatus(await acme.getSession(s.session_id), 200);
    assert.equal(g.state, 'publishing');
    assert.equal(g.live, false, 'live only once media arrives');
    const again = expectStatus(await acme.goLive(s), 409, 'illegal_transition');
    assert.match(again.error.message, /publishing/, 'the message names the state');
  });

  test('stage go_live answers ll-hls playback', async () => {
    const s = await prepared(acme.with({ device: uniqueId('dev') }), 'stage');
    const r = expectStatus(await acme.goLive(s), 200);
    assert.equal(r.playback.type, 'll-hls');
    assert.match(r.playback.url, new RegExp(`^https?://.+/v1/stage/${s.session_id}/index\\.m3u8$`));
    expectStatus(await acme.end(s), 200);
  });

  test('end archives the session and closes its room; ending again is refused', async () => {
    const s = await prepared(acme.with({ device: uniqueId('dev') }), 'duo');
    expectStatus(await acme.goLive(s), 200);
    const e = expectStatus(await acme.end(s), 200);
    assert.deepEqual(e, { ok: true, session_id: s.session_id, state: 'archived', replay_media_id: null });
    const g = expectStatus(await acme.getSession(s.session_id), 200);
    assert.equal(g.state, 'archived');
    assert.equal(g.end_reason, 'requested');
    near(g.ended_at);
    const room = expectStatus(await acme.getRoom(s.room_id), 200);
    assert.equal(room.state, 'closed');
    assert.deepEqual(room.members, []);
    expectStatus(await acme.end(s), 409, 'illegal_transition');
    expectStatus(await acme.goLive(s), 409, 'illegal_transition');
    expectStatus(await acme.refresh(s), 409, 'illegal_transition');
  });

  test('end with a reason records it; a prepared session can be ended', async () => {
    const s = await prepared(acme.with({ device: uniqueId('dev') }), 'party');
    expectStatus(await acme.end(s, { reason: 'host_left' }), 200);
    const g = expectStatus(await acme.getSession(s.session_id), 200);
    assert.equal(g.end_reason, 'host_left');
  });

  test('tokens/refresh: pub and sub for the owner by default; sub only with role sub; for any participant with the API key', async () => {
    const s = await prepared(acme.with({ device: uniqueId('dev') }), 'circle');
    const d = expectStatus(await acme.refresh(s), 200);
    await assertTokenClaims(node, d.tokens.pub, { sub: 'alice', role: 'pub', sid: s.session_id, rid: s.room_id, tid: 'acme' });
    assert.equal((await verifyToken(node, d.tokens.sub)).payload.role, 'sub');
    const b = expectStatus(await acme.refresh(s, { participant: 'bob', device: 'dev-bob', role: 'sub' }), 200);
    assert.equal(b.tokens.pub, undefined, 'role sub omits the pub token');
    await assertTokenClaims(node, b.tokens.sub, { sub: 'bob', role: 'sub', sid: s.session_id });
    const p = expectStatus(await acme.refresh(s, { participant: 'bob', device: 'dev-bob' }), 200);
    await assertTokenClaims(node, p.tokens.pub, { sub: 'bob', role: 'pub', dev: 'dev-bob' });
    expectStatus(await acme.refresh(s, { role: 'owner' }), 400, 'invalid_argument');
  });

  test('tokens/refresh with a token: for itself only', async () => {
    const s = await prepared(acme.with({ device: uniqueId('dev') }), 'circle');
    const asOwner = acme.with({ auth: s.tokens.pub });
    const d = expectStatus(await asOwner.refresh(s), 200);
    await assertTokenClaims(node, d.tokens.pub, { sub: 'alice', role: 'pub', sid: s.session_id });
    expectStatus(await asOwner.refresh(s, { participant: 'bob' }), 403, 'forbidden');
  });

  test('the owner’s pub token may go live and end; the audience token may not', async () => {
    const s = await prepared(acme.with({ device: uniqueId('dev') }), 'duo');
    const audience = acme.with({ auth: s.tokens.sub, user: 'audience' });
    expectStatus(await audience.goLive(s), 403, 'forbidden');
    const owner = acme.with({ auth: s.tokens.pub });
    expectStatus(await owner.goLive(s), 200);
    expectStatus(await audience.end(s), 403, 'forbidden');
    expectStatus(await owner.end(s), 200);
  });

  test('snapshot: no media source yet (public and internal routes)', async () => {
    const s = await prepared(acme.with({ device: uniqueId('dev') }), 'stage');
    expectStatus(await acme.goLive(s), 200);
    expectStatus(await acme.snapshot(s), 409, 'no_media_source');
    const r = await acme.post('/internal/stream/snapshot', { meta: acme.meta('stage'), session_id: s.session_id });
    expectStatus(r, 409, 'no_media_source');
    expectStatus(await acme.end(s), 200);
  });

  test('internal routes: prepare (200), go_live, tokens/refresh, end with session_id in the body', async () => {
    const api = acme.with({ device: uniqueId('dev') });
    const p = expectStatus(await api.post('/internal/stream/prepare', { meta: api.meta('circle'), mode: 'circle', title: 'internal' }), 200);
    assert.equal(p.state, 'prepared');
    await assertTokenClaims(node, p.tokens.pub, { sub: 'alice', sid: p.session_id, role: 'pub' });
    const g = expectStatus(await api.post('/internal/stream/go_live', { meta: api.meta('circle'), session_id: p.session_id }), 200);
    assert.equal(g.state, 'publishing');
    const t = expectStatus(
      await api.post('/internal/stream/tokens/refresh', { meta: api.meta('circle'), session_id: p.session_id, participant: 'bob', role: 'sub' }),
      200,
    );
    await assertTokenClaims(node, t.tokens.sub, { sub: 'bob', role: 'sub', sid: p.session_id });
    const e = expectStatus(await api.post('/internal/stream/end', { meta: api.meta('circle'), session_id: p.session_id }), 200);
    assert.equal(e.state, 'archived');
    const s = expectStatus(await api.getSession(p.session_id), 200);
    assert.equal(s.title, 'internal');
    assert.equal(s.state, 'archived');
  });

  test('internal routes: session_id missing → 400 invalid_argument naming it; unknown → 404', async () => {
    for (const op of ['go_live', 'end', 'tokens/refresh', 'snapshot']) {
      const r = await acme.post(`/internal/stream/${op}`, { meta: acme.meta('duo') });
      const b = expectStatus(r, 400, 'invalid_argument');
      assert.match(b.error.message, /session_id/);
      const u = await acme.post(`/internal/stream/${op}`, { meta: acme.meta('duo'), session_id: 'ss_01JDUNKNOWN0000000000000000' });
      expectStatus(u, 404, 'not_found');
    }
  });

  test('public routes: unknown session and room → 404', async () => {
    const ghost = { session_id: 'ss_01JDUNKNOWN0000000000000000', room_id: 'rm_01JDUNKNOWN0000000000000000', mode: 'duo' };
    expectStatus(await acme.getSession(ghost.session_id), 404, 'not_found');
    expectStatus(await acme.goLive(ghost), 404, 'not_found');
    expectStatus(await acme.end(ghost), 404, 'not_found');
    expectStatus(await acme.refresh(ghost), 404, 'not_found');
    expectStatus(await acme.snapshot(ghost), 404, 'not_found');
    expectStatus(await acme.consent(ghost, { consent: true }), 404, 'not_found');
    expectStatus(await acme.getRoom(ghost.room_id), 404, 'not_found');
    expectStatus(await acme.join(ghost), 404, 'not_found');
  });

  test('arguments: a bad audience, a long title, a non-boolean recording → 400 invalid_argument naming them', async () => {
    const api = acme.with({ device: uniqueId('dev') });
    let b = expectStatus(await api.prepare('duo', { audience: 'everyone' }), 400, 'invalid_argument');
    assert.match(b.error.message, /audience/);
    b = expectStatus(await api.prepare('duo', { title: 'x'.repeat(201) }), 400, 'invalid_argument');
    assert.match(b.error.message, /title/);
    b = expectStatus(await api.prepare('duo', { mode: 'circle' }), 400);
    assert.match(b.error.message, /mode/);
    const s = await prepared(api, 'duo');
    b = expectStatus(await api.goLive(s, { recording: 'yes' }), 400, 'invalid_argument');
    assert.match(b.error.message, /recording/);
  });

  test('meta.mode that is not the session’s → 409 mode_mismatch', async () => {
    const s = await prepared(acme.with({ device: uniqueId('dev') }), 'duo');
    expectStatus(await acme.goLive({ ...s, mode: 'circle' }), 409, 'mode_mismatch');
    expectStatus(await acme.goLive({ ...s, mode: 'stage' }), 409, 'mode_mismatch');
  });

  describe('Presence Lock', () => {
    test('prepare on a device with a live session → 409 gate_required naming it; confirm_end ends it first', async () => {
      const device = uniqueId('dev');
      const api = acme.with({ device });
      const first = await prepared(api, 'circle');
      // Prepared (not live) sessions do not hold the lock.
      const idle = await prepared(api, 'duo');
      expectStatus(await api.goLive(first), 200);

      const refused = expectStatus(await api.prepare('stage'), 409, 'gate_required');
      assert.equal(refused.error.details.live_session_id, first.session_id);
      // Going live elsewhere on the same device is refused the same way.
      const lockHeld = expectStatus(await api.goLive(idle), 409, 'gate_required');
      assert.equal(lockHeld.error.details.live_session_id, first.session_id);

      const second = expectStatus(await api.prepare('stage', { confirm_end: true }), 201);
      assert.equal(second.ended_session_id, first.session_id);
      const old = expectStatus(await api.getSession(first.session_id), 200);
      assert.equal(old.state, 'archived');
      assert.equal(old.end_reason, 'gate');
      // The lock is free again: the new session may go live.
      expectStatus(await api.goLive(second), 200);

      const records = node.dump();
      const ending = records.find((r) => r.actor === first.session_id && r.kind === 'stream.session.ending');
      const preparedRec = records.find((r) => r.actor === second.session_id && r.kind === 'stream.session.prepared');
      assert.ok(ending, 'the old session has stream.session.ending');
      assert.equal(ending.payload.reason, 'gate');
      assert.ok(preparedRec, 'the new session has stream.session.prepared');
      assert.ok(ending.seq < preparedRec.seq, `ending (seq ${ending.seq}) before prepared (seq ${preparedRec.seq})`);
      expectStatus(await api.end(second), 200);
      expectStatus(await api.end(idle), 200);
    });

    test('another device is not gated', async () => {
      const a = acme.with({ device: uniqueId('dev') });
      const s = await prepared(a, 'duo');
      expectStatus(await a.goLive(s), 200);
      const b = acme.with({ device: uniqueId('dev') });
      expectStatus(await b.prepare('duo'), 201);
      expectStatus(await a.end(s), 200);
    });

    test('prepare needs meta.scope.user and meta.scope.device', async () => {
      let b = expectStatus(await acme.prepare('duo', {}, { scope: { user: undefined } }), 400, 'invalid_meta');
      assert.match(b.error.message, /meta\.scope\.user/);
      b = expectStatus(await acme.prepare('duo', {}, { scope: { device: undefined } }), 400, 'invalid_meta');
      assert.match(b.error.message, /meta\.scope\.device/);
    });
  });

  test('GET /healthz and /metrics need no credentials', async () => {
    const h = expectStatus(await acme.get('/healthz', { auth: null }), 200);
    assert.equal(h.status, 'ok');
    assert.ok(h.ledger.head_seq > 0);
    const m = await acme.get('/metrics', { auth: null });
    assert.equal(m.status, 200);
    assert.match(m.text, /^omnicast_http_requests_total\{.*route="\/v1\/streams".*\} \d+/m);
    assert.match(m.text, /^omnicast_ledger_head_seq \d+/m);
  });

  test('a method a route does not serve → 405 with Allow; an unknown path → 404', async () => {
    const r = await acme.get('/internal/stream/prepare');
    expectStatus(r, 405, 'method_not_allowed');
    assert.match(r.headers.allow, /POST/);
    const d = await acme.call('DELETE', '/v1/streams');
    expectStatus(d, 405, 'method_not_allowed');
    expectStatus(await acme.get('/v1/nothing-here'), 404, 'not_found');
  });
});

describe('quotas (a node with quotas.live_sessions_per_tenant 1, quotas.requests_per_client_per_s 5)', () => {
  let node, acme, globex;
  before(async () => {
    node = await OmnicastNode.start({
      name: 'quota',
      options: { 'quotas.live_sessions_per_tenant': 1, 'quotas.requests_per_client_per_s': 5 },
    });
    // A fresh client id per request keeps these calls clear of the per-client rate limit.
    acme = new Api(node, { tenant: 'acme', clientId: () => uniqueId('cl') });
    globex = new Api(node, { tenant: 'globex', user: 'gina', device: 'dev-gina', clientId: () => uniqueId('cl') });
  });
  after(() => node?.stop());

  test('a second live session of a tenant → 429 quota_exceeded with Retry-After; other tenants are not affected', async () => {
    const a = await prepared(acme.with({ device: 'dev-q-1' }), 'duo');
    const b = await prepared(acme.with({ device: 'dev-q-2' }), 'circle');
    expectStatus(await acme.goLive(a), 200);
    const r = await acme.goLive(b);
    const body = expectStatus(r, 429, 'quota_exceeded');
    assert.equal(body.error.details.quota, 'live_sessions_per_tenant');
    assert.ok(Number(r.headers['retry-after']) >= 0);
    const g = await prepared(globex, 'duo');
    expectStatus(await globex.goLive(g), 200);
    // Ending the first frees the quota.
    expectStatus(await acme.end(a), 200);
    expectStatus(await acme.goLive(b), 200);
    expectStatus(await acme.end(b), 200);
    expectStatus(await globex.end(g), 200);
  });

  test('more than 5 requests per second (bursts of 10) from one client → 429 rate_limited with Retry-After; other clients go on', async () => {
    const s = await prepared(acme.with({ device: 'dev-q-3' }), 'duo');
    const burst = acme.with({ clientId: 'burst-client' });
    const answers = await Promise.all(Array.from({ length: 30 }, () => burst.refresh(s)));
    const limited = answers.filter((r) => r.status === 429);
    assert.ok(limited.length >= 1, `30 requests at once from one client: statuses ${answers.map((r) => r.status)}`);
    for (const r of answers) assert.ok(r.status === 200 || r.status === 429, `${r.status} ${r.text}`);
    for (const r of limited) {
      expectStatus(r, 429, 'rate_limited');
      assert.ok(Number(r.headers['retry-after']) >= 1, 'Retry-After is at least a second');
    }
    expectStatus(await acme.with({ clientId: 'calm-client' }).refresh(s), 200);
  });
});
