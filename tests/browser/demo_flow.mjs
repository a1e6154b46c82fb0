// The demo app in a real browser: Connect with Xecure -> login -> consent with one scope
// unticked -> back at the app, which shows the token's scopes and the API's answers.
//
//   node tests/browser/demo_flow.mjs http://127.0.0.1:PORT demo <password> <screenshot dir>
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [base, username, password, shots] = process.argv.slice(2);
if (!base || !username || !password || !shots) {
  console.error('usage: demo_flow.mjs BASE_URL USERNAME PASSWORD SCREENSHOT_DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
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
  check(await boxes.count() === 3, 'three scopes are asked for');
  await page.uncheck('input[value="orders:write"]');
  await page.click('button[value=approve]');

  step = 'back at the app';
  await page.waitForURL(/\/demo\/callback\?/);
  await page.screenshot({ path: join(shots, '4-connected.png'), fullPage: true });
  const granted = await page.locator('#granted-scope').innerText();
  check(granted === 'orders:read profile:read', `granted scopes: ${granted}`);
  const statuses = await page.locator('.status').allInnerTexts();
  check(JSON.stringify(statuses) === JSON.stringify(['200', '200', '403']),
    `API answers GET /profile, GET /orders, POST /orders: ${statuses}`);
  console.log(`browser test passed; screenshots in ${shots}`);
} catch (error) {
  console.error(`browser test failed at ${step}: ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
