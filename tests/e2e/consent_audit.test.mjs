// The consent gate end to end: scenarios driven over REST, then the ledger audited with
// `omnicast-replay audit consent --session ID --json` (docs/replay.md) — recording intervals, stop
// reasons, and no violation.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OmnicastNode } from './lib/node.mjs';
import { Api, expectStatus, prepared, uniqueId } from './lib/http.mjs';

describe('consent gate and audit', () => {
  let node, acme;
  before(async () => {
    node = await OmnicastNode.start({ name: 'consent' });
    acme = new Api(node, { tenant: 'acme', user: 'alice' });
  });
  after(() => node?.stop());

  function audit(sessionId) {
    const r = node.replay('audit', 'consent', '--session', sessionId, '--json');
    assert.equal(r.status, 0, `audit consent exited ${r.status}: ${r.stderr}${r.stdout.slice(0, 2000)}`);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.session, sessionId);
    assert.equal(doc.ok, true);
    assert.deepEqual(doc.violations, []);
    // The timeline is in seq order.
    for (let i = 1; i < doc.timeline.length; ++i) assert.ok(doc.timeline[i - 1].seq < doc.timeline[i].seq);
    return doc;
  }
  const at = (doc, kind, pred = () => true) => {
    const e = doc.timeline.find((x) => x.kind === kind && pred(x));
    assert.ok(e, `timeline has ${kind}: ${JSON.stringify(doc.timeline.map((x) => [x.seq, x.kind, x.participant, x.reason]))}`);
    return e;
  };
  const session = async (s) => expectStatus(await acme.getSession(s.session_id), 200);

  test('duo: recording needs both; revoking stops it first (consent_revoked)', async () => {
    const s = await prepared(acme.with({ device: uniqueId('dev') }), 'duo');
    expectStatus(await acme.join(s, { participant: 'alice', device: 'dev-a', consent: true }), 200);
    expectStatus(await acme.join(s, { participant: 'bob', device: 'dev-b' }), 200);

    const refused = expectStatus(await acme.goLive(s, { recording: true }), 409, 'consent_required');
    assert.deepEqual(refused.error.details.missing, ['bob']);
    assert.equal((await session(s)).state, 'prepared', 'a refused go_live changes nothing');

    const c = expectStatus(await acme.consent(s, { participant: 'bob', consent: true }), 200);
    assert.deepEqual(c, { ok: true, session_id: s.session_id, participant: 'bob', consent: true, recording: false });
    const g = expectStatus(await acme.goLive(s, { recording: true }), 200);
    assert.equal(g.recording, true);
    let now = await session(s);
    assert.equal(now.recording, true);
    assert.deepEqual(now.consented, ['alice', 'bob']);

    const r = expectStatus(await acme.consent(s, { participant: 'bob', consent: false }), 200);
    assert.deepEqual(r, { ok: true, session_id: s.session_id, participant: 'bob', consent: false, recording: false });
    now = await session(s);
    assert.equal(now.recording, false);
    assert.deepEqual(now.consented, ['alice']);
    expectStatus(await acme.end(s), 200);

    const doc = audit(s.session_id);
    assert.equal(doc.mode, 'duo');
    assert.equal(doc.owner, 'alice');
    assert.equal(doc.room_id, s.room_id);
    assert.equal(doc.recordings.length, 1);
    const [rec] = doc.recordings;
    assert.equal(rec.open, false);
    assert.equal(rec.covered, true);
    assert.equal(rec.stop_reason, 'consent_revoked');
    const start = at(doc, 'stream.recording.start');
    assert.deepEqual([...start.present].sort(), ['alice', 'bob']);
    assert.equal(rec.start_seq, start.seq);
    const stop = at(doc, 'stream.recording.stop');
    assert.equal(stop.reason, 'consent_revoked');
    assert.equal(stop.participant, 'bob');
    assert.equal(rec.stop_seq, stop.seq);
    const revoked = at(doc, 'proof.consent.stop', (e) => e.participant === 'bob');
    assert.ok(stop.seq < revoked.seq, 'the recording stops before the consent ends');
    const gave = at(doc, 'proof.consent.start', (e) => e.participant === 'bob');
    assert.ok(gave.seq < start.seq);
    at(doc, 'stream.session.ending');
  });

  test('circle: a newcomer with consent keeps the recording; one without stops it at once (consent_missing)', async () => {
    const s = await prepared(acme.with({ device: uniqueId('dev') }), 'circle');
    expectStatus(await acme.join(s, { participant: 'alice', device: 'dev-a', consent: true }), 200);
    expectStatus(await acme.join(s, { participant: 'bob', device: 'dev-b' }), 200);
    expectStatus(await acme.join(s, { participant: 'carol', device: 'dev-c' }), 200);
    const refused = expectStatus(await acme.goLive(s, { recording: true }), 409, 'consent_required');
    assert.deepEqual([...refused.error.details.missing].sort(), ['bob', 'carol']);
    expectStatus(await acme.consent(s, { participant: 'bob', consent: true }), 200);
    expectStatus(await acme.consent(s, { participant: 'carol', consent: true }), 200);
    expectStatus(await acme.leave(s, { participant: 'carol' }), 200);
    expectStatus(await acme.goLive(s, { recording: true }), 200);

    // carol's consent is still in force when she comes back: the recording goes on.
    expectStatus(await acme.join(s, { participant: 'carol', device: 'dev-c' }), 200);
    assert.equal((await session(s)).recording, true);
    expectStatus(await acme.leave(s, { participant: 'carol' }), 200);
    // dave consents with his join.
    expectStatus(await acme.join(s, { participant: 'dave', device: 'dev-d', consent: true }), 200);
    assert.equal((await session(s)).recording, true);
    // erin has not consented: joining stops the recording at once.
    expectStatus(await acme.join(s, { participant: 'erin', device: 'dev-e' }), 200);
    assert.equal((await session(s)).recording, false);
    expectStatus(await acme.end(s), 200);

    const doc = audit(s.session_id);
    assert.equal(doc.recordings.length, 1);
    const [rec] = doc.recordings;
    assert.equal(rec.stop_reason, 'consent_missing');
    assert.equal(rec.covered, true);
    const stop = at(doc, 'stream.recording.stop');
    assert.equal(stop.participant, 'erin');
    assert.equal(stop.reason, 'consent_missing');
    const erinJoined = at(doc, 'room.participant.joined', (e) => e.participant === 'erin');
    assert.ok(stop.seq < erinJoined.seq, 'the recording stops before erin is present');
    // dave's consent came with his join, and the audit (no violation) agrees he was covered.
    at(doc, 'proof.consent.start', (e) => e.participant === 'dave');
  });

  test('a recording still running at the end stops with the session (session_end)', async () => {
    const s = await prepared(acme.with({ device: uniqueId('dev') }), 'duo');
    expectStatus(await acme.join(s, { participant: 'alice', device: 'dev-a', consent: true }), 200);
    expectStatus(await acme.goLive(s, { recording: true }), 200);
    expectStatus(await acme.end(s), 200);
    const doc = audit(s.session_id);
    assert.equal(doc.recordings.length, 1);
    assert.equal(doc.recordings[0].stop_reason, 'session_end');
    assert.equal(doc.recordings[0].open, false);
    const stop = at(doc, 'stream.recording.stop');
    const ending = at(doc, 'stream.session.ending');
    assert.ok(stop.seq < ending.seq);
  });

  test('stage: the creator’s go_live(recording) records the creator’s consent', async () => {
    const s = await prepared(acme.with({ device: uniqueId('dev') }), 'stage');
    const g = expectStatus(await acme.goLive(s, { recording: true }), 200);
    assert.equal(g.recording, true);
    const now = await session(s);
    assert.deepEqual(now.consented, ['alice']);
    expectStatus(await acme.end(s), 200);
    const doc = audit(s.session_id);
    const consent = at(doc, 'proof.consent.start', (e) => e.participant === 'alice');
    const start = at(doc, 'stream.recording.start');
    assert.ok(consent.seq < start.seq);
    assert.deepEqual(start.present, ['alice']);
  });

  test('roulette refuses recording; its audit shows no recording', async () => {
    const s = await prepared(acme.with({ device: uniqueId('dev') }), 'roulette');
    expectStatus(await acme.join(s, { participant: 'ann', consent: true }), 200);
    expectStatus(await acme.goLive(s, { recording: true }), 409, 'recording_not_allowed');
    expectStatus(await acme.goLive(s), 200);
    expectStatus(await acme.end(s), 200);
    const doc = audit(s.session_id);
    assert.deepEqual(doc.recordings, []);
  });
});
