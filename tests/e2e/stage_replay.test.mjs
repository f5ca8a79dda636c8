// Recording, replay, snapshots and the Stage page with real peers (docs/stage.md, "Recording,
// replay and snapshots", "The Stage page"): ffmpeg publishes over RTMP; ffmpeg/ffprobe read the
// live stream, the snapshot JPEG and the replay; the ledger's recording events (through
// `omnicast-replay audit consent`) bracket what the replay holds; headless Chromium plays the
// Stage page through offline → live → replay in one <video> element.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { OmnicastNode, freePort, makeTempDir, waitFor } from './lib/node.mjs';
import { Api, expectStatus, prepared, uniqueId } from './lib/http.mjs';
import { fetchRaw, publish, requireTool, run } from './lib/stage.mjs';

const require = createRequire(import.meta.url);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SEGMENT_S = 1;

// Seconds of media in a file or URL, by ffprobe (container duration).
async function duration(url) {
  const r = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'json', url]);
  assert.equal(r.code, 0, `ffprobe ${url}: ${r.stderr.slice(0, 1000)}`);
  return Number(JSON.parse(r.stdout).format.duration);
}

// Mean luma (0-255) of an image or a video's first frame, decoded by ffmpeg to 64x36 gray.
async function meanLuma(url) {
  const out = path.join(makeTempDir('omnicast-luma-'), 'gray.raw');
  const r = await run('ffmpeg', ['-v', 'error', '-y', '-i', url, '-frames:v', '1', '-vf', 'scale=64:36', '-f', 'rawvideo',
    '-pix_fmt', 'gray', out]);
  assert.equal(r.code, 0, `ffmpeg could not decode ${url}: ${r.stderr.slice(0, 1000)}`);
  const px = fs.readFileSync(out);
  assert.equal(px.length, 64 * 36);
  return px.reduce((a, b) => a + b, 0) / px.length;
}

describe('stage: recording, replay, snapshots', () => {
  let node, acme;
  before(async () => {
    requireTool('ffmpeg');
    requireTool('ffprobe');
    node = await OmnicastNode.start({
      name: 'stage-replay',
      options: {
        'stage.rtmp_port': await freePort(),
        'stage.reconnect_grace_s': 8,
        'stage.segment_target_ms': SEGMENT_S * 1000,
        'stage.page_tenant': 'acme',
        'quotas.live_sessions_per_tenant': 32,
      },
    });
    acme = new Api(node, { tenant: 'acme', user: 'alice' });
  });
  after(() => node?.stop());

  const session = async (api, s) => expectStatus(await api.getSession(s.session_id), 200);
  const untilState = (api, s, state, timeoutMs = 20000) =>
    waitFor(`session ${s.session_id} to be ${state}`, async () => (await session(api, s)).state === state,
      { timeoutMs, intervalMs: 100 });
  const recordedSegments = (s) => {
    const manifest = path.join(node.dataDir, 'recordings', s.session_id, 'manifest');
    return fs.existsSync(manifest) ? (fs.readFileSync(manifest, 'utf8').match(/^segment /gm) || []).length : 0;
  };
  async function replayLink(api, id) {
    const link = expectStatus(await api.post(`/v1/media/${id}/link`, { meta: api.meta('stage') }), 200);
    return new URL(link.url, node.baseUrl).href;
  }
  const auditRecordings = (s) => {
    const r = node.replay('audit', 'consent', '--session', s.session_id, '--json');
    assert.equal(r.status, 0, `audit consent: ${r.stderr}${r.stdout.slice(0, 1000)}`);
    return JSON.parse(r.stdout);
  };

  test('seed §12 smoke: prepare → go_live(recording) → first frame → snapshot → end → the replay plays', async () => {
    const api = acme.with({ user: uniqueId('u'), device: uniqueId('dev') });
    const s = await prepared(api, 'stage');
    const live = expectStatus(await api.goLive(s, { recording: true }), 200);
    assert.equal(live.recording, true);
    const early = await api.snapshot(s);
    expectStatus(early, 409, 'no_media_source');

    const pub = publish(s.ingest.url, { seconds: 60 });
    try {
      await untilState(api, s, 'live');
      // First frame in a real player: ffmpeg reads the live stream and decodes a picture.
      const playback = new URL(live.playback.url, node.baseUrl).href;
      await waitFor('two segments', async () => ((await fetchRaw(node, live.playback.url.replace('index.m3u8', 'media.m3u8'))).text
        .match(/#EXTINF:/g) || []).length >= 2, { timeoutMs: 20000, intervalMs: 200 });
      assert.ok(await meanLuma(playback) > 30, 'the live picture is not black');

      const shot = expectStatus(await api.snapshot(s), 200);
      assert.match(shot.thumb_media_id, /^md_/);
      assert.equal(`${shot.width}x${shot.height}`, '640x360');
      const thumb = await replayLink(api, shot.thumb_media_id);
      const jpeg = await fetchRaw(node, thumb);
      assert.equal(jpeg.status, 200);
      assert.equal(jpeg.headers['content-type'], 'image/jpeg');
      assert.deepEqual([...jpeg.raw.subarray(0, 2)], [0xff, 0xd8], 'a JPEG');
      const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', thumb]);
      assert.equal(JSON.parse(probe.stdout).streams[0].codec_name, 'mjpeg');
      assert.ok(await meanLuma(thumb) > 30, 'the snapshot is not black');
      const media = expectStatus(await api.get(`/v1/media/${shot.thumb_media_id}`), 200);
      assert.equal(media.source, 'snapshot');
      assert.equal(media.session_id, s.session_id);

      await waitFor('6 recorded segments', async () => recordedSegments(s) >= 6, { timeoutMs: 30000, intervalMs: 250 });
    } finally {
      pub.kill();
    }
    const ended = expectStatus(await api.end(s), 200);
    assert.match(ended.replay_media_id ?? '', /^md_.*_replay$/, JSON.stringify(ended));
    const after = await session(api, s);
    assert.equal(after.state, 'archived');
    assert.equal(after.replay_media_id, ended.replay_media_id);
    const { recordings } = auditRecordings(s);
    assert.equal(recordings.length, 1);
    const recorded_s = recordings[0].duration_us / 1e6;

    // The MP4 from get_link: ffprobe's duration is what was recorded, within one segment (the
    // recording starts at the first segment boundary after recording.start).
    const url = await replayLink(api, ended.replay_media_id);
    const mp4 = await duration(url);
    assert.ok(Math.abs(mp4 - after.replay_duration_s) < 0.2, `mp4 ${mp4} s vs replay.ready ${after.replay_duration_s} s`);
    assert.ok(mp4 <= recorded_s + 0.2 && mp4 >= recorded_s - SEGMENT_S - 0.5,
      `replay ${mp4} s, recording.start→stop ${recorded_s} s`);
    const decoded = await run('ffmpeg', ['-v', 'error', '-i', url, '-f', 'null', '-']);
    assert.equal(decoded.code, 0);
    assert.equal(decoded.stderr.trim(), '', decoded.stderr.slice(0, 1000));
    const head = await fetchRaw(node, url);
    assert.equal(head.headers['content-type'], 'video/mp4');
    assert.ok(head.raw.indexOf(Buffer.from('moov')) < head.raw.indexOf(Buffer.from('mdat')), 'fast start: moov before mdat');

    // The HLS VOD replay, from the stage's playback URL.
    const vod = await fetchRaw(node, `/v1/stage/${s.session_id}/replay.m3u8`);
    assert.equal(vod.status, 200, vod.text);
    assert.match(vod.text, /#EXT-X-PLAYLIST-TYPE:VOD/);
    assert.match(vod.text, /#EXT-X-ENDLIST/);
    const hls = await duration(new URL(`/v1/stage/${s.session_id}/replay.m3u8`, node.baseUrl).href);
    assert.ok(Math.abs(hls - mp4) < 0.3, `HLS replay ${hls} s vs mp4 ${mp4} s`);

    const kinds = node.dump('--actor', s.session_id).map((r) => r.kind);
    assert.deepEqual(kinds.slice(-2), ['replay.ready', 'stream.session.archived']);
    const produced = node.dump('--kind', 'media.produced').filter((r) => r.payload.session_id === s.session_id);
    assert.deepEqual(produced.map((r) => r.payload.source).sort(), ['replay', 'replay_playlist', 'snapshot']);

    const metrics = (await fetchRaw(node, '/metrics')).text;
    for (const m of ['omnicast_stage_replays_published_total', 'omnicast_stage_snapshots_total',
      'omnicast_stage_recorded_bytes_total'])
      assert.ok(Number(new RegExp(`^${m} ([0-9.e+]+)$`, 'm').exec(metrics)?.[1]) > 0, `${m} counts`);
  });

  test('recording is refused without consent; a revoked consent stops it and the replay holds only the consented part', async () => {
    const api = acme.with({ user: uniqueId('u'), device: uniqueId('dev') });
    const s = await prepared(api, 'stage');
    // A co-host in the stage's room who has not consented: the gate refuses recording.
    const guest = uniqueId('g');
    expectStatus(await api.join(s, { participant: guest, role: 'pub' }), 200);
    const refused = await api.goLive(s, { recording: true });
    expectStatus(refused, 409, 'consent_required');
    assert.deepEqual(refused.body.error.details.missing, [guest]);
    expectStatus(await api.post(`/v1/rooms/${s.room_id}/leave`, { meta: api.meta('stage'), participant: guest }), 200);
    expectStatus(await api.goLive(s, { recording: true }), 200);

    const pub = publish(s.ingest.url, { seconds: 60 });
    try {
      await untilState(api, s, 'live');
      await waitFor('4 recorded segments', async () => recordedSegments(s) >= 4, { timeoutMs: 30000, intervalMs: 250 });
      // The creator takes their consent back: recording stops before the consent ends.
      const revoked = expectStatus(await api.consent(s, { consent: false }), 200);
      assert.equal(revoked.recording, false);
      const atStop = recordedSegments(s);
      await sleep(5000);  // live goes on, unrecorded
      assert.ok(recordedSegments(s) <= atStop + 1, 'nothing is recorded after the stop (but the cut segment)');
      // …and on again: recording resumes mid-stream.
      expectStatus(await api.consent(s, { consent: true }), 200);
      const again = expectStatus(await api.post(`/v1/streams/${s.session_id}/recording`,
        { meta: api.meta('stage'), recording: true }), 200);
      assert.equal(again.recording, true);
      await waitFor('3 more recorded segments', async () => recordedSegments(s) >= atStop + 3, { timeoutMs: 30000, intervalMs: 250 });
    } finally {
      pub.kill();
    }
    const ended = expectStatus(await api.end(s), 200);
    const audit = auditRecordings(s);
    assert.equal(audit.ok, true);
    assert.equal(audit.recordings.length, 2);
    assert.equal(audit.recordings[0].stop_reason, 'consent_revoked');
    const recorded_s = audit.recordings.reduce((a, r) => a + r.duration_us / 1e6, 0);
    const mp4 = await duration(await replayLink(api, ended.replay_media_id));
    // Each interval loses at most one segment at its start; nothing outside them is in the replay.
    assert.ok(mp4 <= recorded_s + 0.3, `replay ${mp4} s exceeds the consented ${recorded_s} s`);
    assert.ok(mp4 >= recorded_s - 2 * (SEGMENT_S + 0.5), `replay ${mp4} s, consented ${recorded_s} s`);
  });

  test('a node restart while a recorded stage is live: the replay holds what was recorded before and after', async () => {
    const api = acme.with({ user: uniqueId('u'), device: uniqueId('dev') });
    const s = await prepared(api, 'stage');
    expectStatus(await api.goLive(s, { recording: true }), 200);
    let pub = publish(s.ingest.url, { seconds: 60 });
    let before = 0;
    try {
      await untilState(api, s, 'live');
      await waitFor('4 recorded segments', async () => recordedSegments(s) >= 4, { timeoutMs: 30000, intervalMs: 250 });
      before = recordedSegments(s);
      await node.restart();
    } finally {
      pub.kill();
    }
    pub = publish(s.ingest.url, { seconds: 60 });
    try {
      await untilState(api, s, 'live');
      await waitFor('4 more recorded segments', async () => recordedSegments(s) >= before + 4, { timeoutMs: 30000, intervalMs: 250 });
    } finally {
      pub.kill();
    }
    const ended = expectStatus(await api.end(s), 200);
    const segments = recordedSegments(s);
    const after = await session(api, s);
    const mp4 = await duration(await replayLink(api, ended.replay_media_id));
    assert.ok(segments >= before + 4);
    assert.ok(mp4 >= (segments - 1) * SEGMENT_S * 0.9, `replay ${mp4} s holds the ${segments} recorded segments`);
    assert.ok(Math.abs(mp4 - after.replay_duration_s) < 0.3, `mp4 ${mp4} s vs replay.ready ${after.replay_duration_s} s`);
    const vod = await fetchRaw(node, `/v1/stage/${s.session_id}/replay.m3u8`);
    assert.match(vod.text, /#EXT-X-DISCONTINUITY/, 'the restart is a discontinuity in the replay');
  });

  test('the Stage page plays offline → live → replay in one <video> element (headless Chromium)', async () => {
    const { chromium } = require('playwright-core');
    const user = uniqueId('star');
    const api = acme.with({ user, device: uniqueId('dev') });
    const doc = async () => JSON.parse((await fetchRaw(node, `/v1/stage/@${user}`)).text);
    assert.equal((await doc()).state, 'offline');
    const link = await fetchRaw(node, `/open?uri=${encodeURIComponent(`omni://stage/${user}`)}`);
    assert.equal(link.status, 302);
    assert.equal(link.headers.location, `/@${user}`);

    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium', headless: true,
      args: ['--autoplay-policy=no-user-gesture-required', '--mute-audio', '--no-sandbox'],
    });
    let pub;
    try {
      const page = await browser.newPage({ viewport: { width: 960, height: 700 } });
      await page.goto(new URL(`/@${user}`, node.baseUrl).href);
      await page.waitForFunction(() => window.omnicastStage && window.omnicastStage.state === 'offline', null, { timeout: 15000 });
      await page.evaluate(() => { window.firstVideo = document.querySelector('video'); });

      const s = await prepared(api, 'stage');
      expectStatus(await api.goLive(s, { recording: true }), 200);
      pub = publish(s.ingest.url, { seconds: 90 });
      await page.waitForFunction(() => window.omnicastStage.state === 'live', null, { timeout: 30000 });
      // currentTime advances and the picture is not black.
      const t0 = await page.evaluate(() => document.querySelector('video').currentTime);
      await page.waitForFunction((t) => document.querySelector('video').currentTime > t + 2, t0, { timeout: 20000 });
      const shot = await page.locator('video').screenshot();
      const png = path.join(makeTempDir('omnicast-page-'), 'live.png');
      fs.writeFileSync(png, shot);
      assert.ok(await meanLuma(png) > 30, 'the live picture in the page is not black');
      await page.waitForFunction(() => window.omnicastStage.latency > 0, null, { timeout: 15000 });
      assert.ok(await page.locator('#latency').isVisible(), 'the page shows the live latency');
      // The publisher drops and comes back (within the grace period): the page plays on by itself.
      pub.kill();
      await sleep(1500);
      pub = publish(s.ingest.url, { seconds: 90 });
      await untilState(api, s, 'live');
      const t1 = await page.evaluate(() => document.querySelector('video').currentTime);
      await page.waitForFunction((t) => document.querySelector('video').currentTime > t + 3, t1, { timeout: 30000 });
      assert.equal(await page.evaluate(() => window.omnicastStage.state), 'live');

      await waitFor('4 recorded segments', async () => recordedSegments(s) >= 4, { timeoutMs: 30000, intervalMs: 250 });
      pub.kill();
      pub = null;
      expectStatus(await api.end(s), 200);

      await page.waitForFunction(() => window.omnicastStage.state === 'replay', null, { timeout: 30000 });
      await page.waitForFunction(() => {
        const v = document.querySelector('video');
        return window.omnicastStage.url.includes('replay.m3u8') && v.currentTime > 1;
      }, null, { timeout: 30000 });
      const same = await page.evaluate(() => window.firstVideo === document.querySelector('video') &&
        document.querySelectorAll('video').length === 1);
      assert.ok(same, 'the same <video> element played offline, live and the replay');
      const transitions = await page.evaluate(() => window.omnicastStage.transitions.map((t) => t.to));
      assert.equal(transitions[0], 'offline', transitions.join(' → '));
      assert.ok(transitions.includes('live') && transitions.at(-1) === 'replay', transitions.join(' → '));
      const navigations = await page.evaluate(() => performance.getEntriesByType('navigation').length);
      assert.equal(navigations, 1, 'the page never reloaded');
    } finally {
      pub?.kill();
      await browser.close();
    }
  });
});
