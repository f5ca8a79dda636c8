// An LL-HLS conformance checker for the playlists omnicast's Stage serves (media/hls), after
// draft-pantos-hls-rfc8216bis (sections cited per rule). Every playlist is read twice: by
// hls-parser (an independent implementation) and by a scan of the raw lines that checks the
// numbers exactly (durations in integer microseconds, no floating point), then the two readings
// must agree. A broken rule throws an Error whose message starts with
// `LL-HLS rule [<rule>] broken:`; RULES lists the rule names.
//
// URI naming (media/hls/uri_names.hpp): init-{version}.mp4, seg-{msn}.m4s, part-{msn}-{index}.m4s,
// each optionally followed by a query (the session token).
import HLS from 'hls-parser';

export const RULES = Object.freeze({
  syntax: 'playlist syntax',
  version: 'EXT-X-VERSION',
  targetDuration: 'EXTINF <= TARGETDURATION',
  partTarget: 'part DURATION <= PART-TARGET',
  partHoldBack: 'PART-HOLD-BACK >= 3 x PART-TARGET',
  holdBack: 'HOLD-BACK >= 3 x TARGETDURATION',
  canSkipUntil: 'CAN-SKIP-UNTIL >= 6 x TARGETDURATION',
  canBlockReload: 'CAN-BLOCK-RELOAD=YES',
  mediaSequence: 'media sequence continuity',
  partNumbering: 'part numbering',
  preloadHint: 'one PRELOAD-HINT for the next part',
  programDateTime: 'PROGRAM-DATE-TIME present and increasing',
  partSum: 'parts sum to EXTINF',
  map: 'EXT-X-MAP before the first segment',
  skip: 'EXT-X-SKIP',
  partAge: 'EXT-X-PART within three target durations of the end',
  bandwidth: 'BANDWIDTH',
  codecs: 'CODECS',
  resolution: 'RESOLUTION',
  frameRate: 'FRAME-RATE',
});

function broken(rule, detail) {
  return new Error(`LL-HLS rule [${rule}] broken: ${detail}`);
}

// `part-12-3.m4s?token=x` -> { kind: 'part', msn: 12, part: 3, query: '?token=x' }; also 'segment'
// (msn) and 'init' (version). Only canonical numbers (no leading zeros); null for anything else.
export function parseUriNumbers(uri) {
  if (typeof uri !== 'string') return null;
  const q = uri.indexOf('?');
  const path = q === -1 ? uri : uri.slice(0, q);
  const query = q === -1 ? '' : uri.slice(q);
  const name = path.slice(path.lastIndexOf('/') + 1);
  const num = '(0|[1-9][0-9]*)';
  const toInt = (s) => {
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : null;
  };
  let m = new RegExp(`^part-${num}-${num}\\.m4s$`).exec(name);
  if (m) {
    const [msn, part] = [toInt(m[1]), toInt(m[2])];
    return msn === null || part === null ? null : { kind: 'part', msn, part, query };
  }
  m = new RegExp(`^seg-${num}\\.m4s$`).exec(name);
  if (m) {
    const msn = toInt(m[1]);
    return msn === null ? null : { kind: 'segment', msn, query };
  }
  m = new RegExp(`^init-${num}\\.mp4$`).exec(name);
  if (m) {
    const version = toInt(m[1]);
    return version === null || version > 0xffffffff ? null : { kind: 'init', version, query };
  }
  return null;
}

// A decimal-floating-point (or decimal-integer) of seconds, exactly, in microseconds (rounded
// half up past the sixth decimal).
function micros(text, what) {
  const m = /^([0-9]+)(?:\.([0-9]+))?$/.exec(text ?? '');
  if (!m) throw broken(RULES.syntax, `${what} is not a decimal number: '${text}'`);
  const frac = (m[2] ?? '').padEnd(7, '0');
  const us = Number(m[1]) * 1e6 + Number(frac.slice(0, 6)) + (Number(frac[6]) >= 5 ? 1 : 0);
  if (!Number.isSafeInteger(us)) throw broken(RULES.syntax, `${what} is out of range: '${text}'`);
  return us;
}

// RFC 8216bis §4.2 attribute-list: NAME=value pairs, values unquoted or quoted-strings (which may
// hold commas). Returns a Map of the raw values (quoted ones without their quotes).
function attributes(list, tag) {
  const out = new Map();
  let i = 0;
  while (i < list.length) {
    const eq = list.indexOf('=', i);
    if (eq === -1) throw broken(RULES.syntax, `${tag}: attribute without '=' in '${list}'`);
    const name = list.slice(i, eq);
    if (!/^[A-Z0-9-]+$/.test(name)) throw broken(RULES.syntax, `${tag}: bad attribute name '${name}'`);
    let value;
    if (list[eq + 1] === '"') {
      const close = list.indexOf('"', eq + 2);
      if (close === -1) throw broken(RULES.syntax, `${tag}: unterminated quoted-string`);
      value = { quoted: true, text: list.slice(eq + 2, close) };
      i = close + 1;
    } else {
      const comma = list.indexOf(',', eq + 1);
      const end = comma === -1 ? list.length : comma;
      value = { quoted: false, text: list.slice(eq + 1, end) };
      i = end;
    }
    if (out.has(name)) throw broken(RULES.syntax, `${tag}: ${name} given twice`);
    out.set(name, value);
    if (i < list.length) {
      if (list[i] !== ',') throw broken(RULES.syntax, `${tag}: expected ',' after ${name}`);
      i += 1;
    }
  }
  return out;
}

function tagOf(line) {
  const colon = line.indexOf(':');
  return colon === -1 ? { name: line.slice(1), value: null } : { name: line.slice(1, colon), value: line.slice(colon + 1) };
}

// hls-parser in strict mode; its checks that are stricter than the draft are tolerated (the raw
// scan checks the draft's own rule instead), anything else it rejects is a syntax failure.
const TOLERATED = [
  // It allows parts on the last three segments only; the draft counts three target durations
  // (§6.2.2), which RULES.partAge checks.
  /Remove EXT-X-PART tags from the Playlist after they are greater than three target durations/,
  // It applies the 85% minimum without the draft's exemption of INDEPENDENT=YES parts (§4.4.4.9).
  /All Partial Segments except the last part of a segment must have a duration of at least 85%/,
];

function parseWithHlsParser(text) {
  const saved = HLS.getOptions();
  try {
    HLS.setOptions({ strictMode: true, silent: true });
    try {
      return HLS.parse(text);
    } catch (e) {
      if (!TOLERATED.some((re) => re.test(e.message))) throw broken(RULES.syntax, `hls-parser rejects it: ${e.message}`);
      HLS.setOptions({ strictMode: false, silent: true });
      return HLS.parse(text);
    }
  } finally {
    HLS.setOptions(saved);
  }
}

function rawLines(text) {
  if (typeof text !== 'string' || text.length === 0) throw broken(RULES.syntax, 'empty playlist');
  if (text.includes('\r')) throw broken(RULES.syntax, 'carriage return in the playlist (lines end with LF)');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0] !== '#EXTM3U') throw broken(RULES.syntax, 'the first line must be #EXTM3U (§4.4.1.1)');
  return lines;
}

const PDT_FORMAT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:\d{2})$/;

// Checks one Media Playlist. `expectSkip`: true requires a delta update (EXT-X-SKIP), false
// forbids one, undefined accepts both. Returns what was read, for the tests to use:
//   { version, targetDuration, partTarget, partTargetUs, mediaSequence, discontinuitySequence,
//     canSkipUntil, holdBack, partHoldBack, skipped, ended, lastMsn, lastPart, hint,
//     segments: [{ msn, complete, durationUs, duration, uri, pdt, discontinuity, map,
//                  parts: [{ msn, part, durationUs, duration, independent, uri }] }] }
export function checkMediaPlaylist(text, { expectSkip } = {}) {
  const lines = rawLines(text);
  const head = {};
  const segments = [];
  const hints = [];
  let ended = false;
  let skipped = 0;
  let current = null; // the segment whose tags are being read
  let currentMap = null;
  const seen = new Set();
  const once = (name) => {
    if (seen.has(name)) throw broken(RULES.syntax, `${name} appears twice`);
    seen.add(name);
  };
  const open = () => (current ??= { parts: [], pdt: null, discontinuity: false, map: null, durationUs: null });

  for (const line of lines.slice(1)) {
    if (line === '') continue;
    if (!line.startsWith('#')) {
      // A URI line closes a segment.
      const seg = open();
      if (seg.durationUs === null) throw broken(RULES.syntax, `segment URI '${line}' without EXTINF`);
      seg.uri = line;
      seg.complete = true;
      seg.map ??= currentMap;
      segments.push(seg);
      current = null;
      continue;
    }
    if (!line.startsWith('#EXT')) continue; // a comment
    const { name, value } = tagOf(line);
    switch (name) {
      case 'EXT-X-VERSION':
        once(name);
        head.version = Number(value);
        break;
      case 'EXT-X-TARGETDURATION':
        once(name);
        if (!/^[0-9]+$/.test(value ?? '') || Number(value) < 1)
          throw broken(RULES.syntax, `EXT-X-TARGETDURATION must be a decimal-integer >= 1, not '${value}'`);
        head.targetDuration = Number(value);
        break;
      case 'EXT-X-SERVER-CONTROL':
        once(name);
        head.serverControl = attributes(value ?? '', name);
        break;
      case 'EXT-X-PART-INF':
        once(name);
        head.partInf = attributes(value ?? '', name);
        break;
      case 'EXT-X-MEDIA-SEQUENCE':
        once(name);
        if (segments.length || current) throw broken(RULES.syntax, 'EXT-X-MEDIA-SEQUENCE after a segment');
        head.mediaSequence = Number(value);
        break;
      case 'EXT-X-DISCONTINUITY-SEQUENCE':
        once(name);
        if (segments.length || current) throw broken(RULES.syntax, 'EXT-X-DISCONTINUITY-SEQUENCE after a segment');
        head.discontinuitySequence = Number(value);
        break;
      case 'EXT-X-SKIP': {
        once(name);
        if (segments.length || current) throw broken(RULES.skip, 'EXT-X-SKIP after a segment');
        const skip = attributes(value ?? '', name).get('SKIPPED-SEGMENTS');
        if (!skip || !/^[0-9]+$/.test(skip.text) || Number(skip.text) < 1)
          throw broken(RULES.skip, `SKIPPED-SEGMENTS must be a positive decimal-integer, not '${skip?.text}'`);
        skipped = Number(skip.text);
        break;
      }
      case 'EXT-X-ENDLIST':
        once(name);
        ended = true;
        break;
      case 'EXT-X-DISCONTINUITY':
        if (open().parts.length) throw broken(RULES.syntax, 'EXT-X-DISCONTINUITY after the first EXT-X-PART of its segment');
        current.discontinuity = true;
        break;
      case 'EXT-X-MAP': {
        if (open().parts.length) throw broken(RULES.map, 'EXT-X-MAP after the first EXT-X-PART of its segment (§4.4.4.9)');
        const uri = attributes(value ?? '', name).get('URI');
        const numbers = parseUriNumbers(uri?.text);
        if (!uri?.quoted || numbers?.kind !== 'init') throw broken(RULES.map, `EXT-X-MAP URI '${uri?.text}' is not init-{version}.mp4`);
        currentMap = uri.text;
        current.map = uri.text;
        break;
      }
      case 'EXT-X-PROGRAM-DATE-TIME':
        if (open().parts.length) throw broken(RULES.programDateTime, 'EXT-X-PROGRAM-DATE-TIME after the first EXT-X-PART of its segment');
        if (!PDT_FORMAT.test(value ?? '') || Number.isNaN(Date.parse(value)))
          throw broken(RULES.programDateTime, `'${value}' is not an ISO 8601 date-time with milliseconds and a zone`);
        current.pdt = value;
        current.pdtMs = Date.parse(value);
        break;
      case 'EXTINF': {
        const comma = (value ?? '').indexOf(',');
        if (comma === -1) throw broken(RULES.syntax, `EXTINF without ',': '${line}'`);
        open().durationUs = micros(value.slice(0, comma), 'EXTINF');
        break;
      }
      case 'EXT-X-PART': {
        const attrs = attributes(value ?? '', name);
        const uri = attrs.get('URI');
        if (!uri?.quoted) throw broken(RULES.syntax, `EXT-X-PART without a quoted URI: '${line}'`);
        const duration = attrs.get('DURATION');
        if (!duration) throw broken(RULES.syntax, `EXT-X-PART without DURATION: '${line}'`);
        const independent = attrs.get('INDEPENDENT');
        if (independent && independent.text !== 'YES') throw broken(RULES.syntax, `INDEPENDENT=${independent.text}`);
        const numbers = parseUriNumbers(uri.text);
        if (numbers?.kind !== 'part') throw broken(RULES.partNumbering, `EXT-X-PART URI '${uri.text}' is not part-{msn}-{index}.m4s`);
        open().parts.push({
          msn: numbers.msn,
          part: numbers.part,
          durationUs: micros(duration.text, 'EXT-X-PART DURATION'),
          independent: independent?.text === 'YES',
          uri: uri.text,
        });
        break;
      }
      case 'EXT-X-PRELOAD-HINT': {
        const attrs = attributes(value ?? '', name);
        if (attrs.get('TYPE')?.text === 'PART') hints.push(attrs.get('URI')?.text);
        break;
      }
      default:
        break; // tags this checker has no rule for
    }
  }
  // Parts after the last URI line belong to the open segment (no EXTINF yet).
  if (current && (current.parts.length || current.durationUs !== null)) {
    if (current.durationUs !== null) throw broken(RULES.syntax, 'EXTINF without a segment URI at the end');
    current.complete = false;
    current.map ??= currentMap;
    segments.push(current);
  }

  // ---- header rules ----
  for (const [tag, field] of [
    ['EXT-X-TARGETDURATION', 'targetDuration'],
    ['EXT-X-MEDIA-SEQUENCE', 'mediaSequence'],
    ['EXT-X-SERVER-CONTROL', 'serverControl'],
    ['EXT-X-PART-INF', 'partInf'],
  ])
    if (head[field] === undefined) throw broken(RULES.syntax, `${tag} is missing`);
  const td = head.targetDuration;
  const tdUs = td * 1e6;
  const sc = head.serverControl;
  const partTarget = head.partInf.get('PART-TARGET');
  if (!partTarget) throw broken(RULES.syntax, 'EXT-X-PART-INF without PART-TARGET');
  const partTargetUs = micros(partTarget.text, 'PART-TARGET');

  // §4.4.3.8
  if (sc.get('CAN-BLOCK-RELOAD')?.text !== 'YES')
    throw broken(RULES.canBlockReload, `EXT-X-SERVER-CONTROL has CAN-BLOCK-RELOAD=${sc.get('CAN-BLOCK-RELOAD')?.text ?? '(none)'}`);
  const partHoldBack = sc.get('PART-HOLD-BACK');
  if (!partHoldBack) throw broken(RULES.partHoldBack, 'PART-HOLD-BACK is missing (REQUIRED with EXT-X-PART-INF)');
  const partHoldBackUs = micros(partHoldBack.text, 'PART-HOLD-BACK');
  if (partHoldBackUs < 3 * partTargetUs)
    throw broken(RULES.partHoldBack, `PART-HOLD-BACK=${partHoldBack.text} < 3 x PART-TARGET=${partTarget.text}`);
  const holdBack = sc.get('HOLD-BACK');
  const holdBackUs = holdBack ? micros(holdBack.text, 'HOLD-BACK') : 3 * tdUs;
  if (holdBackUs < 3 * tdUs) throw broken(RULES.holdBack, `HOLD-BACK=${holdBack.text} < 3 x TARGETDURATION=${td}`);
  const canSkip = sc.get('CAN-SKIP-UNTIL');
  const canSkipUs = canSkip ? micros(canSkip.text, 'CAN-SKIP-UNTIL') : null;
  if (canSkip && canSkipUs < 6 * tdUs) throw broken(RULES.canSkipUntil, `CAN-SKIP-UNTIL=${canSkip.text} < 6 x TARGETDURATION=${td}`);

  // §4.4.5.2, §6.2.5.1
  if (expectSkip === true && skipped === 0) throw broken(RULES.skip, 'a delta update was expected, there is no EXT-X-SKIP');
  if (expectSkip === false && skipped > 0) throw broken(RULES.skip, 'EXT-X-SKIP in a playlist that should be complete');
  if (skipped > 0 && !canSkip) throw broken(RULES.skip, 'EXT-X-SKIP without CAN-SKIP-UNTIL');
  if (skipped > 0 && ended) throw broken(RULES.skip, 'EXT-X-SKIP with EXT-X-ENDLIST (the directive must be ignored)');
  // §8: EXT-X-MAP needs 6, EXT-X-SKIP 9.
  const neededVersion = skipped > 0 ? 9 : segments.some((s) => s.map) ? 6 : 1;
  if (!(head.version >= neededVersion)) throw broken(RULES.version, `EXT-X-VERSION ${head.version} < ${neededVersion}`);

  // ---- segments ----
  const mediaSequence = head.mediaSequence;
  let totalUs = 0;
  segments.forEach((seg, i) => {
    seg.msn = mediaSequence + skipped + i;
    if (seg.complete) {
      const numbers = parseUriNumbers(seg.uri);
      if (numbers?.kind !== 'segment') throw broken(RULES.mediaSequence, `segment URI '${seg.uri}' is not seg-{msn}.m4s`);
      if (numbers.msn !== seg.msn)
        throw broken(RULES.mediaSequence, `segment ${i} of the playlist should be seg-${seg.msn} (MEDIA-SEQUENCE ${mediaSequence} + ${skipped} skipped + ${i}), is '${seg.uri}'`);
      // §4.4.3.1: rounded to the nearest integer, at most the target duration.
      if (Math.round(seg.durationUs / 1e6) > td)
        throw broken(RULES.targetDuration, `EXTINF of seg-${seg.msn} is ${seg.durationUs / 1e6} s, rounds above TARGETDURATION ${td}`);
    }
    // §4.4.3.2 / §6.2.1: the map must come before the first segment, so every segment has one.
    if (!seg.map) throw broken(RULES.map, `no EXT-X-MAP applies to segment ${seg.msn}`);
    if (seg.pdt === null) throw broken(RULES.programDateTime, `segment ${seg.msn} has no EXT-X-PROGRAM-DATE-TIME`);
    if (i > 0 && !(seg.pdtMs > segments[i - 1].pdtMs))
      throw broken(RULES.programDateTime, `segment ${seg.msn} at ${seg.pdt} is not after segment ${seg.msn - 1} at ${segments[i - 1].pdt}`);
    seg.parts.forEach((p, k) => {
      if (p.msn !== seg.msn || p.part !== k)
        throw broken(RULES.partNumbering, `part ${k} of segment ${seg.msn} is '${p.uri}', expected part-${seg.msn}-${k}`);
      // §4.4.4.9
      if (p.durationUs > partTargetUs)
        throw broken(RULES.partTarget, `'${p.uri}' lasts ${p.durationUs / 1e6} s > PART-TARGET ${partTarget.text}`);
    });
    if (seg.complete && seg.parts.length) {
      const sum = seg.parts.reduce((a, p) => a + p.durationUs, 0);
      if (Math.abs(sum - seg.durationUs) > 1000 * seg.parts.length)
        throw broken(RULES.partSum, `the parts of seg-${seg.msn} add up to ${sum / 1e6} s, its EXTINF says ${seg.durationUs / 1e6} s`);
    }
    if (!seg.complete) seg.durationUs = seg.parts.reduce((a, p) => a + p.durationUs, 0);
    seg.startUs = totalUs;
    totalUs += seg.durationUs;
    seg.duration = seg.durationUs / 1e6;
  });
  if (segments.some((s, i) => !s.complete && i !== segments.length - 1))
    throw broken(RULES.syntax, 'parts without a segment URI before the last segment');

  // §6.2.2: parts SHOULD be removed once more than three target durations from the end.
  for (const seg of segments) {
    let endUs = seg.startUs;
    for (const p of seg.parts) {
      endUs += p.durationUs;
      if (totalUs - endUs > 3 * tdUs)
        throw broken(RULES.partAge, `'${p.uri}' ends ${(totalUs - endUs) / 1e6} s before the end of the playlist (> 3 x ${td} s)`);
    }
  }

  // The newest part, then §4.4.5.3 and Appendix B.1: one PRELOAD-HINT for the next part unless ended.
  const last = segments.at(-1);
  const lastMsn = last ? last.msn : mediaSequence + skipped - 1;
  const lastPart = last && last.parts.length ? last.parts.at(-1).part : -1;
  let hint = null;
  if (ended) {
    if (hints.length) throw broken(RULES.preloadHint, 'EXT-X-PRELOAD-HINT in a playlist with EXT-X-ENDLIST');
  } else {
    if (hints.length !== 1) throw broken(RULES.preloadHint, `${hints.length} EXT-X-PRELOAD-HINT TYPE=PART tags, expected one`);
    hint = parseUriNumbers(hints[0]);
    if (hint?.kind !== 'part') throw broken(RULES.preloadHint, `the hint '${hints[0]}' is not part-{msn}-{index}.m4s`);
    const next = !last
      ? [[mediaSequence + skipped, 0]]
      : last.complete || !last.parts.length
        ? [[last.msn + 1, 0]]
        : [[last.msn, lastPart + 1], [last.msn + 1, 0]];
    if (!next.some(([m, p]) => hint.msn === m && hint.part === p))
      throw broken(RULES.preloadHint, `the hint '${hints[0]}' is not the part after ${lastMsn}.${lastPart} (${next.map(([m, p]) => `part-${m}-${p}`).join(' or ')})`);
    hint = { msn: hint.msn, part: hint.part, uri: hints[0] };
  }

  // ---- the independent reading must agree ----
  const parsed = parseWithHlsParser(text);
  if (parsed.isMasterPlaylist) throw broken(RULES.syntax, 'hls-parser reads a multivariant playlist');
  const agree = (what, theirs, ours) => {
    if (theirs !== ours) throw broken(RULES.syntax, `hls-parser reads ${what} ${theirs}, the line scan ${ours}`);
  };
  agree('TARGETDURATION', parsed.targetDuration, td);
  agree('MEDIA-SEQUENCE', parsed.mediaSequenceBase, mediaSequence);
  agree('EXT-X-ENDLIST', parsed.endlist, ended);
  agree('SKIPPED-SEGMENTS', parsed.skip ?? 0, skipped);
  agree('the segment count', parsed.segments.length, segments.length);
  parsed.segments.forEach((s, i) => {
    const ours = segments[i];
    const theirParts = s.parts.filter((p) => !p.hint);
    agree(`the part count of segment ${i}`, theirParts.length, ours.parts.length);
    if (ours.complete) {
      agree(`the URI of segment ${i}`, s.uri, ours.uri);
      agree(`the EXTINF of segment ${i} (us)`, Math.round(s.duration * 1e6), ours.durationUs);
    }
    agree(`the PROGRAM-DATE-TIME of segment ${i}`, s.programDateTime?.getTime(), ours.pdtMs);
  });

  return {
    version: head.version,
    targetDuration: td,
    partTarget: partTargetUs / 1e6,
    partTargetUs,
    mediaSequence,
    discontinuitySequence: head.discontinuitySequence ?? 0,
    canSkipUntil: canSkipUs === null ? null : canSkipUs / 1e6,
    holdBack: holdBackUs / 1e6,
    partHoldBack: partHoldBackUs / 1e6,
    skipped,
    ended,
    lastMsn,
    lastPart,
    hint,
    segments: segments.map((s) => ({
      msn: s.msn,
      complete: s.complete,
      durationUs: s.durationUs,
      duration: s.duration,
      uri: s.uri ?? null,
      pdt: s.pdt,
      discontinuity: s.discontinuity,
      map: s.map,
      parts: s.parts.map((p) => ({ ...p, duration: p.durationUs / 1e6 })),
    })),
  };
}

// Checks a Multivariant Playlist (§4.4.6.2). Returns { variants: [{ bandwidth, averageBandwidth,
// codecs, resolution: { width, height } | null, frameRate, uri }] }.
export function checkMultivariant(text) {
  const lines = rawLines(text);
  const variants = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (!line.startsWith('#EXT-X-STREAM-INF:')) continue;
    const uri = lines[i + 1];
    if (!uri || uri.startsWith('#')) throw broken(RULES.syntax, 'EXT-X-STREAM-INF is not followed by a URI line');
    const attrs = attributes(tagOf(line).value, 'EXT-X-STREAM-INF');

    const bandwidth = attrs.get('BANDWIDTH');
    if (!bandwidth || !/^[1-9][0-9]*$/.test(bandwidth.text)) throw broken(RULES.bandwidth, `BANDWIDTH '${bandwidth?.text}' is not a positive decimal-integer`);
    const bps = Number(bandwidth.text);
    if (bps < 1000 || bps > 1e9) throw broken(RULES.bandwidth, `BANDWIDTH ${bps} bit/s is not a plausible rate`);
    const average = attrs.get('AVERAGE-BANDWIDTH');
    if (average && (!/^[1-9][0-9]*$/.test(average.text) || Number(average.text) > bps))
      throw broken(RULES.bandwidth, `AVERAGE-BANDWIDTH '${average.text}' is not a positive integer <= BANDWIDTH ${bps}`);

    const codecs = attrs.get('CODECS');
    if (!codecs?.quoted || codecs.text === '') throw broken(RULES.codecs, 'CODECS is missing or not a quoted-string');
    for (const codec of codecs.text.split(','))
      if (!/^[a-zA-Z0-9]{4}(\.[a-zA-Z0-9]+)*$/.test(codec)) throw broken(RULES.codecs, `'${codec}' is not an RFC 6381 codec`);

    const resolution = attrs.get('RESOLUTION');
    if (!resolution) throw broken(RULES.resolution, 'RESOLUTION is missing');
    const r = /^([1-9][0-9]*)x([1-9][0-9]*)$/.exec(resolution.text);
    if (!r || Number(r[1]) > 16384 || Number(r[2]) > 16384) throw broken(RULES.resolution, `RESOLUTION '${resolution.text}' is not WxH`);

    const frameRate = attrs.get('FRAME-RATE');
    if (frameRate && (!/^[0-9]+(\.[0-9]{1,3})?$/.test(frameRate.text) || !(Number(frameRate.text) > 0 && Number(frameRate.text) <= 300)))
      throw broken(RULES.frameRate, `FRAME-RATE '${frameRate.text}' is not a rate with at most three decimals`);

    variants.push({
      bandwidth: bps,
      averageBandwidth: average ? Number(average.text) : null,
      codecs: codecs.text,
      resolution: { width: Number(r[1]), height: Number(r[2]) },
      frameRate: frameRate ? Number(frameRate.text) : null,
      uri,
    });
  }
  if (variants.length === 0) throw broken(RULES.syntax, 'no EXT-X-STREAM-INF');

  const parsed = parseWithHlsParser(text);
  if (!parsed.isMasterPlaylist) throw broken(RULES.syntax, 'hls-parser does not read a multivariant playlist');
  if (parsed.variants.length !== variants.length)
    throw broken(RULES.syntax, `hls-parser reads ${parsed.variants.length} variants, the line scan ${variants.length}`);
  parsed.variants.forEach((v, i) => {
    const ours = variants[i];
    if (v.bandwidth !== ours.bandwidth || v.uri !== ours.uri || v.resolution?.width !== ours.resolution.width)
      throw broken(RULES.syntax, `hls-parser reads variant ${i} differently`);
  });
  return { variants };
}
