// Budgets of the review workspace, measured in the browser and reported (printed and attached to the test
// result; no timing assertion): first render of the review workspace on a run with 100,000 unmatched
// records, the main-thread long tasks (Long Tasks API, > 50 ms) while scrolling that grid end to end, and
// the initial JavaScript of the SPA (gzipped). The scroll is capped in wall time (E2E_BUDGET_SCROLL_S, 180 s by
// default) so that a loaded CI machine cannot make the test run for long: how far it got is part of the figures.
import { expect, test } from '@playwright/test';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { setUpRun } from './api';
import { DEMO_DIR, signIn } from './support';

const ROWS = Number(process.env.E2E_BUDGET_ROWS ?? 100_000);
const SCROLL_CAP_MS = Number(process.env.E2E_BUDGET_SCROLL_S ?? 180) * 1000;
const ROWS_PER_FRAME = 120;
const ROW_HEIGHT = 36;
const HEADER = 'id,date,amount,currency,reference,counterparty,description';

function ledger(rows: number): Buffer {
  const lines = [HEADER];
  for (let i = 1; i <= rows; i++) {
    const day = String(1 + (i % 28)).padStart(2, '0');
    const cents = String((i * 7919) % 100).padStart(2, '0');
    lines.push(`L${String(i).padStart(7, '0')},2024-09-${day},${100 + (i % 5000)}.${cents},EUR,NOPE-${i},Budget Customer ${i % 977},Budget row ${i}`);
  }
  return Buffer.from(lines.join('\n') + '\n');
}

function initialJsKb(): number {
  const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const files = [...html.matchAll(/(?:src|href)="\/?(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  return files.reduce((total, file) => total + gzipSync(readFileSync(join(dist, file))).length, 0) / 1024;
}

test.setTimeout(240_000 + SCROLL_CAP_MS);

test(`budgets: review workspace over ${ROWS.toLocaleString('en')} unmatched records`, async ({ page, request, browser }, info) => {
  const bank = Buffer.from(`${HEADER}\nB1,2024-09-03,1.00,USD,ZZZ-1,Nobody,unrelated\nB2,2024-09-04,2.00,USD,ZZZ-2,Nobody,unrelated\n`);
  const started = Date.now();
  const { projectId, runId } = await setUpRun(
    request,
    'E2E budget',
    { left: { name: 'budget-ledger.csv', body: ledger(ROWS) }, right: { name: 'budget-bank.csv', body: bank } },
    readFileSync(join(DEMO_DIR, 'rules.yaml'), 'utf8'),
  );
  const setupS = (Date.now() - started) / 1000;

  await page.addInitScript(() => {
    const w = window as unknown as { __long: number[]; __longAt: string[]; __firstRow: number | null };
    w.__long = [];
    w.__longAt = [];
    w.__firstRow = null;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        w.__long.push(entry.duration);
        w.__longAt.push(`${Math.round(entry.startTime)}+${Math.round(entry.duration)}`);
      }
    }).observe({ type: 'longtask', buffered: true });
    new MutationObserver((_, observer) => {
      if (document.querySelector('table[aria-label="Unmatched left"] tbody tr')) {
        w.__firstRow = performance.now();
        observer.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  await signIn(page);
  // E2E_BUDGET_TRACE=file: a Chrome trace of the first render and the scroll (chrome://tracing, Perfetto).
  const trace = process.env.E2E_BUDGET_TRACE;
  if (trace) await browser.startTracing(page, { path: trace, categories: ['devtools.timeline', 'v8', 'disabled-by-default-devtools.timeline', ...(process.env.E2E_BUDGET_TRACE_INVALIDATIONS ? ['disabled-by-default-devtools.timeline.invalidationTracking'] : [])] });
  // E2E_BUDGET_PROFILE=file: a CPU profile (.cpuprofile) of the first render (build with --minify false to read it).
  const profile = process.env.E2E_BUDGET_PROFILE;
  const cdp = profile ? await page.context().newCDPSession(page) : null;
  if (cdp) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
  }
  await page.goto(`/projects/${projectId}/review?run=${runId}&tab=unmatched-left`);
  await expect(page.getByRole('table', { name: 'Unmatched left' }).locator('tbody tr').first()).toBeVisible({ timeout: 60_000 });
  // Every ledger record is unmatched (the bank lines are in another currency).
  await expect(page.getByRole('tab', { name: /^Unmatched left/ })).toHaveAccessibleName(`Unmatched left ${ROWS.toLocaleString('en')}`);
  const firstRenderMs = await page.evaluate(() => (window as unknown as { __firstRow: number }).__firstRow);
  // When the first page of rows had arrived (the rest of the first render is the browser's work).
  const firstPageMs = await page.evaluate(() => {
    const entry = performance.getEntriesByType('resource').find((e) => e.name.includes('/unmatched?'));
    return entry ? (entry as PerformanceResourceTiming).responseEnd : null;
  });
  // The requests of the first render, in the order they started (where the time went).
  const waterfall = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/') || e.name.endsWith('.js'))
      .map((e) => `${new URL(e.name).pathname.replace(/^\/api\/v1|^\/assets/, '')} ${Math.round(e.startTime)}-${Math.round((e as PerformanceResourceTiming).responseEnd)}`),
  );
  console.log(`BUDGETS first render requests: ${waterfall.join(', ')}`);
  const longAt = await page.evaluate(() => (window as unknown as { __longAt: string[] }).__longAt.splice(0));
  console.log(`BUDGETS long tasks while loading (start+ms): ${longAt.join(', ')}`);
  const loadLong = await page.evaluate(() => (window as unknown as { __long: number[] }).__long.splice(0));
  if (cdp && profile) writeFileSync(profile, JSON.stringify((await cdp.send('Profiler.stop')).profile));
  console.log(`BUDGETS first render ${Math.round(firstRenderMs)} ms (budget 1500), long tasks while loading: ${loadLong.length}`);

  // E2E_BUDGET_PROFILE_SCROLL=file: a CPU profile of the scroll.
  const scrollProfile = process.env.E2E_BUDGET_PROFILE_SCROLL;
  const scrollCdp = scrollProfile ? await page.context().newCDPSession(page) : null;
  if (scrollCdp) {
    await scrollCdp.send('Profiler.enable');
    await scrollCdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await scrollCdp.send('Profiler.start');
  }
  // Scroll to the end: a frame at a time, ROWS_PER_FRAME rows' height per frame, loading the cursor pages as it
  // goes, until the last row is rendered or the cap is reached.
  const scroll = await page.evaluate(
    async ({ rows, perFrame, rowHeight, capMs }) => {
      const scroller = document.querySelector('[data-testid="virtual-scroller"]') as HTMLElement;
      const begin = performance.now();
      let frames = 0;
      let reachedEnd = false;
      while (performance.now() - begin < capMs) {
        await new Promise((r) => requestAnimationFrame(r));
        frames += 1;
        scroller.scrollTop += perFrame * rowHeight;
        if (scroller.querySelector(`tr[aria-rowindex="${rows + 1}"]`)) {
          reachedEnd = true;
          break;
        }
      }
      const shown = [...scroller.querySelectorAll('tbody tr')].map((tr) => Number(tr.getAttribute('aria-rowindex')) - 1);
      return { ms: performance.now() - begin, frames, reachedEnd, lastRow: Math.max(0, ...shown) };
    },
    { rows: ROWS, perFrame: ROWS_PER_FRAME, rowHeight: ROW_HEIGHT, capMs: SCROLL_CAP_MS },
  );
  const scrollLong = await page.evaluate(() => (window as unknown as { __long: number[] }).__long.splice(0));
  if (trace) await browser.stopTracing();
  if (scrollCdp && scrollProfile) writeFileSync(scrollProfile, JSON.stringify((await scrollCdp.send('Profiler.stop')).profile));
  const figures = {
    rows: ROWS,
    setup_s: Math.round(setupS),
    first_render_ms: Math.round(firstRenderMs),
    first_render_budget_ms: 1500,
    first_page_response_ms: firstPageMs === null ? null : Math.round(firstPageMs),
    load_long_tasks: loadLong.length,
    load_longest_task_ms: Math.round(Math.max(0, ...loadLong)),
    scroll_rows_per_frame: ROWS_PER_FRAME,
    scroll_cap_s: SCROLL_CAP_MS / 1000,
    scroll_reached_end: scroll.reachedEnd,
    scroll_last_row: scroll.lastRow,
    scroll_ms: Math.round(scroll.ms),
    scroll_frames: scroll.frames,
    scroll_long_tasks: scrollLong.length,
    scroll_longest_task_ms: Math.round(Math.max(0, ...scrollLong)),
    initial_js_kb_gzip: Math.round(initialJsKb()),
    initial_js_budget_kb_gzip: 350,
  };
  console.log(`BUDGETS ${JSON.stringify(figures)}`);
  await info.attach('budgets.json', { body: JSON.stringify(figures, null, 2), contentType: 'application/json' });
  // Not a timing check: scrolling appended cursor pages to the grid (the first page holds 200 rows).
  expect(scroll.lastRow).toBeGreaterThan(200);
});
