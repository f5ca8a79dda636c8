// The real omnicast node as a child process: a fresh data directory, loopback, a free port.
// start() waits for /healthz; stop() sends SIGTERM and asserts a clean exit (code 0).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { omnicastBin, replayBin, KEEP } from './env.mjs';
import { request } from './http.mjs';

const running = new Set();
const tempDirs = new Set();
// A test that fails half-way must not leave nodes behind.
process.on('exit', () => {
  for (const n of running) {
    try {
      n.proc.kill('SIGKILL');
    } catch {}
  }
  if (!KEEP) for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function makeTempDir(prefix = 'omnicast-e2e-') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

export async function waitFor(what, fn, { timeoutMs = 10000, intervalMs = 20 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// `omnicast --data_dir DIR --add-tenant ID` prints `tenant ID api_key ock_…`.
export function addTenant(dataDir, id) {
  const r = spawnSync(omnicastBin(), ['--data_dir', dataDir, '--add-tenant', id], { encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 0, `omnicast --add-tenant ${id} exited ${r.status}: ${r.stderr}${r.stdout}`);
  const m = /^tenant (\S+) api_key (ock_\S+)$/m.exec(r.stdout);
  assert.ok(m, `omnicast --add-tenant ${id} printed no 'tenant ${id} api_key ock_…' line: ${JSON.stringify(r.stdout)}`);
  assert.equal(m[1], id);
  return m[2];
}

function flagsOf(options) {
  return Object.entries(options).flatMap(([k, v]) => [`--${k}`, String(v)]);
}

export class OmnicastNode {
  // options: extra settings as {'quotas.circle_cap': 3, ...}; tenants: ids to create first.
  constructor({ dataDir, options = {}, name = 'node' } = {}) {
    this.dataDir = dataDir || path.join(makeTempDir(), 'data');
    this.options = options;
    this.name = name;
    this.apiKeys = {};
    this.port = 0;
    this.proc = null;
    this.logPath = path.join(path.dirname(this.dataDir), `${name}.log`);
  }

  static async start({ tenants = ['acme', 'globex'], options = {}, name } = {}) {
    const node = new OmnicastNode({ options, name });
    fs.mkdirSync(node.dataDir, { recursive: true });
    for (const t of tenants) node.apiKeys[t] = addTenant(node.dataDir, t);
    await node.start();
    return node;
  }

  get baseUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  // Starts the process (again, on the same data dir: a restart) and waits for /healthz.
  async start({ port } = {}) {
    assert.equal(this.proc, null, 'the node is already running');
    for (let attempt = 0; ; ++attempt) {
      this.port = port || this.port || (await freePort());
      const args = [
        '--http.address', '127.0.0.1',
        '--http.port', String(this.port),
        '--data_dir', this.dataDir,
        // Suites run side by side: the RTMP ingest takes any free port unless a test sets one.
        ...flagsOf({ 'stage.rtmp_port': 0, ...this.options }),
      ];
      const log = fs.openSync(this.logPath, 'a');
      fs.writeSync(log, `\n=== ${new Date().toISOString()} ${omnicastBin()} ${args.join(' ')}\n`);
      const proc = spawn(omnicastBin(), args, { stdio: ['ignore', log, log] });
      fs.closeSync(log);
      this.proc = proc;
      running.add(this);
      this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
      let exitInfo = null;
      this.exited.then((e) => (exitInfo = e));
      try {
        await waitFor(
          `${this.name} to answer /healthz on port ${this.port}`,
          async () => {
            if (exitInfo) throw new StartError(exitInfo);
            const r = await request({ port: this.port, method: 'GET', path: '/healthz', timeoutMs: 1000 });
            return r.status === 200;
          },
          { timeoutMs: 20000, intervalMs: 25 },
        );
        return this;
      } catch (e) {
        running.delete(this);
        this.proc = null;
        const tail = this.logTail();
        if (!exitInfo) {
          proc.kill('SIGKILL');
          await this.exited;
        }
        // Another process took the port between freePort() and the bind: try another one.
        if (!port && attempt < 3 && /address already in use|bind/i.test(tail)) {
          this.port = 0;
          continue;
        }
        throw new Error(`${e.message}\n--- ${this.logPath} (tail) ---\n${tail}`);
      }
    }
  }

  // SIGTERM; the node must drain and exit 0 within the timeout.
  async stop({ timeoutMs = 20000 } = {}) {
    if (!this.proc) return;
    const proc = this.proc;
    proc.kill('SIGTERM');
    let timeout;
    const timer = new Promise((r) => (timeout = setTimeout(() => r(null), timeoutMs)));
    const result = await Promise.race([this.exited, timer]);
    clearTimeout(timeout); // a pending timer would hold the test process open for timeoutMs
    this.proc = null;
    running.delete(this);
    if (!result) {
      proc.kill('SIGKILL');
      await this.exited;
      assert.fail(`${this.name} did not exit within ${timeoutMs} ms of SIGTERM\n${this.logTail()}`);
    }
    assert.deepEqual(result, { code: 0, signal: null }, `${this.name} did not exit cleanly on SIGTERM\n${this.logTail()}`);
  }

  async restart() {
    await this.stop();
    await this.start({ port: this.port });
  }

  logTail(lines = 60) {
    try {
      return fs.readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  // The raw HS256 secret the node signs participant tokens with.
  tokenSecret() {
    return new Uint8Array(fs.readFileSync(path.join(this.dataDir, 'keys', 'token-hs256.key')));
  }

  // omnicast-replay --data-dir DIR <args>: {status, stdout, stderr}.
  replay(...args) {
    const r = spawnSync(replayBin(), ['--data-dir', this.dataDir, ...args], {
      encoding: 'utf8',
      timeout: 60000,
      maxBuffer: 64 << 20,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  // Every ledger record as JSON (omnicast-replay dump), optionally filtered (dump options).
  dump(...filters) {
    const r = this.replay('dump', ...filters);
    assert.equal(r.status, 0, `omnicast-replay dump failed (${r.status}): ${r.stderr}`);
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  }
}

class StartError extends Error {
  constructor({ code, signal }) {
    super(`the node exited during start-up (code ${code}, signal ${signal})`);
  }
}
