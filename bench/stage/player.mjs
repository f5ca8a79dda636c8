// The browser half of bench/stage: a loopback static server (player.html, hls.js, the baseline's
// HLS files) and headless Chromium driven by playwright-core, playing each target `starts` times,
// a fresh browser context and page per start, the targets interleaved (node, baseline, node, …) so
// that both see the same machine load. run.py starts it and reads its stdout: one JSON object per
// line, {"event":"ready",…} once the server and browser are up, {"event":"start",…} per start
// (the page's window.benchResult, see player.html), {"event":"done"} at the end. Progress on
// stderr.
//
// usage: node player.mjs --targets JSON --starts N --seconds S [--baseline-dir DIR]
//                        [--chromium /usr/bin/chromium] [--sample-ms 250] [--port 0]
//   JSON: [{"label": "node", "src": "http://127.0.0.1:8080/v1/stage/…/index.m3u8", "ll": true},
//          {"label": "node-catchup", "src": "…", "ll": true, "catchup_rate": 1.5},
//          {"label": "baseline", "src": "static:/baseline/index.m3u8", "ll": false}]
//   ("static:" URLs are served by this script's own server.)
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const e2eModules = path.resolve(here, '../../tests/e2e/node_modules');
const require = createRequire(path.join(e2eModules, 'noop.js'));
const { chromium } = require('playwright-core');
const hlsJsPath = path.join(e2eModules, 'hls.js/dist/hls.min.js');

function parseArgs(argv) {
  const a = { starts: 20, seconds: 10, sampleMs: 250, chromium: '/usr/bin/chromium', port: 0, baselineDir: null, targets: null };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${k}: missing value`);
    if (k === '--targets') a.targets = JSON.parse(v);
    else if (k === '--starts') a.starts = Number(v);
    else if (k === '--seconds') a.seconds = Number(v);
    else if (k === '--sample-ms') a.sampleMs = Number(v);
    else if (k === '--chromium') a.chromium = v;
    else if (k === '--port') a.port = Number(v);
    else if (k === '--baseline-dir') a.baselineDir = v;
    else throw new Error(`unknown option ${k}`);
  }
  if (!Array.isArray(a.targets) || a.targets.length === 0) throw new Error('--targets: a non-empty JSON array is required');
  return a;
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.m3u8': 'application/vnd.apple.mpegurl',
  '.mp4': 'video/mp4', '.m4s': 'video/iso.segment' };

// Files only from the two roots, never above them; playlists are never cached (ffmpeg rewrites them
// in place), media files are immutable once listed.
function startServer(port, baselineDir) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let file = null;
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/player.html') file = path.join(here, 'player.html');
    else if (url.pathname === '/hls.min.js') file = hlsJsPath;
    else if (baselineDir && url.pathname.startsWith('/baseline/')) {
      const rel = path.normalize(decodeURIComponent(url.pathname.slice('/baseline/'.length)));
      if (!rel.startsWith('..') && !path.isAbsolute(rel)) file = path.join(baselineDir, rel);
    }
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    fs.readFile(file, (err, data) => {
      if (err) {
        res.writeHead(404, { 'Cache-Control': 'no-store' }).end();
        return;
      }
      const ext = path.extname(file);
      res.writeHead(200, {
        'Content-Type': TYPES[ext] || 'application/octet-stream',
        'Content-Length': data.length,
        'Cache-Control': ext === '.m3u8' ? 'no-cache, no-store' : 'max-age=60',
      });
      res.end(data);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

async function playOnce(browser, staticBase, target, args) {
  const src = target.src.startsWith('static:') ? staticBase + target.src.slice('static:'.length) : target.src;
  const context = await browser.newContext();
  const page = await context.newPage();
  const console_ = [];
  page.on('console', (m) => {
    // A "Failed to load resource" message names the resource only in its location.
    if (m.type() === 'error' || m.type() === 'warning') console_.push(`${m.type()}: ${m.text()} (${m.location()?.url ?? ''})`.slice(0, 400));
  });
  page.on('pageerror', (e) => console_.push(`pageerror: ${String(e).slice(0, 300)}`));
  // Every HTTP error the page met (hls.js retries some without an ERROR event).
  const httpErrors = [];
  page.on('response', (r) => {
    if (r.status() >= 400) httpErrors.push({ status: r.status(), url: r.url().slice(0, 300) });
  });
  // ERR_ABORTED is hls.js cancelling a request (a blocking reload in flight at destroy()), not a failure.
  page.on('requestfailed', (r) => {
    const reason = r.failure()?.errorText;
    if (reason !== 'net::ERR_ABORTED') httpErrors.push({ status: 'failed', url: r.url().slice(0, 300), reason });
  });
  const q = new URLSearchParams({ src, ll: target.ll ? '1' : '0', seconds: String(args.seconds), sample_ms: String(args.sampleMs) });
  if (target.catchup_rate) q.set('catchup_rate', String(target.catchup_rate));
  try {
    await page.goto(`${staticBase}/player.html?${q}`);
    await page.waitForFunction(() => window.benchResult, null, { timeout: (args.seconds + 45) * 1000, polling: 100 });
    const r = await page.evaluate(() => window.benchResult);
    r.console = console_.slice(0, 20);
    r.http_errors = httpErrors.slice(0, 20);
    return r;
  } catch (e) {
    return { failure: `driver: ${String(e).slice(0, 300)}`, console: console_.slice(0, 20), http_errors: httpErrors.slice(0, 20),
      samples: [], errors: [] };
  } finally {
    await context.close();
  }
}

async function main() {
  const args = parseArgs(process.argv);
  const server = await startServer(args.port, args.baselineDir);
  const staticBase = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    args: ['--autoplay-policy=no-user-gesture-required', '--mute-audio'],
  });
  emit({ event: 'ready', static_port: server.address().port, browser_version: browser.version() });
  try {
    for (let i = 0; i < args.starts; ++i) {
      for (const target of args.targets) {
        const r = await playOnce(browser, staticBase, target, args);
        emit({ event: 'start', label: target.label, index: i, result: r });
        const med = r.samples?.length ? [...r.samples].sort((x, y) => x - y)[r.samples.length >> 1] : NaN;
        process.stderr.write(`  [player] ${target.label} start ${i + 1}/${args.starts}: first frame ` +
          `${r.first_frame_ms == null ? '—' : r.first_frame_ms.toFixed(0) + ' ms'}, latency median ` +
          `${Number.isFinite(med) ? med.toFixed(0) + ' ms' : '—'}, ${r.errors?.length ?? 0} hls.js errors` +
          `${r.failure ? ', FAILED: ' + r.failure : ''}\n`);
      }
    }
  } finally {
    await browser.close();
    server.close();
  }
  emit({ event: 'done' });
}

main().catch((e) => {
  process.stderr.write(`player.mjs: ${e.stack || e}\n`);
  process.exit(1);
});
