// The screens inside a project: one entry = one navigation link + one lazily loaded route module
// (src/routes/<screen>/index.tsx, default export). A screen owns every URL under its path (`datasets/*`):
// its module declares its own sub-routes. Adding a screen is adding an entry here.
import type { ComponentType } from 'react';
import { queryClient } from './queryClient';

export interface ProjectScreen {
  path: string; // URL segment under /projects/:projectId/
  label: string; // navigation link text (its accessible name)
  load: () => Promise<{ default: ComponentType }>;
  /** Minimum project role to see the link (the api enforces it anyway). */
  minRole?: 'viewer' | 'preparer' | 'approver' | 'admin' | 'owner';
  /** Starts the screen's first requests at navigation, in parallel with loading its module (not after it). */
  preload?: (url: URL) => Promise<void>;
}

export const projectScreens: ProjectScreen[] = [
  { path: 'datasets', label: 'Datasets', load: () => import('../routes/datasets') },
  { path: 'rulesets', label: 'Rule sets', load: () => import('../routes/rulesets') },
  { path: 'runs', label: 'Runs', load: () => import('../routes/runs') },
  {
    path: 'review',
    label: 'Review',
    load: () => import('../routes/review'),
    preload: (url) => import('../routes/review/prefetch').then((m) => m.prefetchReview(queryClient, url)),
  },
  { path: 'approvals', label: 'Approvals and close', load: () => import('../routes/approvals') },
  { path: 'dashboard', label: 'Dashboard', load: () => import('../routes/dashboard') },
  { path: 'audit', label: 'Audit', load: () => import('../routes/audit') },
  { path: 'members', label: 'Members', load: () => import('../routes/members') },
  { path: 'settings', label: 'Settings', load: () => import('../routes/settings'), minRole: 'admin' },
];
