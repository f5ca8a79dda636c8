// A restart in the middle of a session: prepare and go_live, SIGTERM (clean exit 0), start again
// on the same data dir: the session is still publishing, its room and consents are back, end
// works, the earlier op_ids replay their answers, tokens issued before still verify, and the ledger
// verifies.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OmnicastNode } from './lib/node.mjs';
import { Api, expectStatus, uniqueId } from './lib/http.mjs';
import { verifyToken } from './lib/tokens.mjs';
import { connectWs } from './lib/ws.mjs';

describe('restart in the middle of a session', () => {
  let node, acme;
  before(async () => {
    node = await OmnicastNode.start({ name: 'restart' });
    acme = new Api(node, { tenant: 'acme', user: 'alice', device: uniqueId('dev') });
  });
  after(() => node?.stop());

  test('the session survives a SIGTERM restart; end works; op_ids replay', async () => {
    const prepareBody = { meta: acme.meta('circle'), mode: 'circle', title: 'survivor' };
    const p = await acme.post('/v1/streams', prepareBody);
    const s = expectStatus(p, 201);
    const join = { meta: acme.meta('circle'), participant: 'bob', device: 'dev-bob', consent: true };
    const j = await acme.post(`/v1/rooms/${s.room_id}/join`, join);
    expectStatus(j, 200);
    const ownerJoin = { meta: acme.meta('circle'), participant: 'alice', device: acme.device, consent: true };
    expectStatus(await acme.post(`/v1/rooms/${s.room_id}/join`, ownerJoin), 200);
    const goLiveBody = { meta: acme.meta('circle'), recording: true };
    const g = await acme.post(`/v1/streams/${s.session_id}/go_live`, goLiveBody);
    expectStatus(g, 200);
    const beforeSession = expectStatus(await acme.getSession(s.session_id), 200);
    const beforeRoom = expectStatus(await acme.getRoom(s.room_id), 200);
    const head = await acme.headSeq();

    await node.restart(); // asserts exit code 0 on SIGTERM

    assert.equal(await acme.headSeq(), head, 'the restart appended nothing');
    const afterSession = expectStatus(await acme.getSession(s.session_id), 200);
    assert.deepEqual(afterSession, beforeSession, 'the session is folded back exactly');
    assert.equal(afterSession.state, 'publishing');
    assert.equal(afterSession.recording, true);
    assert.deepEqual(expectStatus(await acme.getRoom(s.room_id), 200), beforeRoom);

    // The same HS256 key: tokens issued before the restart still verify and still work.
    await verifyToken(node, s.tokens.pub);
    const ws = await connectWs(node, { token: s.tokens.pub });
    assert.equal((await ws.hello()).session_id, s.session_id);
    await ws.close();

    // The Presence Lock is back too.
    expectStatus(await acme.prepare('duo'), 409, 'gate_required');

    // Earlier op_ids replay their first answers, byte for byte, appending nothing.
    for (const [path, body, first] of [
      ['/v1/streams', prepareBody, p],
      [`/v1/rooms/${s.room_id}/join`, join, j],
      [`/v1/streams/${s.session_id}/go_live`, goLiveBody, g],
    ]) {
      const again = await acme.post(path, { ...body, meta: { ...body.meta, correlation_id: uniqueId('corr') } });
      assert.equal(again.status, first.status, path);
      assert.equal(again.text, first.text, `${path}: byte-identical after the restart`);
    }
    assert.equal(await acme.headSeq(), head);

    const e = expectStatus(await acme.end(s), 200);
    assert.equal(e.state, 'archived');
    const ended = expectStatus(await acme.getSession(s.session_id), 200);
    assert.equal(ended.state, 'archived');
    assert.equal(ended.recording, false);
    expectStatus(await acme.prepare('duo'), 201);

    // The node's ledger verifies, and a second restart folds to the same state.
    const v = node.replay('verify');
    assert.equal(v.status, 0, v.stderr);
    await node.restart();
    assert.deepEqual(expectStatus(await acme.getSession(s.session_id), 200), ended);
    const audit = node.replay('audit', 'consent', '--session', s.session_id, '--json');
    assert.equal(audit.status, 0, audit.stderr);
    assert.equal(JSON.parse(audit.stdout).ok, true);
  });
});
