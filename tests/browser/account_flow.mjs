// The branded consent screen of a self-registered app and the account page, in a real
// browser: the logo (served by route interception; the page's CSP still decides whether it
// may load), the unverified-app notice, the redirect host; then the account page with two
// browsers signed in, and "sign out everywhere" ending both.
//
//   node tests/browser/account_flow.mjs BASE_URL USERNAME PASSWORD REGISTRATION_TOKEN SCREENSHOT_DIR
import { check, launchChromium } from './chromium.mjs';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [base, username, password, registrationToken, shots] = process.argv.slice(2);
if (!base || !username || !password || !registrationToken || !shots) {
  console.error('usage: account_flow.mjs BASE_URL USERNAME PASSWORD REGISTRATION_TOKEN SCREENSHOT_DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });


const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" rx="10" fill="#0f766e"/><text x="24" y="31" font-size="20" text-anchor="middle" fill="#fff" font-family="sans-serif">PP</text></svg>';
const BRAND_LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><circle cx="16" cy="16" r="15" fill="#aa3300"/></svg>';

const registered = await (await fetch(`${base}/register`, {
  method: 'POST',
  headers: { authorization: `Bearer ${registrationToken}`, 'content-type': 'application/json' },
  body: JSON.stringify({
    client_name: 'Photo Print',
    redirect_uris: ['https://photos.example/callback'],
    token_endpoint_auth_method: 'none',
    scope: 'profile:read orders:read',
    logo_uri: 'https://static.photos.example/logo.svg',
    policy_uri: 'https://photos.example/privacy',
    tos_uri: 'https://photos.example/terms',
  }),
})).json();
check(registered.client_id, `registration: ${JSON.stringify(registered)}`);

const browser = await launchChromium();

async function newBrowser() {
  const context = await browser.newContext();
  // No network: the two logos are answered here; the page's CSP still decides if they load.
  await context.route('https://static.photos.example/**', (route) =>
    route.fulfill({ status: 200, contentType: 'image/svg+xml', body: LOGO }));
  await context.route('https://cdn.acme.example/**', (route) =>
    route.fulfill({ status: 200, contentType: 'image/svg+xml', body: BRAND_LOGO }));
  return context.newPage();
}

async function signIn(page) {
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
}

let step = 'start';
try {
  const page = await newBrowser();
  step = 'consent screen of an unverified app';
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const query = new URLSearchParams({
    response_type: 'code', client_id: registered.client_id,
    redirect_uri: 'https://photos.example/callback', scope: 'profile:read orders:read',
    state: 'browser-test', code_challenge: challenge, code_challenge_method: 'S256',
  });
  await page.goto(`${base}/authorize?${query}`);
  await page.waitForURL(/\/login\?request=/);
  await signIn(page);
  await page.waitForURL(/\/consent\?request=/);
  check((await page.title()) === 'Allow access · Acme ID', `title: ${await page.title()}`);
  check(await page.locator('.unverified').isVisible(), 'the unverified-app notice shows');
  check((await page.locator('.redirect-host').innerText()) === 'photos.example', 'the redirect host shows');
  const logoWidth = await page.locator('img.client-logo').evaluate((img) => img.complete && img.naturalWidth);
  check(logoWidth === 48, `the app logo loads under the CSP (natural width ${logoWidth})`);
  const brandWidth = await page.locator('header.brand img').evaluate((img) => img.complete && img.naturalWidth);
  check(brandWidth === 32, `the brand logo loads under the CSP (natural width ${brandWidth})`);
  const button = await page.locator('button[value=approve]').evaluate((b) => getComputedStyle(b).backgroundColor);
  check(button === 'rgb(170, 51, 0)', `the primary colour applies: ${button}`);
  check(await page.locator('a', { hasText: 'Not you? Sign out' }).isVisible(), 'a "not you?" link');
  await page.screenshot({ path: join(shots, '5-consent-branded-unverified.png'), fullPage: true });

  step = 'account page';
  await page.goto(`${base}/account`);
  check((await page.locator('h1').innerText()) === 'Your account', 'the account page opens signed in');
  const before = await page.locator('li.session').count();
  const other = await newBrowser();
  await other.goto(`${base}/login?return=account`);
  await signIn(other);
  await other.waitForURL(/\/account$/);
  await page.reload();
  const sessions = await page.locator('li.session').count();
  check(sessions === before + 1 && before >= 1, `the other browser's session is listed: ${before} then ${sessions}`);
  check((await page.locator('li.session').allInnerTexts()).some((t) => t.includes('(this browser)')), 'this browser is marked');
  await page.screenshot({ path: join(shots, '6-account.png'), fullPage: true });

  step = 'sign out everywhere';
  await page.click('button:has-text("Sign out everywhere")');
  await page.waitForURL(/\/logout$/);
  check((await page.locator('h1').innerText()) === 'You are signed out', 'this browser is signed out');
  await page.screenshot({ path: join(shots, '7-signed-out-everywhere.png') });
  await other.goto(`${base}/account`);
  await other.waitForURL(/\/login\?return=account/);
  check((await other.locator('h1').innerText()) === 'Sign in', 'the other browser is signed out too');
  console.log(`account browser test passed; screenshots in ${shots}`);
} catch (error) {
  console.error(`account browser test failed at ${step}: ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
