// The review, approval and close flow in the browser: the run is set up through the api (upload, rules,
// run: the screens of part A cover those), then a preparer confirms a suggestion, matches two records
// with a write-off, clears the rest with bulk actions on "everything the filter shows"; a second user
// approves; the approver signs off, downloads the statement and the export, and verifies the audit chain.
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API, setUpRun } from './api';
import { DEMO_DIR, checkScreen, signIn } from './support';

// A last pass that only suggests (a person decides): amounts within 5.00 and dates within 10 days.
const LOOSE_PASS = `  - name: loose
    kind: one_to_one
    suggest: true
    match:
      - {left: currency, right: currency, op: equals}
      - {left: amount, right: amount, op: tolerance, abs: 5}
      - {left: date, right: date, op: within_days, days: 10}
`;

const APPROVER = { email: 'approver@e2e.example.com', password: 'approver-password-1234' };

async function actOnEverything(page: Page, action: string, reason: string | null) {
  await page.getByRole('button', { name: 'Act on everything shown…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Act on everything the filter shows' });
  await expect(dialog.getByRole('status')).toContainText(/This touches [\d,]+ (group|record)/);
  await dialog.getByRole('textbox', { name: 'Action' }).click();
  await page.getByRole('option', { name: action }).click();
  if (reason) {
    await dialog.getByRole('textbox', { name: 'Write-off reason' }).click();
    await page.getByRole('option', { name: reason, exact: true }).click();
  }
  await dialog.getByRole('textbox', { name: 'Comment', exact: true }).fill('month-end clean-up in the e2e test');
  await dialog.getByRole('button', { name: new RegExp(`^${action.split(' ')[0]}`) }).last().click();
  await expect(dialog).toBeHidden();
}

// A tab's click changes the URL, and the panel of the tab is mounted after it: wait until the tab is the
// selected one and its panel shows, so that what follows acts in this panel and not in the one it replaces.
async function openTab(page: Page, name: RegExp) {
  const tab = page.getByRole('tab', { name });
  await tab.click();
  await expect(tab).toHaveAttribute('aria-selected', 'true');
  const panel = page.getByRole('tabpanel', { name });
  await expect(panel).toBeVisible();
  return panel;
}

test.setTimeout(600_000);

test('review, approve as a second user, sign off, export, verify the audit chain', async ({ page, request }) => {
  const demo = (file: string) => readFileSync(join(DEMO_DIR, file));
  const { projectId, runId, auth } = await setUpRun(
    request,
    'E2E review and close',
    { left: { name: 'ledger.csv', body: demo('ledger.csv') }, right: { name: 'bank.csv', body: demo('bank.csv') } },
    demo('rules.yaml').toString() + LOOSE_PASS,
  );
  const user = await request.post(`${API}/users`, {
    headers: auth,
    data: { ...APPROVER, full_name: 'Second Approver', memberships: [{ project_id: projectId, role: 'approver' }] },
  });
  expect(user.ok(), await user.text()).toBeTruthy();
  const unmatched = async (side: string) =>
    (await (await request.get(`${API}/runs/${runId}/unmatched?side=${side}&limit=200`, { headers: auth })).json()).items as {
      ext_id: string;
      amount: string | null;
    }[];
  const [lefts, rights] = [await unmatched('left'), await unmatched('right')];
  const left = lefts.find((l) => l.amount && l.ext_id)!;
  const right = rights.find((r) => r.amount && r.ext_id && r.amount !== left.amount)!;

  await signIn(page);
  const review = `/projects/${projectId}/review?run=${runId}`;
  await page.goto(`${review}&tab=suggested`);
  const suggestedTab = page.getByRole('tab', { name: /^Suggested/ });
  await expect(suggestedTab).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByRole('table', { name: 'Suggested' })).toBeVisible();
  await expect(suggestedTab).toHaveAccessibleName(/^Suggested \d/); // the count has arrived
  const before = Number((await suggestedTab.textContent())!.replace(/\D/g, ''));
  await checkScreen(page, '10-review-suggested');

  // Keyboard: first row, open the panel; then confirm from the panel (with a write-off when it differs).
  await page.getByRole('region', { name: 'Suggested (scrollable)' }).focus();
  await page.keyboard.press('j');
  await page.keyboard.press('Enter');
  const panel = page.getByRole('region', { name: /^Group \d+/ });
  await expect(panel.getByRole('table', { name: 'Explanation' })).toBeVisible();
  await checkScreen(page, '11-review-panel');
  const withWriteOff = panel.getByRole('button', { name: 'Confirm with write-off' });
  if (await withWriteOff.isVisible()) {
    await panel.getByRole('textbox', { name: 'Write-off reason' }).click();
    await page.getByRole('option', { name: 'bank_fee', exact: true }).click();
    await panel.getByRole('textbox', { name: 'Comment', exact: true }).fill('fee charged by the bank');
    await withWriteOff.click();
  } else {
    await panel.getByRole('button', { name: 'Confirm', exact: true }).click();
  }
  await expect(suggestedTab).toHaveAccessibleName(`Suggested ${before - 1}`);

  // Manual match of a left and a right record with a write-off of their difference.
  const leftPanel = await openTab(page, /^Unmatched left/);
  await leftPanel.getByLabel('Search').fill(left.ext_id);
  await leftPanel.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(new RegExp(`q=${left.ext_id}`));
  await page.getByRole('checkbox', { name: `Select record ${left.ext_id}` }).check();
  const rightPanel = await openTab(page, /^Unmatched right/);
  await rightPanel.getByLabel('Search').fill(right.ext_id);
  await rightPanel.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(new RegExp(`q=${right.ext_id}`));
  await page.getByRole('checkbox', { name: `Select record ${right.ext_id}` }).check();
  const selection = page.getByRole('region', { name: 'Selection' });
  await expect(selection).toContainText('Difference');
  await selection.getByRole('textbox', { name: 'Write-off reason' }).click();
  await page.getByRole('option', { name: 'bank_fee', exact: true }).click();
  await selection.getByLabel('Comment for the selection').fill('paid net of the bank fee');
  await checkScreen(page, '12-review-manual-match');
  await selection.getByRole('button', { name: 'Match with write-off' }).click();
  await expect(selection).toBeHidden();

  // Everything else: bulk actions on what each tab's (empty) filter shows.
  await page.goto(`${review}&tab=suggested`);
  await actOnEverything(page, 'Confirm', 'bank_fee');
  await openTab(page, /^Breaks/);
  await actOnEverything(page, 'Write off (breaks)', 'bank_fee');
  for (const tab of ['Unmatched left', 'Unmatched right']) {
    await openTab(page, new RegExp(`^${tab}`));
    await actOnEverything(page, 'Write off each record', 'timing');
  }
  for (const tab of ['Suggested', 'Breaks', 'Unmatched left', 'Unmatched right']) {
    await expect(page.getByRole('tab', { name: new RegExp(`^${tab}`) })).toHaveAccessibleName(`${tab} 0`);
  }

  // The maker cannot approve: the button says why.
  await page.goto(`/projects/${projectId}/approvals?run=${runId}`);
  await expect(page.getByText('You made this decision: another approver must check it').first()).toBeVisible();
  await checkScreen(page, '13-approvals-maker');

  // The second user approves everything, signs off, downloads and verifies.
  await page.getByRole('button', { name: /^Account:/ }).click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await signIn(page, APPROVER);
  await page.goto(`/projects/${projectId}/approvals?run=${runId}`);
  await page.getByRole('checkbox', { name: 'Select all decisions' }).check();
  await page.getByRole('button', { name: /^Approve selected/ }).click();
  await expect(page.getByText('No decision waits for approval')).toBeVisible();
  await expect(page.getByText('Nothing is open: the run can be signed off.')).toBeVisible();
  await checkScreen(page, '14-approvals-close');
  await page.getByRole('button', { name: 'Sign off' }).click();
  await expect(page.getByText(/^Signed off .*: the run is frozen\./)).toBeVisible();
  await expect(page.getByText('Reconciliation statement (signed off)')).toBeVisible();
  for (const name of ['Download statement (XLSX)', 'Download statement (JSON)', 'Export groups (CSV for Excel)']) {
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name }).click();
    expect((await download).suggestedFilename()).toMatch(/\.(xlsx|json|csv)$/);
  }
  await checkScreen(page, '15-signed-off');

  await page.getByRole('link', { name: 'Dashboard' }).click();
  await expect(page.getByRole('table', { name: 'Match rate per run' })).toBeVisible();
  await checkScreen(page, '16-dashboard');

  await page.getByRole('link', { name: 'Audit' }).click();
  await page.getByRole('button', { name: 'Verify the audit chain' }).click();
  await expect(page.getByText('The chain is intact')).toBeVisible();
  await page.getByLabel('Action (or prefix ending in .)').fill('run.signed_off');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page.getByRole('table', { name: 'Audit events' })).toContainText('run.signed_off');
  await checkScreen(page, '17-audit');
});
