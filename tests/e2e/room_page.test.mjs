// The room page (web/room.html) in headless Chromium against the node's SFU: each page joins with a
// participant token in the URL fragment, publishes Chromium's fake camera and microphone, and
// shows the other participants' video — decoded frames, advancing, not black. Mute pauses what the
// others receive; leave removes the tile; roulette follows the partner through `next` without a
// new offer; refused messages show on the page.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { OmnicastNode, makeTempDir, waitFor } from './lib/node.mjs';
import { Api, expectStatus, prepared, uniqueId } from './lib/http.mjs';

const require = createRequire(import.meta.url);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync',
  // The remote tiles play sound; a headless page has no user gesture to allow it.
  '--autoplay-policy=no-user-gesture-required', '--mute-audio',
];
// Chromium's fake camera draws a bright green pattern (mean luma ≈ 90); black is < 20.
const NOT_BLACK = 40;
const MEDIA_TIMEOUT_MS = 30000;

// The page's state for assertions (window.omnicastRoom, `remote` read through its getter).
const stateOf = (page) =>
  page.evaluate(() => {
    const r = window.omnicastRoom;
    return {
      participant: r.participant, roomId: r.roomId, mode: r.mode, role: r.role, joined: r.joined, left: r.left,
      transportState: r.transportState, nodeTransportState: r.nodeTransportState, partner: r.partner,
      producers: r.producers, published: r.published, negotiations: r.negotiations, errors: r.errors,
      remote: r.remote,
    };
  });

const remoteOf = async (page, participant) => (await stateOf(page)).remote.find((x) => x.participant === participant);

// Mean luma (0–255) of a remote tile's current picture, drawn into a canvas.
const remoteLuma = (page, participant) =>
  page.evaluate((who) => {
    const v = document.querySelector(`.tile.remote[data-participant="${who}"] video`);
    if (!v || !v.videoWidth) return -1;
    const c = document.createElement('canvas');
    c.width = 64;
    c.height = 48;
    const g = c.getContext('2d', { willReadFrequently: true });
    g.drawImage(v, 0, 0, c.width, c.height);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
    return sum / (d.length / 4);
  }, participant);

describe('room page in Chromium (web/room.html) against the SFU', () => {
  let node, acme, browser, shots;
  const opened = [];

  before(async () => {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is required (Debian package chromium)`);
    node = await OmnicastNode.start({
      name: 'room-page',
      // Chromium does not gather loopback candidates; it reaches the node's 127.0.0.1 candidate
      // from its own address on this host.
      options: { 'webrtc.listen_ips': '127.0.0.1', 'quotas.circle_cap': 8 },
    });
    acme = new Api(node, { tenant: 'acme', user: 'alice', device: uniqueId('dev') });
    const { chromium } = require('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    shots = makeTempDir('omnicast-room-page-');
  });
  after(async () => {
    await browser?.close();
    await node?.stop();
  });

  // One browser context per participant: separate devices, as two people would be.
  async function openRoom(token, label) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    const log = [];
    page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => log.push(`[pageerror] ${e.stack || e.message}`));
    const t0 = Date.now();
    await page.goto(new URL('/web/room.html#token=' + token, node.baseUrl).href);
    const p = { page, context, log, label, t0 };
    opened.push(p);
    return p;
  }

  // On failure: every page's state, console and a screenshot, and the node's log.
  async function diagnosed(fn) {
    try {
      await fn();
    } catch (e) {
      const parts = [];
      for (const p of opened.splice(0)) {
        let state = '(page gone)';
        try {
          state = JSON.stringify(await stateOf(p.page));
          await p.page.screenshot({ path: path.join(shots, `${p.label}.png`) });
        } catch {}
        parts.push(`--- page ${p.label}: ${state}\n${p.log.slice(-40).join('\n')}`);
        await p.context.close().catch(() => {});
      }
      e.message += `\n${parts.join('\n')}\n(screenshots in ${shots}, kept with OMNICAST_E2E_KEEP=1)\n--- ${node.logPath} (tail) ---\n${node.logTail(80)}`;
      throw e;
    }
    for (const p of opened.splice(0)) await p.context.close().catch(() => {});
  }

  const untilRemoteVideo = (p, who, timeout = MEDIA_TIMEOUT_MS) =>
    p.page.waitForFunction(
      (w) => window.omnicastRoom.remote.some((r) => r.participant === w && r.videoWidth > 0 && r.framesPresented > 0),
      who, { timeout, polling: 50 });

  // The remote tile's frames and currentTime advance, and its picture is not black.
  async function assertPlays(p, who, what = '') {
    const a = await remoteOf(p.page, who);
    assert.ok(a, `${p.label} has a tile for ${who}${what}`);
    await p.page.waitForFunction(
      ([w, f, t]) => {
        const r = window.omnicastRoom.remote.find((x) => x.participant === w);
        return r && r.framesPresented >= f + 15 && r.currentTime > t + 0.5;
      },
      [who, a.framesPresented, a.currentTime], { timeout: 15000, polling: 100 });
    const b = await remoteOf(p.page, who);
    assert.ok(b.videoWidth > 0 && b.videoHeight > 0, `${p.label} decodes ${who}'s video${what}: ${JSON.stringify(b)}`);
    const luma = await remoteLuma(p.page, who);
    assert.ok(luma > NOT_BLACK, `${p.label}'s picture of ${who} is not black${what}: mean luma ${luma.toFixed(1)}`);
    return { ...b, luma };
  }

  test('without a token the page says how to open it', async () => {
    await diagnosed(async () => {
      const p = await openRoom('', 'no-token');
      await p.page.waitForFunction(() => window.omnicastRoom.errors.length > 0, null, { timeout: 5000 });
      assert.equal((await stateOf(p.page)).errors[0].code, 'missing_token');
      assert.ok(await p.page.locator('#errors').isVisible());
      assert.match(await p.page.locator('#errors').textContent(), /missing_token/);
    });
  });

  test('duo: two pages publish their cameras and see each other; mute pauses; a third is refused; leave removes the tile',
    { timeout: 240000 }, async (t) => {
      await diagnosed(async () => {
        const api = acme.with({ device: uniqueId('dev') });
        const s = await prepared(api, 'duo');
        expectStatus(await api.goLive(s), 200);
        const bobToken = expectStatus(await api.refresh(s, { participant: 'bob', role: 'pub' }), 200).tokens.pub;

        const alice = await openRoom(s.tokens.pub, 'alice');
        const bob = await openRoom(bobToken, 'bob');

        // hello on screen; joined; both tracks published in one offer.
        for (const [p, who] of [[alice, 'alice'], [bob, 'bob']]) {
          await p.page.waitForFunction(() => window.omnicastRoom.published.length === 2, null, { timeout: 15000 });
          const st = await stateOf(p.page);
          assert.equal(st.participant, who);
          assert.equal(st.roomId, s.room_id);
          assert.equal(st.mode, 'duo');
          assert.equal(st.joined, true);
          assert.deepEqual(st.published.map((x) => x.kind).sort(), ['audio', 'video']);
          for (const pr of st.published) assert.match(pr.producer_id, /\S/);
          assert.match(await p.page.locator('#room').textContent(), new RegExp(s.room_id));
          assert.match(await p.page.locator('#me').textContent(), new RegExp(who));
          assert.ok(await p.page.locator('#next').isHidden(), 'no Next button outside roulette');
        }

        // Each sees the other's video: frames, advancing, not black.
        await untilRemoteVideo(alice, 'bob');
        await untilRemoteVideo(bob, 'alice');
        const firstFrame = { alice: Date.now() - alice.t0, bob: Date.now() - bob.t0 };
        const seenByAlice = await assertPlays(alice, 'bob');
        const seenByBob = await assertPlays(bob, 'alice');
        const timing = async (p) => JSON.stringify(await p.page.evaluate(() => window.omnicastRoom.timing));
        t.diagnostic(`page timing (ms since navigation): alice ${await timing(alice)}, bob ${await timing(bob)}`);
        t.diagnostic(`page load → remote video: ${JSON.stringify(firstFrame)} ms; alice sees bob ` +
          `${seenByAlice.videoWidth}x${seenByAlice.videoHeight} luma ${seenByAlice.luma.toFixed(0)}; ` +
          `bob sees alice ${seenByBob.videoWidth}x${seenByBob.videoHeight} luma ${seenByBob.luma.toFixed(0)}`);
        const a0 = await stateOf(alice.page);
        const b0 = await stateOf(bob.page);
        assert.equal(a0.transportState, 'connected');
        assert.deepEqual(a0.remote.map((r) => r.participant), ['bob'], 'one tile per remote participant');
        assert.deepEqual([...a0.remote[0].producerIds].sort(), b0.published.map((x) => x.producer_id).sort(),
          'alice consumes both of bob\'s producers in bob\'s tile');
        assert.equal(await alice.page.locator('.tile.remote[data-participant="bob"] .name').textContent(), 'bob');
        await alice.page.screenshot({ path: path.join(shots, 'duo-alice.png') });

        // A third participant: the duo is full; the page shows the node's refusal.
        const carolToken = expectStatus(await api.refresh(s, { participant: 'carol', role: 'pub' }), 200).tokens.pub;
        const carol = await openRoom(carolToken, 'carol');
        await carol.page.waitForFunction(() => window.omnicastRoom.errors.length > 0, null, { timeout: 10000 });
        const refused = (await stateOf(carol.page)).errors[0];
        assert.equal(refused.context, 'join');
        assert.equal(refused.code, 'room_full', JSON.stringify(refused));
        assert.match(await carol.page.locator('#errors').textContent(), /room_full/);
        assert.equal((await stateOf(carol.page)).joined, false);
        await carol.context.close();

        // bob mutes his camera: alice's list shows it muted and bob's picture stops advancing.
        const bobVideo = b0.published.find((x) => x.kind === 'video').producer_id;
        await bob.page.click('#mute-cam');
        assert.equal(await bob.page.locator('#mute-cam').textContent(), 'Unmute camera');
        await alice.page.waitForFunction(
          (id) => window.omnicastRoom.producers.some((p) => p.producer_id === id && p.muted === true), bobVideo,
          { timeout: 5000 });
        await sleep(700); // frames already in flight
        const m1 = await remoteOf(alice.page, 'bob');
        await sleep(2000);
        const m2 = await remoteOf(alice.page, 'bob');
        assert.ok(m2.framesPresented - m1.framesPresented <= 2,
          `bob's video is paused while muted: ${m1.framesPresented} → ${m2.framesPresented} frames in 2 s`);
        assert.match(await alice.page.locator('.tile.remote[data-participant="bob"] .flags').textContent(), /camera off/);
        // … and unmuting resumes it (the node asks bob for a keyframe).
        const tUnmute = Date.now();
        await bob.page.click('#mute-cam');
        await alice.page.waitForFunction(
          (id) => window.omnicastRoom.producers.some((p) => p.producer_id === id && p.muted === false), bobVideo,
          { timeout: 5000 });
        await alice.page.waitForFunction(
          (f) => window.omnicastRoom.remote.some((r) => r.participant === 'bob' && r.framesPresented > f + 5),
          m2.framesPresented, { timeout: 10000, polling: 50 });
        t.diagnostic(`unmute → bob's video advances again at alice: ${Date.now() - tUnmute} ms`);
        await assertPlays(alice, 'bob', ' after unmute');

        // alice mutes her microphone: bob's list shows her audio muted.
        const aliceAudio = a0.published.find((x) => x.kind === 'audio').producer_id;
        await alice.page.click('#mute-mic');
        await bob.page.waitForFunction(
          (id) => window.omnicastRoom.producers.some((p) => p.producer_id === id && p.muted === true), aliceAudio,
          { timeout: 5000 });
        assert.match(await bob.page.locator('.tile.remote[data-participant="alice"] .flags').textContent(), /mic off/);

        // bob leaves: alice's tile of bob goes away; bob's page is closed down.
        const tLeave = Date.now();
        await bob.page.click('#leave');
        await alice.page.waitForFunction(() => window.omnicastRoom.remote.length === 0 &&
          document.querySelectorAll('.tile.remote').length === 0, null, { timeout: 10000 });
        t.diagnostic(`leave → the tile is gone at alice: ${Date.now() - tLeave} ms`);
        const bl = await stateOf(bob.page);
        assert.equal(bl.left, true);
        assert.equal(bl.transportState, 'closed');
        assert.deepEqual(bl.errors, [], 'bob saw no error');
        assert.deepEqual((await stateOf(alice.page)).errors, [], 'alice saw no error');
        assert.equal((await stateOf(alice.page)).transportState, 'connected', 'alice stays connected');

        // The ledger has the publications, the mutes and bob's leave.
        const events = node.dump('--kind', 'room.*').filter((r) => r.actor === s.room_id);
        const of = (kind, who) => events.filter((r) => r.kind === kind && JSON.stringify(r.payload).includes(`"${who}"`));
        assert.equal(of('room.track.published', 'alice').length, 2, 'alice published two tracks');
        assert.equal(of('room.track.published', 'bob').length, 2, 'bob published two tracks');
        assert.ok(of('room.track.muted', 'bob').length >= 2, 'bob muted and unmuted his camera');
        assert.ok(of('room.participant.left', 'bob').length >= 1, 'bob left');
        expectStatus(await api.end(s), 200);
      });
    });

  test('roulette: the page follows its partner, and after Next the new pair sees each other without a new offer',
    { timeout: 240000 }, async (t) => {
      await diagnosed(async () => {
        const api = acme.with({ device: uniqueId('dev') });
        const s = await prepared(api, 'roulette');
        expectStatus(await api.goLive(s), 200);
        const tokenOf = async (who) => expectStatus(await api.refresh(s, { participant: who, role: 'pub' }), 200).tokens.pub;
        // Joined one after the other: ann waits, ben is paired with ann, cat waits.
        const pages = {};
        for (const who of ['ann', 'ben', 'cat']) {
          pages[who] = await openRoom(await tokenOf(who), who);
          await pages[who].page.waitForFunction(() => window.omnicastRoom.published.length === 2, null, { timeout: 15000 });
        }
        const { ann, ben, cat } = pages;
        await ann.page.waitForFunction(() => window.omnicastRoom.partner === 'ben', null, { timeout: 10000 });
        assert.equal((await stateOf(ben.page)).partner, 'ann');
        assert.equal((await stateOf(cat.page)).partner, null);
        assert.ok(await ann.page.locator('#next').isVisible(), 'Next in a roulette room');
        assert.match(await cat.page.locator('.tile.remote .name').textContent(), /Waiting/);

        await untilRemoteVideo(ann, 'ben');
        await untilRemoteVideo(ben, 'ann');
        await assertPlays(ann, 'ben');
        await assertPlays(ben, 'ann');
        assert.equal(await ann.page.locator('.tile.remote[data-participant="ben"] .name').textContent(), 'ben');
        const negotiations = {};
        const frames = {}; // each page's partner tile so far: the new partner's must add to it
        for (const [who, p] of Object.entries(pages)) {
          const st = await stateOf(p.page);
          negotiations[who] = st.negotiations;
          frames[who] = st.remote[0]?.framesPresented ?? 0;
        }
        const untilPartnerFrames = (p, partner) =>
          p.page.waitForFunction(([w, f]) => window.omnicastRoom.remote.some((r) => r.participant === w &&
            r.framesPresented > f + 3), [partner, frames[p.label]], { timeout: 10000, polling: 20 });

        // ann moves on: cat was waiting, so one of ann and ben is paired with cat now.
        const tNext = Date.now();
        await ann.page.click('#next');
        await ann.page.waitForFunction(() => window.omnicastRoom.partner !== 'ben', null, { timeout: 10000 });
        const catPartner = await waitFor('cat to be paired', async () => (await stateOf(cat.page)).partner,
          { timeoutMs: 10000, intervalMs: 50 });
        assert.ok(['ann', 'ben'].includes(catPartner), `cat's partner: ${catPartner}`);
        const other = pages[catPartner];
        assert.equal((await stateOf(other.page)).partner, 'cat');
        await untilPartnerFrames(cat, catPartner);
        await untilPartnerFrames(other, 'cat');
        t.diagnostic(`next → the new pair (cat + ${catPartner}) sees each other: ${Date.now() - tNext} ms`);
        await assertPlays(cat, catPartner, ' after next');
        await assertPlays(other, 'cat', ' after next');
        // The partner consumers were re-pointed: cat's producers, without another offer.
        const catProducers = (await stateOf(cat.page)).published.map((x) => x.producer_id).sort();
        assert.deepEqual([...(await remoteOf(other.page, 'cat')).producerIds].sort(), catProducers);
        for (const [who, p] of Object.entries(pages))
          assert.equal((await stateOf(p.page)).negotiations, negotiations[who], `${who} made no new offer for next`);
        for (const p of Object.values(pages)) assert.deepEqual((await stateOf(p.page)).errors, [], `${p.label} saw no error`);
        expectStatus(await api.end(s), 200);
      });
    });
});
