// The authorizer decision written on the two Node JWT verifiers the issue #21 goal 1 compares
// against: AWS's aws-jwt-verify (what Cognito-fronted API Gateway authorizers use) and panva's
// jose. Each peer does what Xecure's `full_decision_*` benchmarks time (functions/authorizer/
// benches/decision.rs), minus revocations and DPoP, which neither has: parse the TOKEN event's
// JSON text, take the bearer token, verify it (EdDSA, issuer, audience, expiry) or find it in
// a verified-claims cache, check the route's scope, and write the IAM policy answer and the
// decision log line as JSON text. Also timed: Node's own Ed25519 verify with a pre-parsed key
// (the peers' crypto floor, like Xecure's `crypto_floor_ed25519_verify`).
//
//   node peers.mjs [--seconds-per-sample 0.2] [--samples 15]
//
// Prints one JSON line per measurement: {"peer", "work", "median_us", "fastest_us"}
// (the median sample and the fastest, the least disturbed on a shared machine).
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { JwtVerifier } from 'aws-jwt-verify';
import { importJWK, jwtVerify } from 'jose';

const ISSUER = 'https://auth.example';
const AUDIENCE = `${ISSUER}/api`;
const KID = 'key_test1';
const ARN_PREFIX = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod';
// More distinct tokens than the cache holds, as in Xecure's benchmark (TOKENS = 6000).
const TOKENS = 6000;
const CACHE_CAPACITY = 4096;

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const SECONDS_PER_SAMPLE = option('--seconds-per-sample', 0.1);
const SAMPLES = option('--samples', 30);

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'EdDSA', use: 'sig' };
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const nowSecs = () => Math.floor(Date.now() / 1000);

// The same header and claims as Xecure's benchmark harness (functions/authorizer/tests/support).
function signToken(n) {
  const now = nowSecs();
  const input = `${b64({ alg: 'EdDSA', typ: 'at+jwt', kid: KID })}.${b64({
    iss: ISSUER, sub: 'usr_alice', aud: AUDIENCE, exp: now + 600, iat: now, jti: `jti-${n}`,
    client_id: 'photo-app', scope: 'orders:read', gid: 'grt_1', fid: 'fam_1',
  })}`;
  return `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
}

const tokens = Array.from({ length: TOKENS }, (_, n) => signToken(n));
const events = tokens.map((token) => JSON.stringify({
  type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn: `${ARN_PREFIX}/GET/orders/42`,
}));

// The route table's one entry the benchmark calls: GET /orders/{id} needs orders:read.
const ROUTES = [{ method: 'GET', pattern: /^\/orders\/[^/]+$/, route: '/orders/{id}', scope: 'orders:read' }];

function deny(reason) {
  return { answer: null, line: JSON.stringify({ event: 'authorizer_decision', decision: 'deny', reason }) };
}

// The decision around `verifyToken` (token -> claims, throws when not valid).
function decider(verifyToken) {
  const cache = new Map();
  return async (eventText) => {
    const event = JSON.parse(eventText);
    const authorization = event.authorizationToken ?? '';
    if (!authorization.startsWith('Bearer ')) return deny('malformed');
    const token = authorization.slice(7);
    let claims = cache.get(token);
    if (!claims || claims.exp <= nowSecs()) {
      try {
        claims = await verifyToken(token);
      } catch {
        return deny('invalid_token');
      }
      if (cache.size >= CACHE_CAPACITY) cache.delete(cache.keys().next().value);
      cache.set(token, claims);
    }
    const arn = event.methodArn;
    const [, , method, ...rest] = arn.slice(arn.indexOf(':', 'arn:aws:execute-api:'.length)).split('/');
    const path = `/${rest.join('/')}`;
    const route = ROUTES.find((r) => r.method === method && r.pattern.test(path));
    if (!route) return deny('no_route');
    if (!claims.scope.split(' ').includes(route.scope)) return deny('insufficient_scope');
    const answer = JSON.stringify({
      principalId: claims.sub,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: [arn] }],
      },
      context: { sub: claims.sub, client_id: claims.client_id, scope: claims.scope, jti: claims.jti },
    });
    const line = JSON.stringify({
      event: 'authorizer_decision', decision: 'allow', reason: 'allow', client_id: claims.client_id,
      sub: claims.sub, route: `${method} ${route.route}`, jti: claims.jti,
    });
    return { answer, line };
  };
}

const awsVerifier = JwtVerifier.create({
  issuer: ISSUER, audience: AUDIENCE, jwksUri: `${ISSUER}/.well-known/jwks.json`,
});
awsVerifier.cacheJwks({ keys: [publicJwk] });
const joseKey = await importJWK(publicJwk, 'EdDSA');
const joseOptions = { issuer: ISSUER, audience: AUDIENCE, algorithms: ['EdDSA'], typ: 'at+jwt' };

const peers = {
  'aws-jwt-verify': (token) => awsVerifier.verifySync(token),
  jose: async (token) => (await jwtVerify(token, joseKey, joseOptions)).payload,
};

// The median and the fastest of SAMPLES samples, each the mean of as many calls as fit in
// SECONDS_PER_SAMPLE, after a second of warm-up. `work` gets a call counter that runs on across samples, so the
// new-token measurement cycles through every token (never back into the cache).
async function measure(work) {
  let call = 0;
  for (let start = performance.now(); performance.now() - start < 1000;) await work(call++);
  let perSample = 1;
  for (; ; perSample *= 2) {
    const start = performance.now();
    for (let i = 0; i < perSample; i += 1) await work(call++);
    if (performance.now() - start >= SECONDS_PER_SAMPLE * 1000) break;
  }
  const samples = [];
  for (let s = 0; s < SAMPLES; s += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < perSample; i += 1) await work(call++);
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / perSample);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)], fastest: samples[0] };
}

function report(peer, work, { median, fastest }) {
  const us = (value) => Number(value.toFixed(3));
  console.log(JSON.stringify({ peer, work, median_us: us(median), fastest_us: us(fastest) }));
}

const floorKey = createPublicKey({ key: publicJwk, format: 'jwk' });
const parts = tokens.map((token) => {
  const dot = token.lastIndexOf('.');
  return [Buffer.from(token.slice(0, dot)), Buffer.from(token.slice(dot + 1), 'base64url')];
});
report('node', 'crypto_floor_ed25519_verify', await measure(async (i) => {
  const [input, signature] = parts[i % TOKENS];
  if (!verify(null, input, floorKey, signature)) throw new Error('floor: bad signature');
}));

for (const [peer, verifyToken] of Object.entries(peers)) {
  const decide = decider(verifyToken);
  const allowed = async (event) => {
    const { answer } = await decide(event);
    if (!answer) throw new Error(`${peer}: the benchmark's token was refused`);
  };
  report(peer, 'full_decision_new_token', await measure((i) => allowed(events[i % TOKENS])));
  report(peer, 'full_decision_cached_token', await measure(() => allowed(events[0])));
}
