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
