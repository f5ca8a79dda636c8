// A participant's WebSocket (package `ws`) to /v1/ws. Every message the server sends is validated
// against the WsServerMessage schema of openapi.yaml; replies are matched to requests by id and
// their results validated against the operation's result schema.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { assertSchema, schemaRef, validateResponse } from './openapi.mjs';
import { uniqueId } from './http.mjs';

const RESULT_SCHEMA = {
  join: 'RoomOpResult',
  leave: 'RoomOpResult',
  next: 'RoomOpResult',
  consent: 'ConsentResult',
};

// Opens the socket. Resolves {client} once upgraded, or rejects with {status, body} when the node
// refuses the upgrade (the refusal is validated against GET /v1/ws in openapi.yaml).
export function connectWs(node, { token, header = false, query = '' } = {}) {
  const qs = new URLSearchParams(query);
  if (token && !header) qs.set('token', token);
  const path = `/v1/ws${qs.toString() ? '?' + qs : ''}`;
  const headers = token && header ? { Authorization: `Bearer ${token}` } : {};
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${node.port}${path}`, { headers, handshakeTimeout: 10000 });
    const client = new WsClient(ws);
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (req, res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          const body = validateResponse({ method: 'GET', path, status: res.statusCode, headers: res.headers, text });
          const err = new Error(`upgrade refused: ${res.statusCode} ${text}`);
          Object.assign(err, { status: res.statusCode, body, headers: res.headers });
          reject(err);
        } catch (e) {
          reject(e);
        }
        ws.terminate();
      });
    });
    ws.once('error', (e) => reject(e));
  });
}

export class WsClient {
  constructor(ws) {
    this.ws = ws;
    this.messages = []; // every message received, in order
    this.waiters = [];
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
    this.invalid = null;
    ws.on('message', (data, isBinary) => {
      let msg;
      try {
        assert.equal(isBinary, false, 'the server sent a binary frame; every frame must be JSON text');
        msg = JSON.parse(String(data));
        assertSchema(schemaRef('WsServerMessage'), msg, 'WebSocket message');
      } catch (e) {
        this.invalid = this.invalid || e;
      }
      this.messages.push(msg);
      this.poke();
    });
    ws.on('close', () => this.poke());
    // After the upgrade, a protocol error fails whoever waits (and never crashes the runner).
    ws.on('error', (e) => {
      this.invalid = this.invalid || e;
      this.poke();
    });
  }

  poke() {
    for (const w of [...this.waiters]) w();
  }

  // Waits until a received message (at or after index `from`) satisfies `pred`; returns it.
  waitFor(pred, { timeoutMs = 10000, what = 'a WebSocket message', from = 0 } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.invalid) return done(reject, this.invalid);
        const m = this.messages.slice(from).find((x) => x && pred(x));
        if (m) return done(resolve, m);
        if (this.ws.readyState === WebSocket.CLOSED) done(reject, new Error(`the socket closed while waiting for ${what}`));
      };
      const timer = setTimeout(
        () => done(reject, new Error(`timed out waiting for ${what}; received: ${JSON.stringify(this.messages).slice(-1500)}`)),
        timeoutMs,
      );
      const done = (fn, v) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        fn(v);
      };
      this.waiters.push(check);
      check();
    });
  }

  hello() {
    return this.waitFor((m) => m.type === 'hello', { what: 'hello' });
  }

  event(kind, pred = () => true, opts = {}) {
    return this.waitFor((m) => m.type === 'event' && m.kind === kind && pred(m), { what: `event ${kind}`, ...opts });
  }

  // Sends {id, type, ...fields}; resolves the reply (validated). `expectOk` false for refusals.
  async send(type, fields = {}) {
    const id = uniqueId('ws');
    this.ws.send(JSON.stringify({ id, type, ...fields }));
    const reply = await this.waitFor((m) => (m.type === 'reply' || m.type === 'pong') && m.id === id, { what: `the reply to ${type} ${id}` });
    if (reply.type === 'reply' && reply.ok) {
      if (RESULT_SCHEMA[type]) assertSchema(schemaRef(RESULT_SCHEMA[type]), reply.result, `${type} result`);
      if (type === 'subscribe') {
        const schema = fields.room_id ? schemaRef('Room') : 'urn:omnicast:schema:stream.session.v1';
        assertSchema(schema, reply.result, 'subscribe result');
      }
    }
    return reply;
  }

  close() {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
    return this.closed;
  }
}
