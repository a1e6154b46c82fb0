// DPoP (RFC 9449) and pushed authorization requests (RFC 9126) with an unmodified client
// library: panva's openid-client, as a public app the operator registered with
// `--dpop-bound-access-tokens --require-pushed-authorization-requests`. It pushes its
// request, signs the user in through Chromium (code + PKCE), gets DPoP-bound tokens, calls
// the demo API through the local gateway with DPoP, refreshes (its refresh token is bound to
// the key) and calls again. The gateway is shown to refuse what RFC 9449 section 7 says it
// must: the token as a bearer token, a proof for another method or URL, a replayed proof,
// another key's proof; and /authorize refuses the app's request sent without PAR.
//
//   node tests/browser/dpop_par_client.mjs BASE_URL USERNAME PASSWORD CLIENT_ID SCREENSHOT_DIR
import * as client from 'openid-client';
import * as jose from 'jose';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { check, launchChromium, loopbackApp, scriptArguments } from './chromium.mjs';

const [base, username, password, clientId, shots] = scriptArguments('dpop_par_client.mjs', ['BASE_URL', 'USERNAME', 'PASSWORD', 'CLIENT_ID', 'SCREENSHOT_DIR']);
mkdirSync(shots, { recursive: true });

const app = await loopbackApp();
const redirectUri = `${app.origin}/cb`;

const config = await client.discovery(new URL(base), clientId, undefined, client.None(),
  { execute: [client.allowInsecureRequests] });
const metadata = config.serverMetadata();
check(metadata.pushed_authorization_request_endpoint === `${base}/par`, 'discovery names the PAR endpoint');
check(metadata.dpop_signing_alg_values_supported?.includes('ES256'), 'discovery lists the DPoP algorithms');

const keyPair = await client.randomDPoPKeyPair('ES256');
const dpop = client.getDPoPHandle(config, keyPair);
const publicJwk = await jose.exportJWK(keyPair.publicKey);
const orders = `${base}/orders`;

// A proof made by hand, to send exactly what a test needs (RFC 9449 section 4.2).
async function proof(method, url, accessToken, key = keyPair, jwk = publicJwk) {
  return new jose.SignJWT({
    jti: randomUUID(),
    htm: method,
    htu: url,
    iat: Math.floor(Date.now() / 1000),
    ath: createHash('sha256').update(accessToken).digest('base64url'),
  }).setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk }).sign(key.privateKey);
}

async function call(accessToken, scheme, dpopProof, method = 'GET') {
  const headers = { authorization: `${scheme} ${accessToken}` };
  if (dpopProof) headers.dpop = dpopProof;
  return fetch(orders, { method, headers });
}

const browser = await launchChromium();
let step = 'start';
try {
  const page = await browser.newPage();

  step = 'a request sent without PAR is refused for this app';
  const direct = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid orders:read',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  await page.goto(direct.href);
  check((await page.content()).includes('must push'), 'the direct request is refused');

  step = 'pushed authorization request';
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: redirectUri,
    scope: 'openid orders:read',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  }, { DPoP: dpop });
  check(url.searchParams.get('request_uri')?.startsWith('urn:ietf:params:oauth:request_uri:'), `a request_uri: ${url}`);
  check(![...url.searchParams.keys()].some((name) => !['client_id', 'request_uri'].includes(name)), 'the browser carries only client_id and request_uri');

  step = 'sign-in (login, consent)';
  app.landed = null;
  await page.goto(url.href);
  await page.waitForURL(/\/login\?request=/);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/consent\?request=/);
  await page.screenshot({ path: join(shots, '10-dpop-par-consent.png'), fullPage: true });
  await page.click('button[value=approve]');
  await page.waitForURL((next) => next.href.startsWith(`${redirectUri}?`));
  check(app.landed, 'the authorization response reached the app');

  step = 'code exchange with DPoP (the server asks for a nonce first: use_dpop_nonce)';
  const tokens = await client.authorizationCodeGrant(config, app.landed, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  }, undefined, { DPoP: dpop });
  check(tokens.token_type === 'dpop', `token_type DPoP: ${tokens.token_type}`);
  const thumbprint = await jose.calculateJwkThumbprint(publicJwk, 'sha256');
  check(jose.decodeJwt(tokens.access_token).cnf?.jkt === thumbprint, 'the access token confirms the key (cnf.jkt)');

  step = 'UserInfo with DPoP (and not as a bearer token)';
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub, { DPoP: dpop });
  check(userinfo.sub === tokens.claims().sub, `userinfo: ${JSON.stringify(userinfo)}`);
  const bearerUserinfo = await fetch(`${base}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  check(bearerUserinfo.status === 401, `UserInfo with the bound token as a bearer token: ${bearerUserinfo.status}`);

  step = 'the demo API through the gateway, with DPoP';
  const answer = await client.fetchProtectedResource(config, tokens.access_token, new URL(orders), 'GET', undefined, undefined, { DPoP: dpop });
  check(answer.status === 200, `GET /orders with DPoP: ${answer.status}`);

  step = 'what the gateway must refuse';
  const asBearer = await call(tokens.access_token, 'Bearer');
  check(asBearer.status === 401, `the token as a bearer token: ${asBearer.status}`);
  check(asBearer.headers.get('www-authenticate')?.includes('DPoP algs='), `a DPoP challenge: ${asBearer.headers.get('www-authenticate')}`);
  const bearerWithProof = await call(tokens.access_token, 'Bearer', await proof('GET', orders, tokens.access_token));
  check(bearerWithProof.status === 401, `a bearer token with a proof: ${bearerWithProof.status}`);
  const otherMethod = await call(tokens.access_token, 'DPoP', await proof('POST', orders, tokens.access_token));
  check(otherMethod.status === 401, `a proof for another method: ${otherMethod.status}`);
  const otherUrl = await call(tokens.access_token, 'DPoP', await proof('GET', `${orders}/1`, tokens.access_token));
  check(otherUrl.status === 401, `a proof for another URL: ${otherUrl.status}`);
  const thief = await jose.generateKeyPair('ES256');
  const stolen = await proof('GET', orders, tokens.access_token, thief, await jose.exportJWK(thief.publicKey));
  check((await call(tokens.access_token, 'DPoP', stolen)).status === 401, 'a proof of another key');
  const once = await proof('GET', orders, tokens.access_token);
  check((await call(tokens.access_token, 'DPoP', once)).status === 200, 'a hand-made proof of the key');
  check((await call(tokens.access_token, 'DPoP', once)).status === 401, 'the same proof replayed');
  check((await call(tokens.access_token, 'DPoP')).status === 401, 'no proof');

  step = 'refresh with DPoP (a public client: the refresh token is bound to the key)';
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP: dpop });
  check(refreshed.token_type === 'dpop', 'the refreshed token is DPoP-bound');
  const thiefHandle = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
  let refused = false;
  try {
    await client.refreshTokenGrant(config, refreshed.refresh_token, undefined, { DPoP: thiefHandle });
  } catch (error) {
    refused = error.error === 'invalid_dpop_proof';
  }
  check(refused, 'a refresh with another key is refused');
  const again = await client.fetchProtectedResource(config, refreshed.access_token, new URL(orders), 'GET', undefined, undefined, { DPoP: dpop });
  check(again.status === 200, `GET /orders with the refreshed token: ${again.status}`);
  console.log('dpop+par client test passed: openid-client pushed its request, got DPoP-bound tokens, called the API with DPoP and refreshed; bearer use, other method, other URL, replay and another key were refused');
} catch (error) {
  console.error(`dpop+par client test failed at ${step}: ${error.message} ${error.error ?? ''} ${error.error_description ?? ''} ${error.cause ? `${error.cause.message ?? ''} ${JSON.stringify(error.cause)}` : ''}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  app.close();
}
