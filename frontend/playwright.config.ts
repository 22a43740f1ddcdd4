// Browser tests: Debian's chromium (never a downloaded browser) against the real api on SQLite, started here.
import { defineConfig } from '@playwright/test';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Set once in the main process; the test workers inherit them (the config is evaluated in each).
process.env.E2E_PORT ??= String(21000 + (process.pid % 8000));
// The api's data (SQLite database, uploads, demo files): replaced by the next run, gitignored.
process.env.E2E_DATA_DIR ??= join(dirname(fileURLToPath(import.meta.url)), 'e2e', '.state', 'api');
process.env.E2E_ADMIN_EMAIL ??= 'admin@e2e.example.com';
process.env.E2E_ADMIN_PASSWORD ??= 'e2e-admin-password-1234';
const baseURL = `http://127.0.0.1:${process.env.E2E_PORT}`;

export default defineConfig({
  testDir: './e2e',
  outputDir: './test-results',
  fullyParallel: false,
  workers: 1, // one api, one database: the flow tests build on each other's data
  timeout: 120_000,
  expect: { timeout: 20_000 },
  reporter: [['list']],
  use: {
    baseURL,
    headless: true,
    viewport: { width: 1440, height: 900 },
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
    trace: 'retain-on-failure',
  },
  webServer: {
    command: './e2e/serve.sh',
    url: `${baseURL}/ready`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
