// An MCP client built on the official SDK (Client + StreamableHTTPClientTransport) whose every
// HTTP exchange with /mcp is validated against openapi.yaml, and whose tool results are validated
// against the result schemas of x-mcp-tools.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { openapi, validateResponse, assertSchema, schemaRef } from './openapi.mjs';

// fetch that validates each answer of the node; problems are kept (background requests such as
// the SDK's GET for a server stream report through here, not through a test's await).
export function validatingFetch(problems, exchanges = []) {
  return async (url, init = {}) => {
    const res = await fetch(url, init);
    const u = new URL(url);
    const method = (init.method || 'GET').toUpperCase();
    const headers = Object.fromEntries(res.headers);
    const exchange = { method, path: u.pathname, status: res.status, headers, requestHeaders: new Headers(init.headers) };
    exchanges.push(exchange);
    if ((headers['content-type'] || '').startsWith('text/event-stream')) {
      problems.push(new Error(`${method} ${u.pathname}: the node answered an SSE stream; openapi.yaml documents JSON only`));
      return res;
    }
    const text = await res.clone().text();
    exchange.text = text;
    try {
      validateResponse({ method, path: u.pathname, status: res.status, headers, text });
    } catch (e) {
      problems.push(e);
      throw e;
    }
    return res;
  };
}

export async function connectMcp(node, { apiKey, headers = {} } = {}) {
  const problems = [];
  const exchanges = [];
  const transport = new StreamableHTTPClientTransport(new URL(`${node.baseUrl}/mcp`), {
    requestInit: { headers: { ...(apiKey ? { Authorization: `Bearer ${apiKey}` } : {}), ...headers } },
    fetch: validatingFetch(problems, exchanges),
  });
  const client = new Client({ name: 'omnicast-e2e', version: '1.0.0' });
  transport.onerror = (e) => problems.push(e);
  await client.connect(transport);
  return { client, transport, problems, exchanges };
}

// tools/call, with the result checked against McpToolResult and the tool's result schema. An
// operation error has no structuredContent (the SDK checks structuredContent against the tool's
// output schema even when isError is set); its text is the error document, returned as `errorDocument`.
export async function callTool(client, name, args) {
  const result = await client.callTool({ name, arguments: args });
  assertSchema(schemaRef('McpToolResult'), result, `${name} result`);
  const tools = openapi.paths['/mcp'].post['x-mcp-tools'];
  assert.equal(result.content[0].type, 'text');
  const text = JSON.parse(result.content[0].text);
  if (result.isError) {
    assert.equal(result.structuredContent, undefined, `${name}: an error carries no structuredContent`);
    assertSchema(schemaRef('Error'), text, `${name} error`);
    result.errorDocument = text;
  } else {
    assertSchema(tools[name].result.$ref, result.structuredContent, `${name} structuredContent`);
    assert.deepEqual(text, result.structuredContent, 'the text content is the result JSON');
  }
  return result;
}
