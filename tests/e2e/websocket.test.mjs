// The participant WebSocket /v1/ws (package `ws`): the upgrade's token check, hello, subscriptions
// that deliver committed events, room operations and consent over the socket, scope limits.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OmnicastNode } from './lib/node.mjs';
import { Api, expectStatus, prepared, uniqueId } from './lib/http.mjs';
import { connectWs } from './lib/ws.mjs';
import { decodeJwt, expiredCopy, forgedCopy } from './lib/tokens.mjs';

describe('WebSocket /v1/ws', () => {
  let node, acme, s;
  const open = [];
  before(async () => {
    node = await OmnicastNode.start({ name: 'websocket', options: { 'quotas.circle_cap': 8 } });
    acme = new Api(node, { tenant: 'acme', user: 'alice', device: uniqueId('dev') });
    s = await prepared(acme, 'circle');
  });
  after(async () => {
    await Promise.all(open.map((c) => c.close()));
    await node?.stop();
  });
  const connect = async (opts) => {
    const c = await connectWs(node, opts);
    open.push(c);
    return c;
  };

  async function refused(opts, code) {
    await assert.rejects(connectWs(node, opts), (e) => {
      assert.equal(e.status, 401, e.message);
      assert.equal(e.body.error.code, code);
      return true;
    });
  }

  test('the upgrade needs a valid token: 401 without, with a bad signature, expired, or an API key', async () => {
    await refused({}, 'unauthenticated');
    await refused({ token: 'not-a-jwt' }, 'unauthenticated');
    await refused({ token: await forgedCopy(s.tokens.pub) }, 'unauthenticated');
    await refused({ token: await expiredCopy(node.tokenSecret(), s.tokens.pub) }, 'token_expired');
    await refused({ token: await expiredCopy(node.tokenSecret(), s.tokens.pub), header: true }, 'token_expired');
    await refused({ token: node.apiKeys.acme }, 'unauthenticated');
  });

  test('hello names the token’s participant, session, room, role and expiry (?token= and Authorization)', async () => {
    const claims = decodeJwt(s.tokens.pub);
    for (const header of [false, true]) {
      const c = await connect({ token: s.tokens.pub, header });
      const hello = await c.hello();
      assert.deepEqual(hello, {
        type: 'hello', participant: 'alice', tenant: 'acme', session_id: s.session_id, room_id: s.room_id,
        role: 'pub', expires_at: claims.exp,
      });
      assert.equal(c.messages[0].type, 'hello', 'hello is the first message');
      const pong = await c.send('ping');
      assert.equal(pong.type, 'pong');
      await c.close();
    }
  });

  test('subscribe answers the state, then every committed event of the room and the session', async () => {
    const c = await connect({ token: s.tokens.pub });
    await c.hello();
    const rs = await c.send('subscribe', { room_id: s.room_id });
    assert.equal(rs.ok, true, JSON.stringify(rs));
    assert.equal(rs.result.room_id, s.room_id);
    const ss = await c.send('subscribe', { session_id: s.session_id });
    assert.equal(ss.ok, true, JSON.stringify(ss));
    assert.equal(ss.result.session_id, s.session_id);
    assert.equal(ss.result.state, 'prepared');

    const from = c.messages.length;
    expectStatus(await acme.join(s, { participant: 'bob', device: 'dev-bob' }), 200);
    const joined = await c.event('room.participant.joined', (e) => e.payload.participant === 'bob', { from });
    assert.equal(joined.actor, s.room_id);
    assert.equal(joined.payload.role, 'pub');
    assert.ok(Date.parse(joined.ts) > 0);

    expectStatus(await acme.consent(s, { participant: 'bob', consent: true }), 200);
    const consent = await c.event('proof.consent.start', (e) => e.payload.participant === 'bob', { from });
    assert.equal(consent.actor, s.session_id);
    assert.ok(consent.seq > joined.seq, 'events arrive in seq order');

    // Events match the ledger record for record.
    const ledger = node.dump('--from-seq', String(joined.seq), '--to-seq', String(consent.seq));
    const rec = ledger.find((r) => r.seq === joined.seq);
    assert.equal(rec.kind, 'room.participant.joined');
    assert.deepEqual(rec.payload, joined.payload);

    const un = await c.send('unsubscribe', { room_id: s.room_id });
    assert.equal(un.ok, true);
    const mark = c.messages.length;
    expectStatus(await acme.join(s, { participant: 'carol', device: 'dev-carol' }), 200);
    expectStatus(await acme.consent(s, { participant: 'carol', consent: true }), 200);
    // The session subscription still delivers; the room's join did not come.
    await c.event('proof.consent.start', (e) => e.payload.participant === 'carol', { from: mark });
    assert.ok(!c.messages.slice(mark).some((m) => m.type === 'event' && m.kind === 'room.participant.joined'));
    await c.close();
  });

  test('join, consent and leave over the socket act for the token’s participant', async () => {
    const t = await prepared(acme.with({ device: uniqueId('dev') }), 'duo');
    const c = await connect({ token: t.tokens.pub });
    await c.hello();
    await c.send('subscribe', { room_id: t.room_id });
    const from = c.messages.length;

    const j = await c.send('join', { consent: true });
    assert.equal(j.ok, true, JSON.stringify(j));
    assert.equal(j.result.participant, 'alice');
    assert.equal(j.result.role, 'pub');
    await c.event('room.participant.joined', (e) => e.payload.participant === 'alice', { from });
    let g = expectStatus(await acme.getSession(t.session_id), 200);
    assert.deepEqual(g.consented, ['alice']);

    const again = await c.send('join');
    assert.equal(again.ok, false);
    assert.equal(again.error.code, 'already_joined');

    const off = await c.send('consent', { consent: false });
    assert.equal(off.ok, true, JSON.stringify(off));
    assert.deepEqual(off.result, { ok: true, session_id: t.session_id, participant: 'alice', consent: false, recording: false });
    g = expectStatus(await acme.getSession(t.session_id), 200);
    assert.deepEqual(g.consented, []);

    const l = await c.send('leave');
    assert.equal(l.ok, true, JSON.stringify(l));
    assert.ok(!l.result.members.some((m) => m.participant === 'alice'));
    await c.event('room.participant.left', (e) => e.payload.participant === 'alice', { from });

    const nx = await c.send('next');
    assert.equal(nx.ok, false, 'next is for roulette rooms');
    // A refused message leaves the connection open.
    assert.equal((await c.send('ping')).type, 'pong');
    await c.close();
  });

  test('a sub token joins only as sub', async () => {
    const c = await connect({ token: s.tokens.sub });
    const hello = await c.hello();
    assert.equal(hello.role, 'sub');
    assert.equal(hello.participant, 'audience');
    const pub = await c.send('join', { role: 'pub' });
    assert.equal(pub.ok, false);
    assert.equal(pub.error.code, 'forbidden');
    const sub = await c.send('join', { role: 'sub' });
    assert.equal(sub.ok, true, JSON.stringify(sub));
    assert.equal(sub.result.role, 'sub');
    await c.close();
  });

  test('a token cannot subscribe to another session or its room', async () => {
    const other = await prepared(acme.with({ device: uniqueId('dev') }), 'circle');
    const c = await connect({ token: s.tokens.pub });
    await c.hello();
    for (const target of [{ session_id: other.session_id }, { room_id: other.room_id }]) {
      const r = await c.send('subscribe', target);
      assert.equal(r.ok, false, `subscribe ${JSON.stringify(target)} must be refused`);
      assert.ok(['forbidden', 'not_found'].includes(r.error.code), JSON.stringify(r));
    }
    // Only the token's own room is delivered: a join in the other room never arrives.
    assert.equal((await c.send('subscribe', { room_id: s.room_id })).ok, true);
    const mark = c.messages.length;
    expectStatus(await acme.join(other, { participant: 'zed', device: 'dev-zed' }), 200);
    expectStatus(await acme.join(s, { participant: 'yan', device: 'dev-yan' }), 200);
    await c.event('room.participant.joined', (e) => e.payload.participant === 'yan', { from: mark });
    assert.ok(!c.messages.slice(mark).some((m) => m.type === 'event' && m.actor !== s.room_id));
    assert.equal((await c.send('ping')).type, 'pong');
    await c.close();
  });

  test('malformed messages are refused and the connection stays open', async () => {
    const c = await connect({ token: s.tokens.pub });
    await c.hello();
    const r = await c.send('teleport');
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'invalid_argument');
    c.ws.send('this is not json');
    assert.equal((await c.send('ping')).type, 'pong');
    await c.close();
  });
});
