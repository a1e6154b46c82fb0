// An unmodified OpenID Connect client library against `xecure serve`: panva's openid-client
// (OpenID certified relying party library) in OIDC mode. It registers dynamically (RFC 7591
// with OIDC metadata), discovers the provider, signs in through Chromium (code + PKCE, nonce,
// state), validates the ID token, reads UserInfo, refreshes, and logs out through the end
// session endpoint. The ID token's signature is checked again with jose against the JWKS,
// and the negative cases a relying party depends on are shown to fail: a nonce mismatch,
// another audience, an expired token.
//
//   node tests/browser/oidc_client.mjs BASE_URL USERNAME PASSWORD REGISTRATION_TOKEN SCREENSHOT_DIR
import * as client from 'openid-client';
import * as jose from 'jose';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { check, launchChromium, loopbackApp, scriptArguments } from './chromium.mjs';

const [base, username, password, registrationToken, shots] = scriptArguments('oidc_client.mjs', ['BASE_URL', 'USERNAME', 'PASSWORD', 'REGISTRATION_TOKEN', 'SCREENSHOT_DIR']);
mkdirSync(shots, { recursive: true });

const app = await loopbackApp();
const RP = app.origin;
const redirectUri = `${RP}/cb`;
const signedOutUri = `${RP}/bye`;

async function rejects(promise, what) {
  try {
    await promise;
  } catch {
    return;
  }
  throw new Error(`${what} was accepted`);
}

const registration = await (await fetch(`${base}/register`, {
  method: 'POST',
  headers: { authorization: `Bearer ${registrationToken}`, 'content-type': 'application/json' },
  body: JSON.stringify({
    client_name: 'OIDC Library RP',
    redirect_uris: ['http://127.0.0.1/cb'],
    post_logout_redirect_uris: [signedOutUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: 'openid profile email',
    id_token_signed_response_alg: 'RS256',
    token_endpoint_auth_method: 'client_secret_basic',
  }),
})).json();
check(registration.client_id, `registration: ${JSON.stringify(registration)}`);

// Plain http on loopback: the library refuses it unless told (a local test, not a deployment).
const config = await client.discovery(new URL(base), registration.client_id, registration.client_secret,
  client.ClientSecretBasic(registration.client_secret), { execute: [client.allowInsecureRequests] });
check(config.serverMetadata().issuer === base, 'discovery names this issuer');

const browser = await launchChromium();
let step = 'start';
try {
  const page = await browser.newPage();
  async function authorize(extra = {}) {
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      nonce,
      state,
      ...extra,
    });
    app.landed = null;
    await page.goto(url.href);
    return { verifier, nonce, state };
  }
  async function backAtApp() {
    await page.waitForURL((url) => url.href.startsWith(`${redirectUri}?`));
    check(app.landed, 'the authorization response reached the app');
    return app.landed;
  }

  step = 'sign-in (login, consent)';
  const first = await authorize({ login_hint: username });
  await page.waitForURL(/\/login\?request=/);
  check(await page.inputValue('#username') === username, 'login_hint prefills the username');
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/consent\?request=/);
  await page.screenshot({ path: join(shots, '8-oidc-consent.png'), fullPage: true });
  await page.click('button[value=approve]');
  const firstResponse = await backAtApp();

  step = 'a nonce mismatch is refused by the library';
  await rejects(client.authorizationCodeGrant(config, firstResponse, {
    pkceCodeVerifier: first.verifier,
    expectedNonce: 'not-the-nonce-that-was-sent',
    expectedState: first.state,
    idTokenExpected: true,
  }), 'an ID token with another nonce');

  step = 'sign-in again (session and consent remembered)';
  const second = await authorize();
  const tokens = await client.authorizationCodeGrant(config, await backAtApp(), {
    pkceCodeVerifier: second.verifier,
    expectedNonce: second.nonce,
    expectedState: second.state,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  check(claims.nonce === second.nonce && claims.aud === registration.client_id, 'the library validated the ID token');
  check(claims.name === 'Demo User' && claims.email === 'demo@example.com', `profile and email claims: ${JSON.stringify(claims)}`);

  step = 'the ID token signature, checked with the JWKS';
  const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
  const verified = await jose.jwtVerify(tokens.id_token, jwks, { issuer: base, audience: registration.client_id, algorithms: ['RS256'] });
  check(verified.payload.sub === claims.sub, 'the signature verifies with the published key');
  await rejects(jose.jwtVerify(tokens.id_token, jwks, { issuer: base, audience: 'another-client' }), 'an ID token for another audience');
  await rejects(jose.jwtVerify(tokens.id_token, jwks, { issuer: base, audience: registration.client_id, currentDate: new Date(Date.now() + 3600 * 1000) }), 'an expired ID token');

  step = 'UserInfo';
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  check(userinfo.preferred_username === username && userinfo.email_verified === true, `userinfo: ${JSON.stringify(userinfo)}`);

  step = 'refresh';
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  check(refreshed.claims().sub === claims.sub, 'a refresh brings an ID token for the same subject');

  step = 'RP-initiated logout';
  const endSession = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: signedOutUri,
    state: 'bye-state',
  });
  await page.goto(endSession.href);
  // A self-registered app is not redirected to on its own (rule 20): the signed-out page
  // offers its registered address as a link.
  await page.waitForURL(/\/logout\?/);
  await page.screenshot({ path: join(shots, '9-oidc-signed-out.png') });
  check((await page.locator('#continue').innerText()).startsWith('Continue to 127.0.0.1'), 'the app is offered as a link');
  await page.click('#continue');
  await page.waitForURL((url) => url.href.startsWith(`${signedOutUri}?`));
  check(app.landed.searchParams.get('state') === 'bye-state', 'back at the app with its state');
  await page.goto(`${base}/apps`);
  await page.waitForURL(/\/login\?/);
  console.log('oidc client test passed: openid-client signed in, read UserInfo, refreshed and logged out');
} catch (error) {
  console.error(`oidc client test failed at ${step}: ${error.message} ${error.error ?? ""} ${error.error_description ?? ""} ${error.cause ? `${error.cause.message ?? ""} ${JSON.stringify(error.cause.cause ?? error.cause)}` : ""}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  app.close();
}
