import { expect, test } from '@playwright/test';
import { ADMIN, checkScreen, signIn } from './support';

test('sign-in refuses a wrong password next to the form, then signs in', async ({ page }) => {
  await page.goto('/projects');
  await expect(page).toHaveURL(/\/signin\?next=%2Fprojects/);
  await checkScreen(page, '01-sign-in');
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByRole('textbox', { name: 'Password' }).fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('The email or password is wrong.');
  await page.getByRole('textbox', { name: 'Password' }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/projects$/);
});

test('projects: create one with maker-checker, members, settings; the session survives a reload', async ({ page }) => {
  await signIn(page);
  await checkScreen(page, '02-projects');
  await page.getByRole('button', { name: 'New project' }).click();
  await page.getByLabel('Name').fill('E2E ledger vs bank');
  await page.getByRole('button', { name: 'Create project' }).click();
  await expect(page).toHaveURL(/\/projects\/[^/]+\/[a-z]+$/);
  await expect(page.getByRole('heading', { name: 'E2E ledger vs bank' })).toBeVisible();

  await page.getByRole('link', { name: 'Members' }).click();
  await expect(page.getByRole('table', { name: 'Members' })).toContainText(ADMIN.email);
  await page.getByLabel('Member email').fill('nobody@e2e.example.com');
  await page.getByRole('button', { name: 'Add member' }).click();
  await expect(page.getByText(/no user|not found|does not exist/i)).toBeVisible();
  await checkScreen(page, '03-members');

  await page.getByRole('link', { name: 'Settings' }).click();
  const makerChecker = page.getByLabel(/Maker-checker/);
  await expect(makerChecker).toBeChecked();
  await checkScreen(page, '04-settings');
  await page.getByText(/^Maker-checker: manual/).click(); // the label: the switch draws over its input
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByText('Settings saved.')).toBeVisible();

  await page.reload(); // access token in memory only: the refresh token restores the session
  await expect(page.getByLabel(/Maker-checker/)).not.toBeChecked();
  await page.getByRole('button', { name: /^Account:/ }).click();
  await expect(page.getByRole('menu').getByText(ADMIN.email)).toBeVisible();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/signin/);
});
