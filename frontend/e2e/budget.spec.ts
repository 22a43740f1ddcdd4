// Budget: the JavaScript the first screen loads, gzipped, at most 350 KB (routes are split into chunks
// loaded on first visit). Measured from what the browser really requested, compressed with gzip -6 as
// nginx does in production (the embedded api sends it uncompressed).
import { expect, test } from '@playwright/test';
import { gzipSync } from 'node:zlib';
import { signIn } from './support';

const BUDGET_BYTES = 350 * 1024;

test('initial JavaScript of the sign-in and projects screens is within 350 KB gzipped', async ({ page, request }) => {
  const scripts = new Set<string>();
  page.on('request', (r) => {
    if (r.resourceType() === 'script') scripts.add(r.url());
  });
  await signIn(page); // /signin, then /projects: what a user loads before choosing a project
  await page.waitForLoadState('networkidle');
  let raw = 0;
  let gzipped = 0;
  for (const url of scripts) {
    const body = await (await request.get(url)).body();
    raw += body.length;
    gzipped += gzipSync(body, { level: 6 }).length;
  }
  console.log(
    `initial JavaScript: ${scripts.size} files, ${(raw / 1024).toFixed(1)} KB raw, ${(gzipped / 1024).toFixed(1)} KB gzipped ` +
      `(budget ${BUDGET_BYTES / 1024} KB, ${((100 * gzipped) / BUDGET_BYTES).toFixed(0)} % used)`,
  );
  expect(scripts.size).toBeGreaterThan(0);
  expect(gzipped).toBeLessThanOrEqual(BUDGET_BYTES);
});
