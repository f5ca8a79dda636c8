// The Stage end to end with real peers (docs/stage.md): ffmpeg publishes testsrc2 + sine over
// RTMP with the stream key prepare hands out; ffmpeg and ffprobe read the LL-HLS back and decode
// it; the playlists pass the LL-HLS checker (lib/llhls_check.mjs); blocking reloads, preload
// hints and delta updates behave as the spec says; keys are checked and refusals land in the
// ledger; a dropped publisher comes back within the grace period or the session ends.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { OmnicastNode, freePort, waitFor } from './lib/node.mjs';
import { Api, expectStatus, prepared, uniqueId } from './lib/http.mjs';
import { checkMediaPlaylist, checkMultivariant } from './lib/llhls_check.mjs';
import { decode, expectRefused, fetchRaw, probe, publish, requireTool } from './lib/stage.mjs';

const GRACE_S = 4;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('stage: RTMP ingest to LL-HLS', () => {
  let node, acme;
  before(async () => {
    requireTool('ffmpeg');
    requireTool('ffprobe');
    // 1 s segments so that delta updates (CAN-SKIP-UNTIL = 6 target durations) show up quickly.
    node = await OmnicastNode.start({
      name: 'stage',
      // A fixed RTMP port: publishers reconnect to the same URL after the restart test.
      options: { 'stage.rtmp_port': await freePort(), 'stage.reconnect_grace_s': GRACE_S, 'stage.segment_target_ms': 1000, 'quotas.live_sessions_per_tenant': 32 },
    });
    acme = new Api(node, { tenant: 'acme', user: 'alice' });
  });
  after(() => node?.stop());

  // A stage prepared and put live by its own owner and device.
  async function stage(args = {}) {
    const api = acme.with({ user: uniqueId('u'), device: uniqueId('dev') });
    const s = await prepared(api, 'stage', args);
    const g = expectStatus(await api.goLive(s), 200);
    assert.equal(g.state, 'publishing', 'live only once media arrives');
    assert.equal(g.playback.type, 'll-hls');
    return { api, s, playback: g.playback.url };
  }
  const session = async (api, s) => expectStatus(await api.getSession(s.session_id), 200);
  const untilState = (api, s, state, timeoutMs = 15000) =>
    waitFor(`session ${s.session_id} to be ${state}`, async () => (await session(api, s)).state === state, { timeoutMs, intervalMs: 100 });
  const mediaUrl = (playback) => playback.replace('index.m3u8', 'media.m3u8');
  // ffmpeg's HLS demuxer reads whole segments only (no parts): give it two complete ones.
  const untilSegments = (playback, n = 2) =>
    waitFor(`${n} complete segments`, async () => ((await mediaPlaylist(playback)).text.match(/#EXTINF:/g) || []).length >= n,
      { timeoutMs: 20000, intervalMs: 200 });
  async function mediaPlaylist(playback, query = '', opts = {}) {
    const sep = mediaUrl(playback).includes('?') ? '&' : '?';
    const r = await fetchRaw(node, mediaUrl(playback) + (query ? sep + query : ''), opts);
    return r;
  }

  test('prepare(stage) hands out an RTMP ingest with a per-session key', async () => {
    const api = acme.with({ user: uniqueId('u'), device: uniqueId('dev') });
    const s = await prepared(api, 'stage');
    assert.equal(s.ingest.type, 'rtmp');
    assert.match(s.ingest.server, /^rtmp:\/\/127\.0\.0\.1:\d+\/live$/);
    assert.ok(s.ingest.stream_key.startsWith(s.session_id + '.'));
    assert.equal(s.ingest.url, `${s.ingest.server}/${s.ingest.stream_key}`);
    const other = await prepared(acme.with({ user: uniqueId('u'), device: uniqueId('dev') }), 'stage');
    assert.notEqual(other.ingest.stream_key.split('.')[1], s.ingest.stream_key.split('.')[1], 'keys differ per session');
    // Before any publisher, the stage has nothing to play.
    const r = await fetchRaw(node, s.playback.url.replace('index.m3u8', 'media.m3u8'));
    assert.equal(r.status, 404);
    assert.equal(JSON.parse(r.text).error.code, 'not_found');
  });

  test('ffmpeg publishes; the session goes live; ffmpeg and ffprobe decode the LL-HLS; playlists pass the checker', async () => {
    const { api, s, playback } = await stage();
    const pub = publish(s.ingest.url, { seconds: 40 });
    try {
      await untilState(api, s, 'live');
      const live = await session(api, s);
      assert.equal(live.live, true);

      const mv = await fetchRaw(node, playback);
      assert.equal(mv.status, 200, mv.text);
      assert.equal(mv.headers['content-type'], 'application/vnd.apple.mpegurl');
      assert.equal(mv.headers['access-control-allow-origin'], '*');
      const variant = checkMultivariant(mv.text);
      assert.match(mv.text, /CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
      assert.match(mv.text, /RESOLUTION=640x360/);
      assert.ok(variant);

      const m = await mediaPlaylist(playback);
      assert.equal(m.status, 200, m.text);
      assert.match(m.headers['cache-control'], /max-age=\d/);
      const summary = checkMediaPlaylist(m.text);
      assert.ok(summary.partTarget <= 0.334, `PART-TARGET ${summary.partTarget}`);

      // The parts and segments a CDN may keep: immutable; the right media type.
      const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(m.text)[1];
      const part = [...m.text.matchAll(/#EXT-X-PART:[^\n]*URI="([^"]+)"/g)].at(-1)[1];
      for (const uri of [init, part]) {
        const r = await fetchRaw(node, new URL(uri, new URL(mediaUrl(playback), node.baseUrl)).href);
        assert.equal(r.status, 200, `${uri}: ${r.text.slice(0, 200)}`);
        assert.equal(r.headers['content-type'], uri === init ? 'video/mp4' : 'video/iso.segment');
        assert.match(r.headers['cache-control'], /immutable/);
        assert.ok(r.raw.length > 0);
      }

      await untilSegments(playback);
      await decode(new URL(playback, node.baseUrl).href, 10);
      const p = await probe(new URL(playback, node.baseUrl).href, 4);
      const v = p.streams.find((x) => x.codec_type === 'video');
      const a = p.streams.find((x) => x.codec_type === 'audio');
      assert.equal(v.codec_name, 'h264');
      assert.equal(`${v.width}x${v.height}`, '640x360');
      assert.equal(a.codec_name, 'aac');
      assert.ok(Number(v.nb_read_frames) >= 60, `ffprobe read ${v.nb_read_frames} video frames in 4 s`);

      // The ingest metrics of this session.
      const metrics = (await fetchRaw(node, '/metrics')).text;
      const bps = new RegExp(`omnicast_stage_ingest_bitrate_bps\\{session="${s.session_id}"\\} ([0-9.e+]+)`).exec(metrics);
      const fps = new RegExp(`omnicast_stage_ingest_fps\\{session="${s.session_id}"\\} ([0-9.e+]+)`).exec(metrics);
      assert.ok(bps && Number(bps[1]) > 100e3, `ingest bitrate: ${bps?.[1]}`);
      assert.ok(fps && Math.abs(Number(fps[1]) - 30) < 6, `ingest fps: ${fps?.[1]}`);
      assert.match(metrics, /omnicast_stage_requests_total\{kind="part"\} [1-9]/);
    } finally {
      pub.kill();
      await pub.exited;
    }
    expectStatus(await api.end(s), 200);
  });

  test('a publisher that connects before go_live: packaged at once, live the moment go_live commits', async () => {
    const api = acme.with({ user: uniqueId('u'), device: uniqueId('dev') });
    const s = await prepared(api, 'stage');
    const pub = publish(s.ingest.url, { seconds: 30 });
    try {
      await waitFor('parts before go_live', async () => (await mediaPlaylist(s.playback.url)).status === 200,
        { timeoutMs: 10000, intervalMs: 100 });
      assert.equal((await session(api, s)).state, 'prepared', 'media alone does not make a session live');
      expectStatus(await api.goLive(s), 200);
      await untilState(api, s, 'live', 5000);
    } finally {
      pub.kill();
      await pub.exited;
    }
    expectStatus(await api.end(s), 200);
  });

  test('blocking playlist reload, preload-hinted parts, far-future requests, delta updates', async () => {
    const { api, s, playback } = await stage();
    const pub = publish(s.ingest.url, { seconds: 40 });
    try {
      await untilState(api, s, 'live');
      // Enough history for a delta update: more than CAN-SKIP-UNTIL (6 target durations).
      await waitFor('8 s of segments', async () => checkMediaPlaylist((await mediaPlaylist(playback)).text).segments.length >= 9,
        { timeoutMs: 30000, intervalMs: 500 });

      for (let i = 0; i < 5; ++i) {
        const now = checkMediaPlaylist((await mediaPlaylist(playback)).text);
        const want = { msn: now.lastMsn, part: now.lastPart + 1 };
        const r = await mediaPlaylist(playback, `_HLS_msn=${want.msn}&_HLS_part=${want.part}`);
        assert.equal(r.status, 200, r.text);
        const after = checkMediaPlaylist(r.text);
        const has = after.lastMsn > want.msn || (after.lastMsn === want.msn && after.lastPart >= want.part);
        assert.ok(has, `the answer holds part ${want.msn}.${want.part} (it ends at ${after.lastMsn}.${after.lastPart})`);
        // Returned when that part was published: within about one part duration, not long after.
        assert.ok(r.ms < now.partTarget * 1000 * 2 + 300, `blocked ${r.ms.toFixed(0)} ms for the next part`);
        assert.match(r.headers['cache-control'], /max-age=\d/);
      }

      // The preload-hinted part: its request blocks until the part exists, then serves it.
      const text = (await mediaPlaylist(playback)).text;
      const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(text)[1];
      const hinted = await fetchRaw(node, new URL(hint, new URL(mediaUrl(playback), node.baseUrl)).href);
      assert.equal(hinted.status, 200, hinted.text.slice(0, 300));
      assert.ok(hinted.raw.length > 0);
      assert.ok(hinted.ms > 5 && hinted.ms < 1500, `the hinted part came after ${hinted.ms.toFixed(0)} ms`);

      // Far in the future: refused at once (400), as the spec says.
      const cur = checkMediaPlaylist(text);
      const far = await mediaPlaylist(playback, `_HLS_msn=${cur.lastMsn + 10}`);
      assert.equal(far.status, 400, far.text);
      assert.ok(far.ms < 500);
      // From a fresh playlist: the one above may be a segment old by now (the hinted part waited).
      const now = checkMediaPlaylist((await mediaPlaylist(playback)).text);
      const farPart = await mediaPlaylist(playback, `_HLS_msn=${now.lastMsn + 1}&_HLS_part=20`);
      assert.equal(farPart.status, 400, farPart.text);
      const noMsn = await mediaPlaylist(playback, '_HLS_part=1');
      assert.equal(noMsn.status, 400);
      const garbage = await mediaPlaylist(playback, '_HLS_msn=12x');
      assert.equal(garbage.status, 400);
      assert.equal(JSON.parse(garbage.text).error.code, 'invalid_argument');

      // Delta update: EXT-X-SKIP replaces the older segments.
      const delta = await mediaPlaylist(playback, '_HLS_skip=YES');
      assert.equal(delta.status, 200);
      const d = checkMediaPlaylist(delta.text, { expectSkip: true });
      assert.ok(d.skipped > 0, 'segments were skipped');
    } finally {
      pub.kill();
      await pub.exited;
    }
    expectStatus(await api.end(s), 200);
  });

  test('a wrong key and an ended key are refused at publish, and the refusals are in the ledger', async () => {
    const { api, s } = await stage();
    const wrong = `${s.ingest.server}/${s.session_id}.${'A'.repeat(24)}`;
    await expectRefused(wrong);
    await expectRefused(`${s.ingest.server}/nonsense`);
    expectStatus(await api.end(s), 200);
    await expectRefused(s.ingest.url);
    // Audit records are appended after the refusal is answered: wait for both.
    let denied = [];
    const reasons = () => denied.filter((r) => r.payload.subject === s.session_id).map((r) => r.payload.reason);
    await waitFor('both auth.denied records', async () => {
      denied = node.dump('--kind', 'auth.denied').filter((r) => r.payload.action === 'stage.publish');
      return reasons().includes('ingest_key_invalid') && reasons().includes('session_ended');
    }, { timeoutMs: 5000, intervalMs: 200 });
    assert.ok(denied.every((r) => r.payload.principal.startsWith('rtmp:127.0.0.1:')));
    const metrics = (await fetchRaw(node, '/metrics')).text;
    assert.match(metrics, /omnicast_stage_rtmp_publish_refused_total [3-9]/);
  });

  test('a publisher killed and back within the grace period continues after a discontinuity', async () => {
    const { api, s, playback } = await stage();
    const media = (uri) => new URL(uri, new URL(mediaUrl(playback), node.baseUrl)).href;
    let pub = publish(s.ingest.url, { seconds: 60 });
    try {
      await untilState(api, s, 'live');
      await untilSegments(playback);
      const before = checkMediaPlaylist((await mediaPlaylist(playback)).text);
      pub.kill();
      await pub.exited;
      await untilState(api, s, 'publishing', 5000);
      // The same encoder settings (an OBS reconnect): the same init segment, a discontinuity, and
      // a player reads straight across it.
      pub = publish(s.ingest.url, { seconds: 60 });
      await untilState(api, s, 'live');
      await waitFor('segments after the reconnect', async () => {
        const t = (await mediaPlaylist(playback)).text;
        return t.includes('#EXT-X-DISCONTINUITY') && checkMediaPlaylist(t).lastMsn >= before.lastMsn + 3;
      }, { timeoutMs: 20000, intervalMs: 300 });
      const t = (await mediaPlaylist(playback)).text;
      assert.ok(checkMediaPlaylist(t).lastMsn > before.lastMsn, 'media sequence continues');
      await decode(new URL(playback, node.baseUrl).href, 4);

      // Other settings: a new init segment (EXT-X-MAP) after the next discontinuity, which
      // decodes at the new size.
      pub.kill();
      await pub.exited;
      await untilState(api, s, 'publishing', 5000);
      pub = publish(s.ingest.url, { seconds: 60, size: '480x270' });
      await untilState(api, s, 'live');
      let seg;
      await waitFor('a complete segment with the new init', async () => {
        const text = (await mediaPlaylist(playback)).text;
        const m = /#EXT-X-MAP:URI="(init-2\.mp4[^"]*)"[\s\S]*?#EXTINF:[^\n]*\n(\S+)/.exec(text);
        if (m) seg = { init: m[1], seg: m[2] };
        return !!m;
      }, { timeoutMs: 20000, intervalMs: 300 });
      const bytes = Buffer.concat([(await fetchRaw(node, media(seg.init))).raw, (await fetchRaw(node, media(seg.seg))).raw]);
      const file = path.join(node.dataDir, '..', 'after-reconnect.mp4');
      fs.writeFileSync(file, bytes);
      const p = await probe(file, 10);
      const v = p.streams.find((x) => x.codec_type === 'video');
      assert.equal(`${v.width}x${v.height}`, '480x270');
      assert.ok(Number(v.nb_read_frames) >= 30);

      const kinds = node.dump('--actor', s.session_id).map((r) => [r.kind, r.payload.reason ?? r.payload.source ?? '']);
      const offs = kinds.filter(([k, why]) => k === 'stream.live.off' && why === 'publisher_lost').length;
      const ons = kinds.filter(([k]) => k === 'stream.live.on').length;
      assert.equal(offs, 2, JSON.stringify(kinds));
      assert.equal(ons, 3, JSON.stringify(kinds));
      assert.equal((await session(api, s)).state, 'live');
    } finally {
      pub.kill();
      await pub.exited;
    }
    expectStatus(await api.end(s), 200);
  });

  test('a publisher that does not come back: the session ends on its own after the grace period', async () => {
    const { api, s, playback } = await stage();
    const pub = publish(s.ingest.url, { seconds: 60 });
    await untilState(api, s, 'live');
    await waitFor('a part', async () => (await mediaPlaylist(playback)).status === 200, { timeoutMs: 10000, intervalMs: 100 });
    pub.kill();
    await pub.exited;
    const t0 = Date.now();
    await untilState(api, s, 'archived', (GRACE_S + 10) * 1000);
    const waited = (Date.now() - t0) / 1000;
    assert.ok(waited >= GRACE_S - 1.5, `ended after ${waited} s, before the ${GRACE_S} s grace period`);
    const ended = await session(api, s);
    assert.equal(ended.end_reason, 'publisher_timeout');
    const last = await mediaPlaylist(playback);
    if (last.status === 200) assert.match(last.text, /#EXT-X-ENDLIST/);
    await expectRefused(s.ingest.url);
  });

  test('a node restart while a stage is live: the publisher gets its grace period on the new node', async () => {
    const { api, s, playback } = await stage();
    let pub = publish(s.ingest.url, { seconds: 60 });
    try {
      await untilState(api, s, 'live');
      await node.restart(); // SIGTERM: exit 0; the publisher's connection is cut
      await pub.exited;
      // A restart appends nothing: the session is folded back live, and its publisher has the
      // grace period to come back to the new node.
      assert.equal((await session(api, s)).state, 'live');
      pub = publish(s.ingest.url, { seconds: 60 });
      await waitFor('a playlist on the new node', async () => (await mediaPlaylist(playback)).status === 200, { timeoutMs: 10000 });
      await sleep((GRACE_S + 1) * 1000);
      assert.equal((await session(api, s)).state, 'live', 'the publisher came back in time: still live');
      assert.deepEqual(node.dump('--actor', s.session_id).filter((r) => r.kind === 'stream.live.off'), []);
      // Restarted again, and this time nobody comes back: the session ends after the grace period.
      pub.kill();
      await pub.exited;
      await node.restart();
      await untilState(api, s, 'archived', (GRACE_S + 10) * 1000);
      assert.equal((await session(api, s)).end_reason, 'publisher_timeout');
      return;
    } finally {
      pub.kill();
      await pub.exited;
    }
    expectStatus(await api.end(s), 200);
  });

  test('a members-only stage needs its signed playback URL on every request', async () => {
    const { api, s, playback } = await stage({ audience: 'members' });
    assert.match(playback, /\?exp=\d+&sig=[A-Za-z0-9_-]+$/);
    const pub = publish(s.ingest.url, { seconds: 30 });
    try {
      await untilState(api, s, 'live');
      await untilSegments(playback);
      const bare = playback.split('?')[0];
      const r = await fetchRaw(node, bare);
      assert.equal(r.status, 401);
      assert.equal(JSON.parse(r.text).error.code, 'unauthenticated');
      const forged = await fetchRaw(node, playback.replace(/sig=[A-Za-z0-9_-]+/, 'sig=' + 'A'.repeat(43)));
      assert.equal(forged.status, 403);
      const ok = await fetchRaw(node, playback);
      assert.equal(ok.status, 200);
      const media = /^(?!#)(\S+)$/m.exec(ok.text)[1];
      assert.match(media, /\?exp=\d+&sig=/, 'the media playlist URI carries the signature');
      const m = await fetchRaw(node, new URL(media, new URL(bare, node.baseUrl)).href);
      assert.equal(m.status, 200);
      for (const uri of [...m.text.matchAll(/URI="([^"]+)"/g)].map((x) => x[1]))
        assert.match(uri, /\?exp=\d+&sig=/, `${uri} carries the signature`);
      assert.match(m.headers['cache-control'], /private/);
      await decode(new URL(playback, node.baseUrl).href, 3);
    } finally {
      pub.kill();
      await pub.exited;
    }
    expectStatus(await api.end(s), 200);
  });

  test('ten stages at once, each with its own ffmpeg publisher, all decodable', async () => {
    const stages = [];
    for (let i = 0; i < 10; ++i) stages.push(await stage());
    const pubs = stages.map(({ s }) => publish(s.ingest.url, { seconds: 40, size: '320x180', bitrate: '300k' }));
    try {
      await Promise.all(stages.map(({ api, s }) => untilState(api, s, 'live', 30000)));
      for (const { playback } of stages) await untilSegments(playback);
      for (const { playback } of stages) {
        const p = await probe(new URL(playback, node.baseUrl).href, 2);
        const v = p.streams.find((x) => x.codec_type === 'video');
        assert.equal(`${v.width}x${v.height}`, '320x180');
        assert.ok(Number(v.nb_read_frames) >= 30, `${playback}: ${v.nb_read_frames} frames`);
      }
      const metrics = (await fetchRaw(node, '/metrics')).text;
      assert.match(metrics, /omnicast_stage_live_sessions (1[0-9]|[2-9][0-9])/);
    } finally {
      for (const p of pubs) p.kill();
      await Promise.all(pubs.map((p) => p.exited));
    }
    for (const { api, s } of stages) expectStatus(await api.end(s), 200);
  });
});
