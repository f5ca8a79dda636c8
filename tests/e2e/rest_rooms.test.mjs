// room@v1 over REST: the mode rules of join (duo two, circle cap, stage one publisher, roulette
// pairing), leave, next and room.get, on a node with quotas.circle_cap 3.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OmnicastNode } from './lib/node.mjs';
import { Api, expectStatus, prepared, uniqueId } from './lib/http.mjs';

describe('room@v1 over REST', () => {
  let node, acme;
  before(async () => {
    node = await OmnicastNode.start({ name: 'rest-rooms', options: { 'quotas.circle_cap': 3 } });
    acme = new Api(node, { tenant: 'acme', user: 'alice' });
  });
  after(() => node?.stop());

  const fresh = (mode) => prepared(acme.with({ device: uniqueId('dev') }), mode);
  const room = async (s) => expectStatus(await acme.getRoom(s.room_id), 200);
  const names = (members) => members.map((m) => m.participant).sort();

  // Joins participants until the room is at its capacity (the owner may or may not count).
  async function fill(s, capacity) {
    const joined = [];
    for (let i = 0; (await room(s)).members.length < capacity; ++i) {
      const p = `p${i}`;
      expectStatus(await acme.join(s, { participant: p, device: `dev-${p}` }), 200);
      joined.push(p);
      assert.ok(i < capacity, 'the room fills up');
    }
    return joined;
  }

  test('join answers the room; room.get lists members with role and device', async () => {
    const s = await fresh('circle');
    const j = expectStatus(await acme.join(s, { participant: 'bob', device: 'dev-bob', role: 'pub' }), 200);
    assert.equal(j.ok, true);
    assert.equal(j.room_id, s.room_id);
    assert.equal(j.participant, 'bob');
    assert.equal(j.role, 'pub');
    const member = (list, who) => {
      const m = list.find((x) => x.participant === who);
      assert.ok(m && !Number.isNaN(Date.parse(m.joined_at)), `${who} is a member with a joined_at time`);
      const { joined_at, ...rest } = m;
      return rest;
    };
    assert.deepEqual(member(j.members, 'bob'), { participant: 'bob', role: 'pub', device: 'dev-bob' });
    assert.equal(j.partner, undefined, 'partner is for roulette rooms');
    const r = await room(s);
    assert.deepEqual(member(r.members, 'bob'), { participant: 'bob', role: 'pub', device: 'dev-bob' });
    assert.equal(r.capacity, 3);
    assert.deepEqual(r.pairs, []);
    assert.deepEqual(r.waiting, []);
  });

  test('participant defaults to meta.scope.user; joining twice → already_joined; leaving twice → not_a_member', async () => {
    const s = await fresh('circle');
    const j = expectStatus(await acme.with({ user: 'carol' }).join(s), 200);
    assert.equal(j.participant, 'carol');
    expectStatus(await acme.join(s, { participant: 'carol' }), 409, 'already_joined');
    const l = expectStatus(await acme.leave(s, { participant: 'carol' }), 200);
    assert.ok(!names(l.members).includes('carol'));
    expectStatus(await acme.leave(s, { participant: 'carol' }), 409, 'not_a_member');
  });

  test('duo holds two: a third join → 409 room_full', async () => {
    const s = await fresh('duo');
    assert.equal((await room(s)).capacity, 2);
    await fill(s, 2);
    expectStatus(await acme.join(s, { participant: 'third', device: 'dev-third' }), 409, 'room_full');
    assert.equal((await room(s)).members.length, 2);
  });

  test('circle holds quotas.circle_cap (3): a fourth → 429 quota_exceeded participants_per_circle', async () => {
    const s = await fresh('circle');
    assert.equal((await room(s)).capacity, 3);
    await fill(s, 3);
    const r = await acme.join(s, { participant: 'fourth', device: 'dev-fourth' });
    const b = expectStatus(r, 429, 'quota_exceeded');
    assert.equal(b.error.details.quota, 'participants_per_circle');
    assert.equal((await room(s)).members.length, 3);
  });

  test('stage: one pub (a second → 409 publisher_taken) and any number of sub', async () => {
    const s = await fresh('stage');
    const before = await room(s);
    if (!before.members.some((m) => m.role === 'pub'))
      expectStatus(await acme.join(s, { participant: 'alice', device: 'dev-alice-1', role: 'pub' }), 200);
    expectStatus(await acme.join(s, { participant: 'mallory', device: 'dev-m', role: 'pub' }), 409, 'publisher_taken');
    for (const v of ['v1', 'v2', 'v3', 'v4'])
      expectStatus(await acme.join(s, { participant: v, device: `dev-${v}`, role: 'sub' }), 200);
    const r = await room(s);
    assert.equal(r.members.filter((m) => m.role === 'pub').length, 1);
    assert.equal(r.members.filter((m) => m.role === 'sub').length, 4);
  });

  test('a sub token may join only as sub; a pub token joins as itself', async () => {
    const s = await fresh('stage');
    const viewer = expectStatus(await acme.refresh(s, { participant: 'vera', role: 'sub' }), 200).tokens.sub;
    const asVera = acme.with({ auth: viewer, user: 'vera' });
    expectStatus(await asVera.join(s, { role: 'pub' }), 403, 'forbidden');
    const j = expectStatus(await asVera.join(s, { role: 'sub' }), 200);
    assert.equal(j.participant, 'vera');
    assert.equal(j.role, 'sub');
    // A token acts only for its own subject.
    expectStatus(await asVera.join(s, { participant: 'walt', role: 'sub' }), 403, 'forbidden');
    const asOwner = acme.with({ auth: s.tokens.pub });
    const o = expectStatus(await asOwner.join(s, { role: 'pub' }), 200);
    assert.equal(o.participant, 'alice');
  });

  test('a closed room refuses joins', async () => {
    const s = await fresh('circle');
    expectStatus(await acme.end(s), 200);
    expectStatus(await acme.join(s, { participant: 'late' }), 409, 'illegal_transition');
  });

  test('meta.mode that is not the room’s → 409 mode_mismatch', async () => {
    const s = await fresh('duo');
    expectStatus(await acme.join({ ...s, mode: 'circle' }, { participant: 'bob' }), 409, 'mode_mismatch');
  });

  test('next outside a roulette is refused (409)', async () => {
    const s = await fresh('circle');
    expectStatus(await acme.join(s, { participant: 'bob' }), 200);
    const r = await acme.next(s, { participant: 'bob' });
    assert.equal(r.status, 409, r.text);
  });

  describe('roulette with four participants', () => {
    let s;
    const pairsOf = (r) => r.pairs.map((p) => [...p].sort().join('+')).sort();
    const partnerIn = (r, who) => {
      const p = r.pairs.find((x) => x.includes(who));
      return p ? p.find((x) => x !== who) : null;
    };

    before(async () => {
      s = await fresh('roulette');
    });

    test('joins pair each newcomer with whoever waits', async () => {
      const r0 = await room(s);
      assert.equal(r0.capacity, 0);
      const a = expectStatus(await acme.join(s, { participant: 'ann', device: 'dev-ann' }), 200);
      assert.equal(a.partner, null, 'the first waits');
      const b = expectStatus(await acme.join(s, { participant: 'ben', device: 'dev-ben' }), 200);
      assert.equal(b.partner, 'ann');
      const c = expectStatus(await acme.join(s, { participant: 'cat', device: 'dev-cat' }), 200);
      assert.equal(c.partner, null);
      const d = expectStatus(await acme.join(s, { participant: 'dan', device: 'dev-dan' }), 200);
      assert.equal(d.partner, 'cat');
      const r = await room(s);
      assert.deepEqual(pairsOf(r), ['ann+ben', 'cat+dan']);
      assert.deepEqual(r.waiting, []);
    });

    test('next re-pairs with whoever waits, never with the same partner at once', async () => {
      // Nobody waits: ann and ben both go back to waiting, not to each other.
      const n1 = expectStatus(await acme.next(s, { participant: 'ann' }), 200);
      assert.notEqual(n1.partner, 'ben');
      let r = await room(s);
      assert.ok(!pairsOf(r).includes('ann+ben'), `ann and ben are not paired again at once: ${JSON.stringify(r.pairs)}`);
      assert.deepEqual(pairsOf(r), ['cat+dan']);
      assert.deepEqual([...r.waiting].sort(), ['ann', 'ben']);

      // dan moves on: cat and dan are each paired with one of the waiting pair.
      const n2 = expectStatus(await acme.next(s, { participant: 'dan' }), 200);
      assert.ok(['ann', 'ben'].includes(n2.partner), `dan's new partner: ${n2.partner}`);
      r = await room(s);
      assert.equal(r.pairs.length, 2, JSON.stringify(r));
      assert.deepEqual(r.waiting, []);
      assert.ok(['ann', 'ben'].includes(partnerIn(r, 'cat')));
      assert.ok(['ann', 'ben'].includes(partnerIn(r, 'dan')));
      assert.ok(!pairsOf(r).includes('cat+dan') && !pairsOf(r).includes('ann+ben'));
    });

    test('leave sends the partner back to waiting', async () => {
      const before = await room(s);
      const partner = partnerIn(before, 'cat');
      expectStatus(await acme.leave(s, { participant: 'cat' }), 200);
      const r = await room(s);
      assert.ok(!names(r.members).includes('cat'));
      assert.ok(r.waiting.includes(partner), `${partner} waits again: ${JSON.stringify(r)}`);
      // A newcomer is paired with the one waiting.
      const e = expectStatus(await acme.join(s, { participant: 'eve', device: 'dev-eve' }), 200);
      assert.equal(e.partner, partner);
    });

    test('roulette refuses recording', async () => {
      expectStatus(await acme.goLive(s, { recording: true }), 409, 'recording_not_allowed');
      expectStatus(await acme.goLive(s), 200);
      expectStatus(await acme.end(s), 200);
    });
  });
});
