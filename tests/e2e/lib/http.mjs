// HTTP to the node: one fresh connection per request (no pooled sockets surviving a restart), every
// response validated against docs/openapi.yaml unless the caller asks for the raw exchange.
import http from 'node:http';
import assert from 'node:assert/strict';
import { validateResponse } from './openapi.mjs';

// The raw exchange: {status, headers (lower-case), text, raw (Buffer)}.
export function request({ port, method, path, headers = {}, body, timeoutMs = 15000 }) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: {
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
          ...headers,
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          resolve({ status: res.statusCode, headers: res.headers, raw, text: raw.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

let opCounter = 0;
const runId = `${process.pid}-${Date.now().toString(36)}`;
// Unique operation / correlation ids for this run.
export function uniqueId(prefix = 'op') {
  return `${prefix}-${runId}-${++opCounter}`;
}

export function sessionTypeOf(mode) {
  return mode === 'stage' ? 'broadcast' : 'realtime';
}

// A meta object per docs/api.md. `over` replaces fields; scope fields merge.
export function makeMeta({ tenant, user, device, mode, clientId = 'e2e-client' }, over = {}) {
  const { scope: scopeOver, ...rest } = over;
  const meta = {
    version: 'v1',
    client_id: clientId,
    op_id: uniqueId('op'),
    correlation_id: uniqueId('corr'),
    session_type: sessionTypeOf(rest.mode || mode),
    mode,
    scope: { tenant, ...(user !== undefined ? { user } : {}), ...(device !== undefined ? { device } : {}) },
    ...rest,
  };
  meta.scope = { ...meta.scope, ...scopeOver };
  return meta;
}

// Calls one node as one tenant with one credential (API key or token). Every response is validated
// against openapi.yaml; the result is {status, headers, body (parsed), text, raw (Buffer)}.
export class Api {
  constructor(node, { tenant = 'acme', auth, user = 'alice', device = 'dev-alice-1', clientId = 'e2e-client' } = {}) {
    this.node = node;
    this.tenant = tenant;
    this.auth = auth === undefined ? node.apiKeys[tenant] : auth;
    this.user = user;
    this.device = device;
    this.clientId = clientId;
  }

  with(over) {
    const a = new Api(this.node, { tenant: this.tenant, auth: this.auth, user: this.user, device: this.device, clientId: this.clientId });
    return Object.assign(a, over);
  }

  meta(mode, over = {}) {
    const clientId = typeof this.clientId === 'function' ? this.clientId() : this.clientId;
    return makeMeta({ tenant: this.tenant, user: this.user, device: this.device, mode, clientId }, over);
  }

  // Low level: any method, path, body (object → JSON, string/Buffer → as is), extra headers.
  async call(method, path, { body, headers = {}, auth = this.auth, validate = true } = {}) {
    const h = { ...headers };
    if (auth) h.Authorization = `Bearer ${auth}`;
    const text = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const r = await request({ port: this.node.port, method, path, headers: h, body: text });
    const parsed = validate ? validateResponse({ method, path, status: r.status, headers: r.headers, text: r.text }) : undefined;
    return { status: r.status, headers: r.headers, body: parsed, text: r.text, raw: r.raw };
  }

  get(path, opts) {
    return this.call('GET', path, opts);
  }

  post(path, body, opts) {
    return this.call('POST', path, { ...opts, body });
  }

  // ---- operations (public routes) ------------------------------------------------------------
  prepare(mode, args = {}, metaOver = {}) {
    return this.post('/v1/streams', { meta: this.meta(mode, metaOver), mode, ...args });
  }
  goLive(session, args = {}, metaOver = {}) {
    return this.post(`/v1/streams/${session.session_id}/go_live`, { meta: this.meta(session.mode, metaOver), ...args });
  }
  end(session, args = {}, metaOver = {}) {
    return this.post(`/v1/streams/${session.session_id}/end`, { meta: this.meta(session.mode, metaOver), ...args });
  }
  refresh(session, args = {}, metaOver = {}) {
    return this.post(`/v1/streams/${session.session_id}/tokens/refresh`, { meta: this.meta(session.mode, metaOver), ...args });
  }
  snapshot(session, args = {}, metaOver = {}) {
    return this.post(`/v1/streams/${session.session_id}/snapshot`, { meta: this.meta(session.mode, metaOver), ...args });
  }
  consent(session, args = {}, metaOver = {}) {
    return this.post(`/v1/streams/${session.session_id}/consent`, { meta: this.meta(session.mode, metaOver), ...args });
  }
  getSession(sessionId) {
    return this.get(`/v1/streams/${sessionId}`);
  }
  getRoom(roomId) {
    return this.get(`/v1/rooms/${roomId}`);
  }
  join(session, args = {}, metaOver = {}) {
    return this.post(`/v1/rooms/${session.room_id}/join`, { meta: this.meta(session.mode, metaOver), ...args });
  }
  leave(session, args = {}, metaOver = {}) {
    return this.post(`/v1/rooms/${session.room_id}/leave`, { meta: this.meta(session.mode, metaOver), ...args });
  }
  next(session, args = {}, metaOver = {}) {
    return this.post(`/v1/rooms/${session.room_id}/next`, { meta: this.meta(session.mode, metaOver), ...args });
  }
  async health() {
    const r = await this.get('/healthz', { auth: null });
    assert.equal(r.status, 200);
    return r.body;
  }
  async headSeq() {
    return (await this.health()).ledger.head_seq;
  }
}

// Asserts a response's status (and error code), with the body in the message when it differs.
export function expectStatus(res, status, code) {
  assert.equal(res.status, status, `expected ${status}${code ? ' ' + code : ''}, got ${res.status}: ${res.text.slice(0, 800)}`);
  if (code !== undefined) {
    assert.equal(res.body?.error?.code, code, `expected error ${code}: ${res.text.slice(0, 800)}`);
    assert.equal(res.body.error.correlation_id, res.headers['x-correlation-id'], 'error.correlation_id is the X-Correlation-Id');
  }
  return res.body;
}

// Prepares a session (201) and returns its result document.
export async function prepared(api, mode, args = {}, metaOver = {}) {
  return expectStatus(await api.prepare(mode, args, metaOver), 201);
}
