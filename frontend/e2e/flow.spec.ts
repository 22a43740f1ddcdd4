// The preparer's path through the UI: datasets (upload, mapping, rejections), a rule set built with the form
// builder, a dry run, a run with live progress and its summary. Part B continues from the finished run.
import { expect, test, type Page } from '@playwright/test';
import { join } from 'node:path';
import { checkScreen, DEMO_DIR, signIn } from './support';

test.describe.configure({ mode: 'serial' });

let projectUrl = '';

async function openProject(page: Page, screen: string) {
  await signIn(page);
  await page.goto(`${projectUrl}/${screen}`);
}

test('create the project', async ({ page }) => {
  await signIn(page);
  await page.getByRole('button', { name: 'New project' }).click();
  await page.getByLabel('Name').fill('Month end: ledger vs bank');
  await page.getByRole('button', { name: 'Create project' }).click();
  await expect(page).toHaveURL(/\/projects\/[^/]+\/datasets$/);
  projectUrl = new URL(page.url()).pathname.replace(/\/datasets$/, '');
});

test('datasets: upload both demo files with progress, a duplicate warning, mapping and rejections', async ({ page }) => {
  await openProject(page, 'datasets');
  await expect(page.getByText('No datasets yet')).toBeVisible();
  await checkScreen(page, '05-datasets-empty');
  const input = page.locator('input[type=file]');
  await input.setInputFiles([join(DEMO_DIR, 'ledger.csv'), join(DEMO_DIR, 'bank.csv')]);
  await expect(page.getByRole('progressbar', { name: 'Upload progress of ledger.csv' })).toBeVisible();
  const table = page.getByRole('table', { name: 'Datasets' });
  await expect(table.getByRole('row')).toHaveCount(3);
  await expect(table.getByText('ready', { exact: true })).toHaveCount(2, { timeout: 60_000 });
  await input.setInputFiles(join(DEMO_DIR, 'bank.csv'));
  await expect(page.getByRole('status').filter({ hasText: 'Duplicate file' })).toBeVisible();
  await checkScreen(page, '06-datasets');

  await table.getByRole('link', { name: 'bank.csv' }).first().click();
  await expect(page.getByRole('table', { name: 'Parsed records' })).toBeVisible();
  await checkScreen(page, '07-dataset-preview');
  await page.getByRole('tab', { name: 'Column mapping' }).click();
  await expect(page).toHaveURL(/tab=mapping/);
  await page.getByRole('textbox', { name: 'Source column for Description' }).click();
  await page.getByRole('option', { name: 'counterparty', exact: true }).click();
  await page.getByRole('textbox', { name: 'Source column for Counterparty' }).click();
  await page.getByRole('option', { name: 'description', exact: true }).click();
  // The unsaved mapping is previewed live on the first rows of the file.
  await expect(page.getByText('Preview of this mapping (not saved)')).toBeVisible();
  await expect(page.getByRole('table', { name: 'Records with this mapping' })).toContainText('SEPA');
  await page.getByRole('button', { name: 'Save mapping and re-ingest' }).click();
  await expect(page.getByRole('table', { name: 'Parsed records' })).toContainText('SEPA', { timeout: 60_000 });
  await checkScreen(page, '08-dataset-mapping');
  // Back to the names the files use (the rules expect it).
  await page.getByRole('textbox', { name: 'Source column for Description' }).click();
  await page.getByRole('option', { name: /^by name/ }).click();
  await page.getByRole('textbox', { name: 'Source column for Counterparty' }).click();
  await page.getByRole('option', { name: /^by name/ }).click();
  await page.getByRole('button', { name: 'Save mapping and re-ingest' }).click();
  await expect(page.getByText('ready', { exact: true })).toBeVisible({ timeout: 60_000 });
  await page.getByRole('tab', { name: /Rejections/ }).click();
  await expect(page.getByText(/No rejected rows|Rejected rows/).first()).toBeVisible();
  await checkScreen(page, '09-dataset-rejections');
});

test('rule sets: build with the form, problems in place as you type, versions with a diff, dry run', async ({ page }) => {
  await openProject(page, 'rulesets');
  await expect(page.getByText('No rule sets yet')).toBeVisible();
  await checkScreen(page, '10-rulesets-empty');
  await page.getByRole('link', { name: 'New rule set' }).click();
  await page.getByLabel('Rule set name').fill('Ledger vs bank');
  await page.getByRole('tab', { name: 'Form builder' }).click();
  await expect(page).toHaveURL(/tab=builder/);
  await page.getByRole('button', { name: 'Add condition to pass 1' }).click();
  await page.getByRole('textbox', { name: 'Pass 1 condition 3: left column' }).fill('currency');
  await page.getByRole('textbox', { name: 'Pass 1 condition 3: right column' }).fill('currency');
  await page.getByRole('button', { name: 'Add pass' }).click();
  await page.getByRole('textbox', { name: 'Pass 2: name' }).fill('near');
  await page.getByRole('textbox', { name: 'Pass 2 condition 1: operator' }).click();
  await page.getByRole('option', { name: 'tolerance', exact: true }).click();
  await page.getByRole('button', { name: 'Add condition to pass 2' }).click();
  await page.getByRole('textbox', { name: 'Pass 2 condition 2: left column' }).fill('date');
  await page.getByRole('textbox', { name: 'Pass 2 condition 2: right column' }).fill('date');
  await page.getByRole('textbox', { name: 'Pass 2 condition 2: operator' }).click();
  await page.getByRole('option', { name: 'within_days', exact: true }).click();
  await expect(page.getByRole('status').getByText('Valid')).toBeVisible();
  await checkScreen(page, '11-ruleset-builder');

  await page.getByRole('tab', { name: 'YAML editor' }).click();
  const editor = page.getByRole('textbox', { name: 'Rules (YAML)' });
  await expect(editor).toContainText('within_days');
  await editor.click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type('\ntoleranse: 1');
  const problems = page.getByRole('alert', { name: 'Problems in the rules' });
  await expect(problems).toContainText(/Line \d+.*toleranse/);
  await expect(page.locator('.cm-lintRange-error').first()).toBeVisible();
  await checkScreen(page, '12-ruleset-yaml-problem');
  await page.keyboard.press('Control+z');
  await expect(page.getByRole('status').getByText('Valid')).toBeVisible();
  await page.getByRole('button', { name: 'Create rule set' }).click();
  await expect(page).toHaveURL(/\/rulesets\/[0-9a-f-]{36}$/);
  await expect(page.getByText('Latest version: v1')).toBeVisible();

  await page.getByRole('tab', { name: 'Form builder' }).click();
  await page.getByRole('textbox', { name: 'Pass 2 condition 1: absolute tolerance' }).fill('0.02');
  await page.getByRole('button', { name: 'Save as new version' }).click();
  await expect(page.getByText('Latest version: v2')).toBeVisible();
  await page.getByRole('tab', { name: 'Version history' }).click();
  await expect(page.getByRole('table', { name: 'Versions' }).getByRole('row')).toHaveCount(3);
  await expect(page.getByRole('textbox', { name: 'Newer version' })).toContainText('0.02');
  await checkScreen(page, '13-ruleset-history');

  await page.getByRole('tab', { name: 'Dry run' }).click();
  await page.getByRole('textbox', { name: 'Left dataset' }).click();
  await page.getByRole('option', { name: /^ledger\.csv/ }).click();
  await page.getByRole('textbox', { name: 'Right dataset' }).click();
  await page.getByRole('option', { name: /^bank\.csv/ }).first().click();
  await page.getByRole('button', { name: 'Dry run', exact: true }).click();
  await expect(page.getByRole('table', { name: 'Control totals, left' })).toBeVisible({ timeout: 90_000 });
  await expect(page.getByRole('table', { name: 'Passes' })).toContainText('near');
  await checkScreen(page, '14-ruleset-dry-run');
});

test('runs: start a run, watch its progress live, the summary with control totals and hashes, rerun', async ({ page }) => {
  await openProject(page, 'runs');
  await expect(page.getByText('No runs yet')).toBeVisible();
  await page.getByRole('textbox', { name: 'Left dataset' }).click();
  await page.getByRole('option', { name: /^ledger\.csv/ }).click();
  await page.getByRole('textbox', { name: 'Right dataset' }).click();
  await page.getByRole('option', { name: /^bank\.csv/ }).first().click();
  await page.getByRole('textbox', { name: 'Rule set' }).click();
  await page.getByRole('option', { name: /^Ledger vs bank/ }).click();
  await checkScreen(page, '15-runs-start');
  const eventStream = page.waitForResponse((r) => r.url().endsWith('/events') && r.status() === 200);
  await page.getByRole('button', { name: 'Start run' }).click();
  await expect(page).toHaveURL(/\/runs\/[0-9a-f-]{36}$/);
  await eventStream; // progress arrives over server-sent events
  await expect(page.getByText('succeeded', { exact: true })).toBeVisible({ timeout: 90_000 });
  await expect(page.getByRole('table', { name: 'Control totals, left' })).toContainText('matched');
  await expect(page.getByRole('table', { name: 'Inputs and hashes' })).toContainText('v2');
  await checkScreen(page, '16-run-summary');
  const firstRun = page.url();
  await page.getByRole('button', { name: 'Rerun with the same inputs' }).click();
  await expect(page).not.toHaveURL(firstRun);
  await expect(page.getByText(/identical results/)).toBeVisible({ timeout: 90_000 });
  await page.getByRole('link', { name: '← All runs' }).click();
  await expect(page.getByRole('table', { name: 'Runs' }).getByRole('row')).toHaveCount(3);
  await checkScreen(page, '17-runs');
});
