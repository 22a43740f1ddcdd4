// Project settings → Feeds and Schedules (issue 13): a watched folder of bank statements (no mapping), a
// schedule whose cron and time zone errors show on their fields and whose next run times are listed; and a
// bank statement uploaded through the datasets screen needs no mapping step.
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API, setUpRun } from './api';
import { DEMO_DIR, checkScreen, signIn } from './support';

const STATEMENT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'data', 'banks', 'mt940_plain_multi.sta');

test('settings: a feed of bank statements, a schedule with its next run times; a statement upload needs no mapping', async ({ page, request }) => {
  const demo = (file: string) => readFileSync(join(DEMO_DIR, file));
  const { projectId, auth } = await setUpRun(
    request,
    'E2E feeds and schedules',
    { left: { name: 'ledger.csv', body: demo('ledger.csv') }, right: { name: 'bank.csv', body: demo('bank.csv') } },
    demo('rules.yaml').toString(),
  );
  await signIn(page);
  await page.goto(`/projects/${projectId}/settings?tab=feeds`);
  await page.getByLabel('Feed name').fill('Bank statements');
  await page.getByLabel('Folder').fill('bank/statements');
  await page.getByRole('button', { name: 'Create feed' }).click();
  await expect(page.getByRole('table', { name: 'Feeds' })).toContainText('bank statements: no mapping');
  await checkScreen(page, '20-settings-feeds');

  await page.getByRole('tab', { name: 'Schedules' }).click();
  await page.getByLabel('Schedule name').fill('Weekday mornings');
  await page.getByRole('textbox', { name: 'Rule set' }).click();
  await page.getByRole('option', { name: 'e2e rules' }).click();
  await page.getByRole('textbox', { name: 'Left side' }).click();
  await page.getByRole('option', { name: /^Feed: Bank statements/ }).click();
  await page.getByRole('textbox', { name: 'Right side' }).click();
  await page.getByRole('option', { name: 'Dataset: ledger.csv' }).click();
  const cron = page.getByRole('textbox', { name: 'Cron' });
  const zone = page.getByRole('textbox', { name: 'Time zone' });
  await cron.fill('0 25 * * *'); // no hour 25
  await zone.fill('Europe/Berlin');
  await page.getByRole('button', { name: 'Create schedule' }).click();
  await expect(cron).toHaveAttribute('aria-invalid', 'true');
  await cron.fill('0 6 * * 1-5');
  await zone.fill('Mars/Olympus_Mons');
  await page.getByRole('button', { name: 'Create schedule' }).click();
  await expect(zone).toHaveAttribute('aria-invalid', 'true');
  await expect(cron).not.toHaveAttribute('aria-invalid', 'true');
  await zone.fill('Europe/Berlin');
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Create schedule' }).click();
  const next = page.getByRole('table', { name: 'Schedules' }).getByLabel('Next runs of Weekday mornings');
  await expect(next).toContainText('Europe/Berlin');
  await expect(next).toContainText(/06:00|6:00/);
  await checkScreen(page, '21-settings-schedules');
  await page.getByRole('button', { name: 'Delete schedule Weekday mornings' }).click();
  await expect(page.getByText('No schedule yet')).toBeVisible();

  // An MT940 file through the upload: recognised from its content, no column mapping step.
  const created = await request.post(`${API}/projects/${projectId}/datasets`, {
    headers: auth,
    multipart: { file: { name: 'statement.txt', mimeType: 'text/plain', buffer: readFileSync(STATEMENT) } },
  });
  expect(created.ok(), await created.text()).toBeTruthy();
  await page.goto(`/projects/${projectId}/datasets/${(await created.json()).id}`);
  await expect(page.getByText('(bank statement: no mapping needed)')).toBeVisible();
  await expect(page.getByRole('tab', { name: 'Column mapping' })).toHaveCount(0);
  await expect(page.getByRole('table', { name: 'Parsed records' })).toBeVisible({ timeout: 60_000 });
  await checkScreen(page, '22-statement-dataset');
});
