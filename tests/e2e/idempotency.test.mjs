// Idempotency by meta.op_id (docs/api.md "Idempotency"): a repeat gets the same status and a
// byte-identical body and appends nothing; the same op_id with another request is 409 op_conflict;
// both hold after a restart of the node.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OmnicastNode } from './lib/node.mjs';
import { Api, expectStatus, uniqueId } from './lib/http.mjs';

describe('idempotency', () => {
  let node, acme, globex;
  const recorded = []; // {name, path, body, status, text}: replayed again after the restart
  before(async () => {
    node = await OmnicastNode.start({ name: 'idempotency' });
    acme = new Api(node, { tenant: 'acme', user: 'alice', device: uniqueId('dev') });
    globex = new Api(node, { tenant: 'globex', user: 'gus', device: 'dev-gus' });
  });
  after(() => node?.stop());

  const withCorrelation = (body) => ({ ...body, meta: { ...body.meta, correlation_id: uniqueId('corr') } });

  // Sends `body` to `path`; then the same request again (another correlation_id): same status, same
  // bytes, nothing appended. Returns the first answer.
  async function once(name, path, body, status) {
    const first = await acme.post(path, body);
    expectStatus(first, status);
    const head = await acme.headSeq();
    const again = await acme.post(path, withCorrelation(body));
    assert.equal(again.status, first.status, `${name}: the repeat has the same status`);
    assert.equal(again.text, first.text, `${name}: the repeat has a byte-identical body`);
    assert.equal(await acme.headSeq(), head, `${name}: the repeat appended nothing`);
    recorded.push({ name, path, body, status: first.status, text: first.text });
    return first.body;
  }

  // The same op_id with a different request: 409 op_conflict, nothing appended.
  async function conflicts(name, path, body) {
    const head = await acme.headSeq();
    expectStatus(await acme.post(path, body), 409, 'op_conflict');
    assert.equal(await acme.headSeq(), head, `${name}: a conflict appends nothing`);
  }

  let s, prepareBody;
  test('prepare: a repeat answers the same 201 body; other arguments or meta → op_conflict', async () => {
    prepareBody = { meta: acme.meta('circle'), mode: 'circle', title: 'idempotent', audience: 'members' };
    s = await once('prepare', '/v1/streams', prepareBody, 201);
    await conflicts('prepare title', '/v1/streams', { ...prepareBody, title: 'another title' });
    await conflicts('prepare audience', '/v1/streams', { ...prepareBody, audience: 'public' });
    await conflicts('prepare client_id', '/v1/streams', { ...prepareBody, meta: { ...prepareBody.meta, client_id: 'other-client' } });
    await conflicts('prepare device', '/v1/streams', {
      ...prepareBody,
      meta: { ...prepareBody.meta, scope: { ...prepareBody.meta.scope, device: 'dev-other' } },
    });
    // The same op_id on another route is another request too.
    await conflicts('op reused by go_live', `/v1/streams/${s.session_id}/go_live`, { meta: { ...prepareBody.meta } });
  });

  test('op_ids are per tenant: globex may use the same op_id', async () => {
    const meta = { ...prepareBody.meta, scope: { tenant: 'globex', user: 'gus', device: 'dev-gus' } };
    const r = expectStatus(await globex.post('/v1/streams', { ...prepareBody, meta }), 201);
    assert.notEqual(r.session_id, s.session_id);
  });

  test('room join and consent repeat their answers', async () => {
    const join = { meta: acme.meta('circle'), participant: 'bob', device: 'dev-bob', consent: true };
    await once('join', `/v1/rooms/${s.room_id}/join`, join, 200);
    await conflicts('join as carol', `/v1/rooms/${s.room_id}/join`, { ...join, participant: 'carol' });
    const consent = { meta: acme.meta('circle'), participant: 'alice', consent: true };
    await once('consent', `/v1/streams/${s.session_id}/consent`, consent, 200);
    await conflicts('consent revoked', `/v1/streams/${s.session_id}/consent`, { ...consent, consent: false });
  });

  test('tokens/refresh repeats the same tokens', async () => {
    const body = { meta: acme.meta('circle'), participant: 'bob', role: 'sub' };
    const t = await once('refresh', `/v1/streams/${s.session_id}/tokens/refresh`, body, 200);
    assert.ok(t.tokens.sub);
  });

  test('go_live and end repeat their answers, even after the state moved on', async () => {
    const goLive = { meta: acme.meta('circle'), recording: false };
    await once('go_live', `/v1/streams/${s.session_id}/go_live`, goLive, 200);
    await conflicts('go_live recording', `/v1/streams/${s.session_id}/go_live`, { ...goLive, recording: true });
    const end = { meta: acme.meta('circle'), reason: 'requested' };
    await once('end', `/v1/streams/${s.session_id}/end`, end, 200);
    // go_live's op_id still answers go_live's first answer, though the session is archived now.
    const late = await acme.post(`/v1/streams/${s.session_id}/go_live`, withCorrelation(goLive));
    assert.equal(late.status, 200);
    assert.equal(late.text, recorded.find((r) => r.name === 'go_live').text);
    // A new op_id is a new request, refused by the state.
    expectStatus(await acme.post(`/v1/streams/${s.session_id}/go_live`, { meta: acme.meta('circle') }), 409, 'illegal_transition');
  });

  test('internal routes share the idempotency of the operation', async () => {
    const api = acme.with({ device: uniqueId('dev') });
    const body = { meta: api.meta('duo'), mode: 'duo' };
    const p = await once('internal prepare', '/internal/stream/prepare', body, 200);
    const gl = { meta: api.meta('duo'), session_id: p.session_id };
    await once('internal go_live', '/internal/stream/go_live', gl, 200);
    await conflicts('internal go_live other session', '/internal/stream/go_live', { ...gl, session_id: s.session_id });
    await once('internal end', '/internal/stream/end', { meta: api.meta('duo'), session_id: p.session_id }, 200);
  });

  test('after a restart: the same answers, the same conflicts, nothing appended', async () => {
    const head = await acme.headSeq();
    await node.restart();
    assert.equal(await acme.headSeq(), head, 'the restarted node has the same head');
    for (const r of recorded) {
      const again = await acme.post(r.path, withCorrelation(r.body));
      assert.equal(again.status, r.status, `${r.name} after the restart: ${again.text}`);
      assert.equal(again.text, r.text, `${r.name} after the restart: byte-identical body`);
    }
    await conflicts('prepare title after restart', '/v1/streams', { ...prepareBody, title: 'changed after restart' });
    assert.equal(await acme.headSeq(), head, 'no repeat appended anything');
  });
});
