// Real media peers for the Stage: ffmpeg publishing over RTMP, ffmpeg/ffprobe reading the LL-HLS,
// and plain HTTP reads of playlists and parts (raw, not validated: media bodies are not JSON).
import { spawn, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { request } from './http.mjs';

const children = new Set();
process.on('exit', () => {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
});

export function requireTool(name) {
  const r = spawnSync(name, ['-version'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${name} is needed by the Stage tests (scripts/install-deps.sh installs it)`);
}

// ffmpeg publishing testsrc2 + a sine tone (x264 with `gop` frames between keyframes, AAC) to
// `url` in real time. Returns {proc, exited: Promise<{code, signal, stderr}>, kill()}.
export function publish(url, { size = '640x360', rate = 30, gop = 30, seconds = 60, bitrate = '800k' } = {}) {
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-re',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-b:v', bitrate,
    '-c:a', 'aac', '-b:a', '64k', '-t', String(seconds), '-f', 'flv', url,
  ];
  const proc = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(proc);
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) =>
    proc.on('exit', (code, signal) => {
      children.delete(proc);
      resolve({ code, signal, stderr });
    }),
  );
  return { proc, exited, kill: (sig = 'SIGKILL') => proc.kill(sig) };
}

// Runs a tool to completion: {code, stdout, stderr}.
export function run(cmd, args, { timeoutMs = 60000 } = {}) {
  return new Promise((resolve) => {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(proc);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// ffmpeg decodes `seconds` of the stream at `url` (every frame, audio and video); errors fail.
export async function decode(url, seconds = 10) {
  const r = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-i', url, '-t', String(seconds), '-f', 'null', '-'],
    { timeoutMs: (seconds + 40) * 1000 });
  assert.equal(r.code, 0, `ffmpeg could not decode ${url}: ${r.stderr.slice(0, 2000)}`);
  assert.equal(r.stderr.trim(), '', `ffmpeg reported errors decoding ${url}: ${r.stderr.slice(0, 2000)}`);
}

// ffprobe's view of the stream: {streams, frames} counted over `seconds`.
export async function probe(url, seconds = 4) {
  const r = await run('ffprobe', ['-v', 'error', '-read_intervals', `%+${seconds}`, '-count_frames',
    '-show_entries', 'stream=codec_name,codec_type,width,height,nb_read_frames,sample_rate', '-of', 'json', url],
    { timeoutMs: (seconds + 40) * 1000 });
  assert.equal(r.code, 0, `ffprobe ${url} failed: ${r.stderr.slice(0, 2000)}`);
  assert.equal(r.stderr.trim(), '', `ffprobe reported errors for ${url}: ${r.stderr.slice(0, 2000)}`);
  return JSON.parse(r.stdout);
}

// GET of a playback URL (absolute, on the node) without JSON validation.
export async function fetchRaw(node, url, { timeoutMs = 15000, method = 'GET', headers = {} } = {}) {
  const u = new URL(url, node.baseUrl);
  const t0 = performance.now();
  const r = await request({ port: node.port, method, path: u.pathname + u.search, headers, timeoutMs });
  r.ms = performance.now() - t0;
  return r;
}

// The ffmpeg exit of a refused publish: non-zero, quickly.
export async function expectRefused(url) {
  const p = publish(url, { seconds: 5 });
  const timer = setTimeout(() => p.kill(), 15000);
  const e = await p.exited;
  clearTimeout(timer);
  assert.notEqual(e.code, 0, `ffmpeg publishing to ${url} should have been refused`);
  return e;
}
