// The demo app in a real browser: Connect with Xecure (an OpenID Connect sign-in) -> login ->
// consent with one scope unticked -> back at the app, which greets the user by the name in
// the ID token it validated and shows the token's scopes and the API's answers -> "Sign out"
// through the end session endpoint, confirmed, back at the app, the session over.
//
//   node tests/browser/demo_flow.mjs http://127.0.0.1:PORT demo <password> <screenshot dir>
import { check, launchChromium } from './chromium.mjs';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [base, username, password, shots] = process.argv.slice(2);
if (!base || !username || !password || !shots) {
  console.error('usage: demo_flow.mjs BASE_URL USERNAME PASSWORD SCREENSHOT_DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });


const browser = await launchChromium();
let step = 'start';
try {
  const page = await browser.newPage();
  step = 'demo app';
  await page.goto(`${base}/demo`);
  await page.screenshot({ path: join(shots, '1-demo-app.png') });
  // Its stylesheet applies, so its CSP hash is the stylesheet's.
  const connectColour = await page.locator('#connect').evaluate((a) => getComputedStyle(a).backgroundColor);
  check(connectColour === 'rgb(42, 157, 143)', `the demo app is styled (${connectColour})`);
  await page.click('#connect');

  step = 'login page';
  await page.waitForURL(/\/login\?request=/);
  check(await page.locator('h1').innerText() === 'Sign in', 'the login page has its heading');
  await page.screenshot({ path: join(shots, '2-login.png') });
  await page.fill('#username', username);
  await page.fill('#password', 'not the password');
  await page.click('button[type=submit]');
  check((await page.locator('#login-error').innerText()).includes('incorrect'), 'a wrong password is refused');
  await page.fill('#password', password);
  await page.click('button[type=submit]');

  step = 'consent page';
  await page.waitForURL(/\/consent\?request=/);
  await page.screenshot({ path: join(shots, '3-consent.png') });
  const boxes = page.locator('input[name=scope]');
  check(await boxes.count() === 5, `five scopes are asked for (${await boxes.count()})`);
  await page.uncheck('input[value="orders:write"]');
  await page.click('button[value=approve]');

  step = 'back at the app';
  await page.waitForURL(/\/demo\/callback\?/);
  await page.screenshot({ path: join(shots, '4-connected.png'), fullPage: true });
  const granted = await page.locator('#granted-scope').innerText();
  check(granted === 'openid orders:read profile profile:read', `granted scopes: ${granted}`);
  const name = await page.locator('#signed-in-name').innerText();
  check(name === 'Demo User', `the ID token's name is shown: ${name}`);
  const statuses = await page.locator('.status').allInnerTexts();
  check(JSON.stringify(statuses) === JSON.stringify(['200', '200', '403']),
    `API answers GET /profile, GET /orders, POST /orders: ${statuses}`);

  step = 'sign out through the end session endpoint';
  await page.click('#sign-out');
  await page.waitForURL(/\/logout\?/);
  check((await page.locator('main').innerText()).includes('Snapshot Prints asks to sign you out'),
    'the app that asks is named');
  await page.screenshot({ path: join(shots, '5-sign-out.png') });
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/demo`);
  await page.goto(`${base}/apps`);
  await page.waitForURL(/\/login\?/);
  console.log(`browser test passed; screenshots in ${shots}`);
} catch (error) {
  console.error(`browser test failed at ${step}: ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
