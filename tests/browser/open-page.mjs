// Opens a page in Debian's Chromium and says what a person would see go wrong: console
// errors, uncaught exceptions, requests that leave the file (a report must open offline),
// and the box of one element, whose screenshot it saves.
//
//   node open-page.mjs <page.html> <screenshot.png> <css selector>
//
// Prints one JSON object: {title, errors, requests, box, screenshot_bytes}. The browser is
// $CHROMIUM or /usr/bin/chromium (ops/up installs it); playwright-core downloads nothing.
import { chromium } from 'playwright-core';
import { statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [, , file, shot, selector] = process.argv;
if (!file || !shot || !selector) {
  console.error('usage: node open-page.mjs <page.html> <screenshot.png> <css selector>');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
  const errors = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  const element = page.locator(selector);
  const box = await element.boundingBox();
  if (box) await element.screenshot({ path: shot });
  console.log(JSON.stringify({
    title: await page.title(),
    errors,
    requests,
    box,
    screenshot_bytes: box ? statSync(shot).size : 0,
  }));
} finally {
  await browser.close();
}
