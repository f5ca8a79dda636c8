// Participant tokens: verified and minted with jose and the node's own HS256 secret
// (<data_dir>/keys/token-hs256.key, raw bytes), as any JWT library would (docs/api.md).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { jwtVerify, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';

export async function verifyToken(node, jwt) {
  const { payload, protectedHeader } = await jwtVerify(jwt, node.tokenSecret(), {
    algorithms: ['HS256'],
    issuer: 'omnicast',
    audience: 'omnicast',
  });
  return { payload, header: protectedHeader };
}

// Checks the claims table of docs/api.md; `want` lists the claims whose values are known.
export async function assertTokenClaims(node, jwt, want) {
  const { payload, header } = await verifyToken(node, jwt);
  assert.equal(header.alg, 'HS256');
  for (const c of ['iss', 'aud', 'sub', 'tid', 'sid', 'rid', 'role', 'mode', 'iat', 'exp', 'jti'])
    assert.ok(payload[c] !== undefined, `token claim ${c} is missing: ${JSON.stringify(payload)}`);
  assert.equal(payload.iss, 'omnicast');
  assert.ok(payload.aud === 'omnicast' || (Array.isArray(payload.aud) && payload.aud.includes('omnicast')));
  assert.ok(Number.isInteger(payload.iat) && Number.isInteger(payload.exp));
  const ttl = payload.exp - payload.iat;
  assert.ok(ttl >= 60 && ttl <= 300, `exp − iat = ${ttl} s, not within 60–300`);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Math.abs(payload.iat - now) <= 60, `iat ${payload.iat} is not now (${now})`);
  assert.equal(typeof payload.jti, 'string');
  assert.ok(payload.jti.length > 0);
  for (const [k, v] of Object.entries(want)) assert.deepEqual(payload[k], v, `token claim ${k}`);
  return payload;
}

// A token signed with the node's secret but with chosen claims (e.g. exp in the past).
export async function mintToken(secret, claims, { iatOffset = -600, ttl = 120 } = {}) {
  const iat = Math.floor(Date.now() / 1000) + iatOffset;
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('omnicast')
    .setAudience('omnicast')
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttl)
    .setJti(crypto.randomUUID())
    .sign(secret);
}

// The same claims as `jwt`, but expired (iat 10 min ago, exp 8 min ago), signed with `secret`.
export async function expiredCopy(secret, jwt) {
  const { iss, aud, iat, exp, jti, ...claims } = decodeJwt(jwt);
  return mintToken(secret, claims, { iatOffset: -600, ttl: 120 });
}

// The same claims, valid, but signed with another key: a bad signature.
export async function forgedCopy(jwt) {
  const { iss, aud, iat, exp, jti, ...claims } = decodeJwt(jwt);
  return mintToken(crypto.randomBytes(32), claims, { iatOffset: 0, ttl: 120 });
}

export { decodeJwt, decodeProtectedHeader };
