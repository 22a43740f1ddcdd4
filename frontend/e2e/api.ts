// Set-up through the api for the browser tests of review and close: a project, two datasets, a rule set
// and a succeeded run (the upload and run screens have their own tests).
import { expect, type APIRequestContext } from '@playwright/test';
import { ADMIN } from './support';

export const API = '/api/v1';

async function token(request: APIRequestContext, who: { email: string; password: string }): Promise<string> {
  const response = await request.post(`${API}/auth/login`, { data: who });
  expect(response.ok(), await response.text()).toBeTruthy();
  return (await response.json()).access_token;
}

async function until<T>(fetch: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 240; i++) {
    const value = await fetch();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function setUpRun(
  request: APIRequestContext,
  name: string,
  files: { left: { name: string; body: Buffer }; right: { name: string; body: Buffer } },
  rules: string,
): Promise<{ projectId: string; runId: string; auth: Record<string, string> }> {
  const auth = { Authorization: `Bearer ${await token(request, ADMIN)}` };
  const project = await (await request.post(`${API}/projects`, { headers: auth, data: { name } })).json();
  const ids: string[] = [];
  for (const file of [files.left, files.right]) {
    const created = await request.post(`${API}/projects/${project.id}/datasets`, {
      headers: auth,
      multipart: { file: { name: file.name, mimeType: 'text/csv', buffer: file.body } },
    });
    expect(created.ok(), await created.text()).toBeTruthy();
    const id = (await created.json()).id as string;
    const ready = await until(
      async () => (await request.get(`${API}/projects/${project.id}/datasets/${id}`, { headers: auth })).json(),
      (d) => d.status === 'ready' || d.status === 'failed',
      `dataset ${file.name}`,
    );
    expect(ready.status, ready.error).toBe('ready');
    ids.push(id);
  }
  const ruleset = await request.post(`${API}/projects/${project.id}/rulesets`, { headers: auth, data: { name: 'e2e rules', text: rules } });
  expect(ruleset.ok(), await ruleset.text()).toBeTruthy();
  const run = await request.post(`${API}/projects/${project.id}/runs`, {
    headers: auth,
    data: { left_dataset_id: ids[0], right_dataset_id: ids[1], ruleset_id: (await ruleset.json()).id },
  });
  expect(run.ok(), await run.text()).toBeTruthy();
  const runId = (await run.json()).id as string;
  const done = await until(
    async () => (await request.get(`${API}/runs/${runId}`, { headers: auth })).json(),
    (r) => ['succeeded', 'failed', 'cancelled'].includes(r.status),
    'the run',
  );
  expect(done.status, done.error).toBe('succeeded');
  return { projectId: project.id, runId, auth };
}

