// Real URLs for every screen: /signin, /projects, /projects/:projectId/<screen>/... (see screens.ts).
// Route modules are loaded on first visit (code splitting keeps the initial JavaScript small).
import { createBrowserRouter, Navigate, type LoaderFunctionArgs, type RouteObject } from 'react-router';
import { AppLayout } from './AppLayout';
import { ProjectLayout } from './ProjectLayout';
import { RequireAuth } from './RequireAuth';
import { RouteError } from './RouteError';
import { projectQuery } from './project';
import { queryClient } from './queryClient';
import { projectScreens, type ProjectScreen } from './screens';

const lazyPage = (load: () => Promise<{ default: React.ComponentType }>) => async () => ({
  Component: (await load()).default,
});

/** A loader that only starts requests (never awaited: the screen renders at once and shows them loading). */
const preloader =
  (screen: ProjectScreen) =>
  ({ request }: LoaderFunctionArgs) => {
    void screen.preload?.(new URL(request.url)).catch(() => undefined); // the screen asks again and shows the error
    return null;
  };

// What the router shows while the first URL's route modules load (loaders here never wait): nothing, as
// before there were loaders, rather than a warning in the console.
const NothingYet = () => null;

const preloadProject = ({ params }: LoaderFunctionArgs) => {
  if (params.projectId) void queryClient.prefetchQuery(projectQuery(params.projectId));
  return null;
};

export const routes: RouteObject[] = [
  { path: '/signin', lazy: lazyPage(() => import('../routes/signin')), errorElement: <RouteError /> },
  {
    path: '/',
    element: (
      <RequireAuth>
        <AppLayout />
      </RequireAuth>
    ),
    errorElement: <RouteError />,
    children: [
      { index: true, element: <Navigate to="/projects" replace /> },
      { path: 'projects', lazy: lazyPage(() => import('../routes/projects')) },
      {
        path: 'projects/:projectId',
        element: <ProjectLayout />,
        loader: preloadProject,
        HydrateFallback: NothingYet,
        shouldRevalidate: ({ currentParams, nextParams }) => currentParams.projectId !== nextParams.projectId,
        children: [
          { index: true, element: <Navigate to={projectScreens[0]?.path ?? 'datasets'} replace /> },
          ...projectScreens.map((screen) => ({
            path: `${screen.path}/*`,
            lazy: lazyPage(screen.load),
            ...(screen.preload ? { loader: preloader(screen), HydrateFallback: NothingYet } : {}),
          })),
        ],
      },
      { path: '*', lazy: lazyPage(() => import('../routes/notfound')) },
    ],
  },
];

export function createRouter() {
  return createBrowserRouter(routes);
}
