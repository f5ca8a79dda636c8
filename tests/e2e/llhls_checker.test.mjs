// The LL-HLS checker itself (lib/llhls_check.mjs): it accepts a correct hand-written playlist in
// the style of draft-pantos-hls-rfc8216bis §9.11 (with omnicast's URI naming and a session
// token on every URI), and rejects one broken variant per rule, naming the rule.
// Run: cd tests/e2e && node --test llhls_checker.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { checkMediaPlaylist, checkMultivariant, parseUriNumbers, RULES } from './lib/llhls_check.mjs';

// Six segments of 2 s (parts of 0.5 s): 100-102 without parts (more than three target durations
// from the end), a reconnect before 103 (discontinuity, new init), 105 open with two parts.
const GOOD = `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.0,HOLD-BACK=6.0,PART-HOLD-BACK=1.5
#EXT-X-PART-INF:PART-TARGET=0.5
#EXT-X-MEDIA-SEQUENCE:100
#EXT-X-DISCONTINUITY-SEQUENCE:2
#EXT-X-MAP:URI="init-7.mp4?token=t0k"
#EXT-X-PROGRAM-DATE-TIME:2026-05-01T12:00:00.000Z
#EXTINF:2.00000,
seg-100.m4s?token=t0k
#EXT-X-PROGRAM-DATE-TIME:2026-05-01T12:00:02.000Z
#EXTINF:2.00000,
seg-101.m4s?token=t0k
#EXT-X-PROGRAM-DATE-TIME:2026-05-01T12:00:04.000Z
#EXTINF:1.90000,
seg-102.m4s?token=t0k
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="init-8.mp4?token=t0k"
#EXT-X-PROGRAM-DATE-TIME:2026-05-01T12:00:09.500Z
#EXT-X-PART:DURATION=0.5,URI="part-103-0.m4s?token=t0k",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI="part-103-1.m4s?token=t0k"
#EXT-X-PART:DURATION=0.5,URI="part-103-2.m4s?token=t0k"
#EXT-X-PART:DURATION=0.5,URI="part-103-3.m4s?token=t0k"
#EXTINF:2.0,
seg-103.m4s?token=t0k
#EXT-X-PROGRAM-DATE-TIME:2026-05-01T12:00:11.500Z
#EXT-X-PART:DURATION=0.5,URI="part-104-0.m4s?token=t0k",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI="part-104-1.m4s?token=t0k"
#EXT-X-PART:DURATION=0.5,URI="part-104-2.m4s?token=t0k"
#EXT-X-PART:DURATION=0.4999,URI="part-104-3.m4s?token=t0k"
#EXTINF:2.0,
seg-104.m4s?token=t0k
#EXT-X-PROGRAM-DATE-TIME:2026-05-01T12:00:13.500Z
#EXT-X-PART:DURATION=0.5,URI="part-105-0.m4s?token=t0k",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI="part-105-1.m4s?token=t0k"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-105-2.m4s?token=t0k"
`;

// The same playlist as a delta update: segments 100 and 101 replaced by EXT-X-SKIP.
const DELTA = GOOD.replace(
  `#EXT-X-MAP:URI="init-7.mp4?token=t0k"
#EXT-X-PROGRAM-DATE-TIME:2026-05-01T12:00:00.000Z
#EXTINF:2.00000,
seg-100.m4s?token=t0k
#EXT-X-PROGRAM-DATE-TIME:2026-05-01T12:00:02.000Z
#EXTINF:2.00000,
seg-101.m4s?token=t0k
`,
  `#EXT-X-SKIP:SKIPPED-SEGMENTS=2
#EXT-X-MAP:URI="init-7.mp4?token=t0k"
`,
);

// The stream ended: the open segment closed, no hint, EXT-X-ENDLIST.
const ENDED = GOOD.replace(
  '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-105-2.m4s?token=t0k"\n',
  '#EXTINF:1.0,\nseg-105.m4s?token=t0k\n#EXT-X-ENDLIST\n',
);

// `text` with `from` replaced by `to`; `from` must occur (or the variant would test nothing).
function variant(text, from, to) {
  assert.ok(text.includes(from), `the playlist has no '${from}'`);
  return text.replace(from, to);
}

// `check` must throw an Error naming `rule`.
function throwsRule(check, rule) {
  assert.throws(check, (e) => {
    assert.ok(e.message.startsWith(`LL-HLS rule [${rule}] broken:`), `expected rule [${rule}], got: ${e.message}`);
    return true;
  });
}

const rejects = (text, rule, options) => throwsRule(() => checkMediaPlaylist(text, options), rule);
const rejectsMultivariant = (text, rule) => throwsRule(() => checkMultivariant(text), rule);

test('parseUriNumbers reads the three names and nothing else', () => {
  assert.deepEqual(parseUriNumbers('part-12-3.m4s'), { kind: 'part', msn: 12, part: 3, query: '' });
  assert.deepEqual(parseUriNumbers('part-0-0.m4s?token=a?b'), { kind: 'part', msn: 0, part: 0, query: '?token=a?b' });
  assert.deepEqual(parseUriNumbers('seg-7.m4s?t=1'), { kind: 'segment', msn: 7, query: '?t=1' });
  assert.deepEqual(parseUriNumbers('https://h/x/init-2.mp4'), { kind: 'init', version: 2, query: '' });
  for (const bad of ['part-012-3.m4s', 'part-1-3.mp4', 'part-1.m4s', 'seg-.m4s', 'seg-01.m4s', 'init-1.m4s',
    'seg-99999999999999999999.m4s', 'index.m3u8', '', undefined, 'part-1--3.m4s'])
    assert.equal(parseUriNumbers(bad), null, String(bad));
});

test('accepts a correct LL-HLS playlist and reports what it read', () => {
  const s = checkMediaPlaylist(GOOD, { expectSkip: false });
  assert.equal(s.version, 9);
  assert.equal(s.targetDuration, 2);
  assert.equal(s.partTarget, 0.5);
  assert.equal(s.mediaSequence, 100);
  assert.equal(s.discontinuitySequence, 2);
  assert.equal(s.canSkipUntil, 12);
  assert.equal(s.holdBack, 6);
  assert.equal(s.partHoldBack, 1.5);
  assert.equal(s.skipped, 0);
  assert.equal(s.ended, false);
  assert.equal(s.lastMsn, 105);
  assert.equal(s.lastPart, 1);
  assert.deepEqual(s.hint, { msn: 105, part: 2, uri: 'part-105-2.m4s?token=t0k' });
  assert.deepEqual(s.segments.map((seg) => seg.msn), [100, 101, 102, 103, 104, 105]);
  assert.deepEqual(s.segments.map((seg) => seg.parts.length), [0, 0, 0, 4, 4, 2]);
  assert.equal(s.segments[3].discontinuity, true);
  assert.equal(s.segments[3].map, 'init-8.mp4?token=t0k');
  assert.equal(s.segments[0].map, 'init-7.mp4?token=t0k');
  assert.equal(s.segments[5].complete, false);
  assert.equal(s.segments[5].durationUs, 1_000_000);
  assert.equal(s.segments[4].parts[3].durationUs, 499_900);
  // The 85% rule as hls-parser applies it and the draft's own count of part age are tolerated
  // where stricter; an EXTINF just under the rounding edge passes.
  checkMediaPlaylist(variant(GOOD, '#EXTINF:1.90000,', '#EXTINF:2.49999,'));
});

test('accepts the delta update and the ended playlist', () => {
  const d = checkMediaPlaylist(DELTA, { expectSkip: true });
  assert.equal(d.skipped, 2);
  assert.equal(d.mediaSequence, 100);
  assert.equal(d.segments[0].msn, 102);
  assert.equal(d.lastMsn, 105);

  const e = checkMediaPlaylist(ENDED);
  assert.equal(e.ended, true);
  assert.equal(e.hint, null);
  assert.equal(e.segments.at(-1).complete, true);
  assert.equal(e.lastMsn, 105);
  assert.equal(e.lastPart, 1);
});

test('rejects broken syntax', () => {
  rejects(GOOD.replace('#EXTM3U\n', ''), RULES.syntax);
  rejects(GOOD.replace(/\n/g, '\r\n'), RULES.syntax);
  rejects(variant(GOOD, '#EXT-X-TARGETDURATION:2\n', ''), RULES.syntax);
  rejects(variant(GOOD, '#EXT-X-PART-INF:PART-TARGET=0.5\n', ''), RULES.syntax);
  rejects(variant(GOOD, 'DURATION=0.5,URI="part-105-1', 'DURATION=half,URI="part-105-1'), RULES.syntax);
  rejects(variant(GOOD, 'URI="part-105-1.m4s?token=t0k"', 'URI="part-105-1.m4s?token=t0k'), RULES.syntax);
  rejects(variant(GOOD, '#EXT-X-MEDIA-SEQUENCE:100\n', '#EXT-X-MEDIA-SEQUENCE:100\n#EXT-X-MEDIA-SEQUENCE:100\n'), RULES.syntax);
});

test('rejects an EXTINF above the target duration (rounded to the nearest integer)', () => {
  rejects(variant(GOOD, '#EXTINF:1.90000,', '#EXTINF:2.5,'), RULES.targetDuration);
});

test('rejects a part longer than PART-TARGET', () => {
  rejects(variant(GOOD, 'DURATION=0.5,URI="part-105-1', 'DURATION=0.51,URI="part-105-1'), RULES.partTarget);
});

test('rejects hold-back values under their minimums', () => {
  rejects(variant(GOOD, 'PART-HOLD-BACK=1.5', 'PART-HOLD-BACK=1.4999'), RULES.partHoldBack);
  rejects(variant(GOOD, ',PART-HOLD-BACK=1.5', ''), RULES.partHoldBack);
  rejects(variant(GOOD, 'HOLD-BACK=6.0', 'HOLD-BACK=5.9'), RULES.holdBack);
  rejects(variant(GOOD, 'CAN-SKIP-UNTIL=12.0', 'CAN-SKIP-UNTIL=11.5'), RULES.canSkipUntil);
});

test('rejects a server that cannot block', () => {
  rejects(variant(GOOD, 'CAN-BLOCK-RELOAD=YES', 'CAN-BLOCK-RELOAD=NO'), RULES.canBlockReload);
  rejects(variant(GOOD, 'CAN-BLOCK-RELOAD=YES,', ''), RULES.canBlockReload);
});

test('rejects broken media sequence continuity', () => {
  rejects(variant(GOOD, '#EXT-X-MEDIA-SEQUENCE:100', '#EXT-X-MEDIA-SEQUENCE:99'), RULES.mediaSequence);
  rejects(variant(GOOD, 'seg-101.m4s?token=t0k', 'seg-111.m4s?token=t0k'), RULES.mediaSequence);
  rejects(variant(DELTA, 'SKIPPED-SEGMENTS=2', 'SKIPPED-SEGMENTS=3'), RULES.mediaSequence);
});

test('rejects broken part numbering', () => {
  rejects(variant(GOOD, 'part-104-2.m4s', 'part-104-3.m4s'), RULES.partNumbering);
  rejects(variant(GOOD, 'part-103-0.m4s', 'part-102-0.m4s'), RULES.partNumbering);
  rejects(variant(GOOD, 'part-105-0.m4s', 'part-105-1.m4s'), RULES.partNumbering);
  rejects(variant(GOOD, 'URI="part-105-1.m4s', 'URI="chunk-105-1.m4s'), RULES.partNumbering);
});

test('rejects a missing, doubled or misplaced preload hint', () => {
  const hint = '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-105-2.m4s?token=t0k"\n';
  rejects(variant(GOOD, 'part-105-2.m4s', 'part-105-3.m4s'), RULES.preloadHint);
  rejects(variant(GOOD, 'part-105-2.m4s', 'part-104-4.m4s'), RULES.preloadHint);
  rejects(variant(GOOD, hint, ''), RULES.preloadHint);
  rejects(variant(ENDED, '#EXT-X-ENDLIST\n', `${hint}#EXT-X-ENDLIST\n`), RULES.preloadHint);
  // hls-parser itself also refuses two hints of one TYPE, but the raw scan names the rule first.
  rejects(variant(GOOD, hint, hint + hint), RULES.preloadHint);
  // The next segment's first part is a valid hint too (the open segment may be about to close).
  checkMediaPlaylist(variant(GOOD, 'part-105-2.m4s', 'part-106-0.m4s'));
});

test('rejects missing or non-increasing program dates', () => {
  rejects(variant(GOOD, '#EXT-X-PROGRAM-DATE-TIME:2026-05-01T12:00:02.000Z\n', ''), RULES.programDateTime);
  rejects(variant(GOOD, '2026-05-01T12:00:11.500Z', '2026-05-01T12:00:09.000Z'), RULES.programDateTime);
  rejects(variant(GOOD, '2026-05-01T12:00:13.500Z', '2026-05-01T12:00:13Z'), RULES.programDateTime);
  rejects(variant(GOOD, '#EXT-X-PROGRAM-DATE-TIME:2026-05-01T12:00:13.500Z\n', ''), RULES.programDateTime);
});

test('rejects parts that do not add up to their segment', () => {
  rejects(variant(GOOD, 'DURATION=0.4999,', 'DURATION=0.45,'), RULES.partSum);
  rejects(variant(GOOD, '#EXTINF:2.0,\nseg-103', '#EXTINF:1.99,\nseg-103'), RULES.partSum);
  // Within 1 ms per part passes: 4 parts, 2 ms off.
  checkMediaPlaylist(variant(GOOD, '#EXTINF:2.0,\nseg-103', '#EXTINF:2.002,\nseg-103'));
});

test('rejects a playlist without EXT-X-MAP before its first segment', () => {
  rejects(variant(GOOD, '#EXT-X-MAP:URI="init-7.mp4?token=t0k"\n', ''), RULES.map);
  rejects(variant(GOOD, 'init-8.mp4?token=t0k', 'map-8.mp4?token=t0k'), RULES.map);
});

test('rejects a skip that was not asked for, or missing when asked for', () => {
  rejects(GOOD, RULES.skip, { expectSkip: true });
  rejects(DELTA, RULES.skip, { expectSkip: false });
  rejects(variant(DELTA, 'SKIPPED-SEGMENTS=2', 'SKIPPED-SEGMENTS=0'), RULES.skip);
  rejects(variant(DELTA, 'CAN-SKIP-UNTIL=12.0,', ''), RULES.skip);
});

test('rejects EXT-X-PART tags older than three target durations', () => {
  rejects(
    variant(GOOD, '#EXTINF:2.00000,\nseg-101', [0, 1, 2, 3]
      .map((k) => `#EXT-X-PART:DURATION=0.5,URI="part-101-${k}.m4s?token=t0k"${k ? '' : ',INDEPENDENT=YES'}\n`)
      .join('') + '#EXTINF:2.00000,\nseg-101'),
    RULES.partAge,
  );
});

test('rejects a version too low for the tags', () => {
  rejects(variant(GOOD, '#EXT-X-VERSION:9', '#EXT-X-VERSION:5'), RULES.version);
  rejects(variant(DELTA, '#EXT-X-VERSION:9', '#EXT-X-VERSION:8'), RULES.version);
});

const MULTIVARIANT = `#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=2560000,AVERAGE-BANDWIDTH=2000000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000
index.m3u8?token=t0k
`;

test('accepts a multivariant playlist and reports its variant', () => {
  const { variants } = checkMultivariant(MULTIVARIANT);
  assert.deepEqual(variants, [{
    bandwidth: 2560000,
    averageBandwidth: 2000000,
    codecs: 'avc1.64001f,mp4a.40.2',
    resolution: { width: 1280, height: 720 },
    frameRate: 30,
    uri: 'index.m3u8?token=t0k',
  }]);
});

test('rejects multivariant playlists with missing or insane attributes', () => {
  rejectsMultivariant(variant(MULTIVARIANT, 'BANDWIDTH=2560000,', ''), RULES.bandwidth);
  rejectsMultivariant(variant(MULTIVARIANT, 'BANDWIDTH=2560000,', 'BANDWIDTH=0,'), RULES.bandwidth);
  rejectsMultivariant(variant(MULTIVARIANT, 'BANDWIDTH=2560000,', 'BANDWIDTH=2.5e6,'), RULES.bandwidth);
  rejectsMultivariant(variant(MULTIVARIANT, 'AVERAGE-BANDWIDTH=2000000', 'AVERAGE-BANDWIDTH=3000000'), RULES.bandwidth);
  rejectsMultivariant(variant(MULTIVARIANT, 'CODECS="avc1.64001f,mp4a.40.2",', ''), RULES.codecs);
  rejectsMultivariant(variant(MULTIVARIANT, '"avc1.64001f,mp4a.40.2"', '"avc1.64001f, mp4a.40.2"'), RULES.codecs);
  rejectsMultivariant(variant(MULTIVARIANT, '"avc1.64001f,mp4a.40.2"', '""'), RULES.codecs);
  rejectsMultivariant(variant(MULTIVARIANT, 'RESOLUTION=1280x720,', ''), RULES.resolution);
  rejectsMultivariant(variant(MULTIVARIANT, 'RESOLUTION=1280x720', 'RESOLUTION=1280x0'), RULES.resolution);
  rejectsMultivariant(variant(MULTIVARIANT, 'FRAME-RATE=30.000', 'FRAME-RATE=29.9700'), RULES.frameRate);
  rejectsMultivariant(variant(MULTIVARIANT, 'index.m3u8?token=t0k\n', ''), RULES.syntax);
  rejectsMultivariant('#EXTM3U\n', RULES.syntax);
});
