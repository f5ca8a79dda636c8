// The MCP server at /mcp, driven by the official SDK client over streamable HTTP: initialize,
// tools/list (every operation, with schemas requiring meta), tools/call prepare → go_live → end,
// operation errors as isError results, JSON-RPC errors, credentials, sessions.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OmnicastNode } from './lib/node.mjs';
import { Api, expectStatus, makeMeta, request, uniqueId } from './lib/http.mjs';
import { validateResponse } from './lib/openapi.mjs';
import { connectMcp, callTool } from './lib/mcp.mjs';
import { assertTokenClaims } from './lib/tokens.mjs';
import { TOOLS, READ_TOOLS as READS } from './lib/catalogue.mjs';

describe('MCP /mcp', () => {
  let node, acme, mcp;
  before(async () => {
    node = await OmnicastNode.start({ name: 'mcp' });
    acme = new Api(node, { tenant: 'acme', user: 'alice' });
    mcp = await connectMcp(node, { apiKey: node.apiKeys.acme });
  });
  after(async () => {
    await mcp?.client.close();
    await node?.stop();
  });
  const meta = (mode, over = {}) => makeMeta({ tenant: 'acme', user: 'alice', device: 'dev-mcp', mode, clientId: 'mcp-agent' }, over);

  test('initialize negotiated a supported version and a session id', () => {
    assert.ok(['2025-11-25', '2025-06-18', '2025-03-26'].includes(mcp.transport.protocolVersion), mcp.transport.protocolVersion);
    assert.ok(mcp.transport.sessionId, 'Mcp-Session-Id was returned');
    const init = mcp.exchanges.find((e) => e.method === 'POST' && e.headers['mcp-session-id']);
    assert.ok(init, 'the answer to initialize carries Mcp-Session-Id');
    assert.ok(mcp.client.getServerCapabilities().tools, 'the server offers tools');
    assert.deepEqual(mcp.problems, []);
  });

  test('tools/list: every operation of api.md, with input schemas requiring meta and output schemas', async () => {
    const { tools } = await mcp.client.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    assert.deepEqual(Object.keys(byName).filter((n) => TOOLS.includes(n)).sort(), [...TOOLS].sort());
    for (const name of TOOLS) {
      const t = byName[name];
      assert.ok(t.description, `${name} has a description`);
      assert.equal(t.inputSchema.type, 'object', name);
      assert.ok(t.inputSchema.properties?.meta, `${name}: inputSchema has meta`);
      if (!READS.includes(name)) assert.ok(t.inputSchema.required?.includes('meta'), `${name}: inputSchema requires meta`);
      const metaSchema = t.inputSchema.properties.meta;
      for (const f of ['version', 'client_id', 'op_id', 'correlation_id', 'session_type', 'mode', 'scope'])
        assert.ok(JSON.stringify(metaSchema).includes(`"${f}"`), `${name}: meta schema names ${f}`);
      assert.equal(t.outputSchema?.type, 'object', `${name} has an outputSchema`);
      if (name.startsWith('stream.v1.') && !['stream.v1.prepare'].includes(name))
        assert.ok(t.inputSchema.required?.includes('session_id'), `${name} requires session_id`);
      if (name.startsWith('room.v1.')) assert.ok(t.inputSchema.required?.includes('room_id'), `${name} requires room_id`);
    }
  });

  test('stream.v1.prepare → stream.v1.go_live → stream.v1.end, the same documents as REST', async () => {
    const p = await callTool(mcp.client, 'stream.v1.prepare', { meta: meta('circle'), mode: 'circle', title: 'via mcp' });
    assert.equal(p.isError, false, JSON.stringify(p.structuredContent));
    const s = p.structuredContent;
    assert.equal(s.state, 'prepared');
    assert.equal(s.owner, 'alice');
    await assertTokenClaims(node, s.tokens.pub, { sub: 'alice', sid: s.session_id, rid: s.room_id, role: 'pub', mode: 'circle' });

    const got = await callTool(mcp.client, 'stream.v1.get', { meta: meta('circle'), session_id: s.session_id });
    const rest = expectStatus(await acme.getSession(s.session_id), 200);
    assert.deepEqual(got.structuredContent, rest, 'stream.v1.get answers what GET /v1/streams/{id} answers');
    assert.equal(rest.title, 'via mcp');

    const j = await callTool(mcp.client, 'room.v1.join', { meta: meta('circle'), room_id: s.room_id, participant: 'bob', device: 'dev-bob' });
    assert.equal(j.isError, false, JSON.stringify(j.structuredContent));
    const room = await callTool(mcp.client, 'room.v1.get', { meta: meta('circle'), room_id: s.room_id });
    assert.ok(room.structuredContent.members.some((m) => m.participant === 'bob'));

    const g = await callTool(mcp.client, 'stream.v1.go_live', { meta: meta('circle'), session_id: s.session_id });
    assert.equal(g.isError, false, JSON.stringify(g.structuredContent));
    assert.equal(g.structuredContent.state, 'publishing');
    assert.equal(g.structuredContent.playback.type, 'webrtc');

    const e = await callTool(mcp.client, 'stream.v1.end', { meta: meta('circle'), session_id: s.session_id });
    assert.equal(e.isError, false, JSON.stringify(e.structuredContent));
    assert.deepEqual(e.structuredContent, { ok: true, session_id: s.session_id, state: 'archived', replay_media_id: null });
    assert.equal(expectStatus(await acme.getSession(s.session_id), 200).state, 'archived');
    assert.deepEqual(mcp.problems, []);
  });

  test('an operation error is a result with isError true and the error document', async () => {
    const p = await callTool(mcp.client, 'stream.v1.prepare', { meta: meta('duo', { scope: { device: uniqueId('dev') } }), mode: 'duo' });
    const s = p.structuredContent;
    await callTool(mcp.client, 'stream.v1.end', { meta: meta('duo'), session_id: s.session_id });
    const again = await callTool(mcp.client, 'stream.v1.go_live', { meta: meta('duo'), session_id: s.session_id });
    assert.equal(again.isError, true);
    assert.equal(again.errorDocument.error.code, 'illegal_transition');

    const badMeta = await callTool(mcp.client, 'stream.v1.prepare', { meta: meta('stage', { session_type: 'realtime' }), mode: 'stage' });
    assert.equal(badMeta.isError, true);
    assert.equal(badMeta.errorDocument.error.code, 'invalid_meta');
    assert.match(badMeta.errorDocument.error.message, /meta\.session_type/);

    const noMeta = await callTool(mcp.client, 'stream.v1.go_live', { session_id: s.session_id });
    assert.equal(noMeta.isError, true);
    assert.equal(noMeta.errorDocument.error.code, 'invalid_meta');

    const otherTenant = await callTool(mcp.client, 'stream.v1.prepare', { meta: meta('duo', { scope: { tenant: 'globex' } }), mode: 'duo' });
    assert.equal(otherTenant.isError, true);
    assert.equal(otherTenant.errorDocument.error.code, 'tenant_mismatch');

    const missing = await callTool(mcp.client, 'stream.v1.get', { meta: meta('duo'), session_id: 'ss_01JDUNKNOWN0000000000000000' });
    assert.equal(missing.isError, true);
    assert.equal(missing.errorDocument.error.code, 'not_found');
  });

  test('MCP and REST share idempotency: the same op_id repeats the same result', async () => {
    const m = meta('duo', { scope: { device: uniqueId('dev') } });
    const first = await callTool(mcp.client, 'stream.v1.prepare', { meta: m, mode: 'duo' });
    const head = await acme.headSeq();
    const again = await callTool(mcp.client, 'stream.v1.prepare', { meta: { ...m, correlation_id: uniqueId('corr') }, mode: 'duo' });
    assert.equal(again.content[0].text, first.content[0].text, 'byte-identical result text');
    assert.equal(await acme.headSeq(), head);
    const conflict = await callTool(mcp.client, 'stream.v1.prepare', { meta: m, mode: 'duo', title: 'other' });
    assert.equal(conflict.isError, true);
    assert.equal(conflict.errorDocument.error.code, 'op_conflict');
  });

  test('an unknown tool, or arguments that are not an object, are JSON-RPC errors -32602', async () => {
    await assert.rejects(mcp.client.callTool({ name: 'stream.v1.teleport', arguments: {} }), (e) => e.code === -32602);
    // The SDK would not send non-object arguments: send the raw JSON-RPC message.
    const r = await request({
      port: node.port,
      method: 'POST',
      path: '/mcp',
      headers: {
        Authorization: `Bearer ${node.apiKeys.acme}`,
        'Mcp-Session-Id': mcp.transport.sessionId,
        'MCP-Protocol-Version': mcp.transport.protocolVersion,
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 77, method: 'tools/call', params: { name: 'stream.v1.get', arguments: [1, 2] } }),
    });
    const body = validateResponse({ method: 'POST', path: '/mcp', ...r });
    assert.equal(r.status, 200);
    assert.equal(body.id, 77);
    assert.equal(body.error.code, -32602);
  });

  test('without an API key (or with an unknown one) the client cannot connect: 401', async () => {
    for (const apiKey of [undefined, 'ock_' + 'Z'.repeat(52)]) await assert.rejects(connectMcp(node, { apiKey }));
    const r = await request({
      port: node.port, method: 'POST', path: '/mcp',
      headers: { Accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    const body = validateResponse({ method: 'POST', path: '/mcp', ...r });
    assert.equal(r.status, 401);
    assert.equal(body.error.code, 'unauthenticated');
  });

  test('GET /mcp is 405; a request without Mcp-Session-Id is 400; DELETE ends the session (then 404)', async () => {
    const key = { Authorization: `Bearer ${node.apiKeys.acme}` };
    const g = await request({ port: node.port, method: 'GET', path: '/mcp', headers: { ...key, Accept: 'text/event-stream' } });
    validateResponse({ method: 'GET', path: '/mcp', ...g });
    assert.equal(g.status, 405);
    assert.match(g.headers.allow, /POST/);

    const noSession = await request({
      port: node.port, method: 'POST', path: '/mcp',
      headers: { ...key, Accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    validateResponse({ method: 'POST', path: '/mcp', ...noSession });
    assert.equal(noSession.status, 400);

    const own = await connectMcp(node, { apiKey: node.apiKeys.acme });
    const sid = own.transport.sessionId;
    await own.client.listTools();
    await own.transport.terminateSession();
    const del = own.exchanges.find((e) => e.method === 'DELETE');
    assert.ok(del && del.status >= 200 && del.status < 300, `DELETE /mcp answered ${del?.status}`);
    assert.deepEqual(own.problems, []);
    const after = await request({
      port: node.port, method: 'POST', path: '/mcp',
      headers: { ...key, 'Mcp-Session-Id': sid, Accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
    });
    validateResponse({ method: 'POST', path: '/mcp', ...after });
    assert.equal(after.status, 404);
    await own.client.close();
  });

  test('a notification is answered 202 without a body', async () => {
    const r = await request({
      port: node.port, method: 'POST', path: '/mcp',
      headers: {
        Authorization: `Bearer ${node.apiKeys.acme}`, 'Mcp-Session-Id': mcp.transport.sessionId,
        'MCP-Protocol-Version': mcp.transport.protocolVersion, Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 999 } }),
    });
    validateResponse({ method: 'POST', path: '/mcp', ...r });
    assert.equal(r.status, 202);
    assert.equal(r.text, '');
  });
});
