// What docs/api.md promises, as data: the REST routes and the MCP tools.
export const ROUTES = [
  ['post', '/internal/stream/prepare'],
  ['post', '/internal/stream/go_live'],
  ['post', '/internal/stream/end'],
  ['post', '/internal/stream/tokens/refresh'],
  ['post', '/internal/stream/snapshot'],
  ['post', '/v1/streams'],
  ['get', '/v1/streams/{session_id}'],
  ['post', '/v1/streams/{session_id}/go_live'],
  ['post', '/v1/streams/{session_id}/end'],
  ['post', '/v1/streams/{session_id}/tokens/refresh'],
  ['post', '/v1/streams/{session_id}/snapshot'],
  ['post', '/v1/streams/{session_id}/consent'],
  ['get', '/v1/rooms/{room_id}'],
  ['post', '/v1/rooms/{room_id}/join'],
  ['post', '/v1/rooms/{room_id}/leave'],
  ['post', '/v1/rooms/{room_id}/next'],
  ['get', '/healthz'],
  ['get', '/metrics'],
  ['get', '/v1/ws'],
  ['post', '/mcp'],
  ['get', '/mcp'],
  ['delete', '/mcp'],
];

export const TOOLS = [
  'stream.v1.prepare',
  'stream.v1.go_live',
  'stream.v1.end',
  'stream.v1.tokens.refresh',
  'stream.v1.snapshot',
  'stream.v1.consent',
  'stream.v1.get',
  'room.v1.join',
  'room.v1.leave',
  'room.v1.next',
  'room.v1.get',
];

// Tools that only read (meta optional).
export const READ_TOOLS = ['stream.v1.get', 'room.v1.get'];
