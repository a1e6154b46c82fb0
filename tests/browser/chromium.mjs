// What every browser test shares: headless Chromium from Debian's package, and a check that
// throws with the reason.
import { chromium } from 'playwright-core';

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

// The app's loopback redirect listener, as a native app runs one (RFC 8252 section 7.3): it
// registers its URIs without a port and uses the port it got (section 7.3: "MUST allow any
// port to be specified at the time of the request for loopback IP redirect URIs").
// `app.landed` is the last URL the browser was sent back to. Only the app's own paths count:
// Chromium asks for /favicon.ico after each page it shows, and that request, landing after
// the redirect, would otherwise replace the response the test reads (CI failure, stop 26).
export async function loopbackApp(paths = ['/cb', '/bye']) {
  const { createServer } = await import('node:http');
  const app = { landed: null };
  const listener = createServer((request, response) => {
    const url = new URL(request.url, app.origin);
    if (!paths.includes(url.pathname)) {
      response.writeHead(404).end();
      return;
    }
    app.landed = url;
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('back at the app');
  });
  await new Promise((resolve) => listener.listen(0, '127.0.0.1', resolve));
  app.origin = `http://127.0.0.1:${listener.address().port}`;
  app.close = () => listener.close();
  return app;
}

// The script's arguments, named; usage and exit 2 when one is missing.
export function scriptArguments(script, names) {
  const values = process.argv.slice(2, 2 + names.length);
  if (values.length < names.length || values.some((value) => !value)) {
    console.error(`usage: ${script} ${names.join(' ')}`);
    process.exit(2);
  }
  return values;
}
