import './api/restore'; // first: the session's refresh starts before the rest evaluates
import '@mantine/core/styles.css';
import '@mantine/notifications/styles.css';
import { MantineProvider, createTheme, type CSSVariablesResolver } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import { QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { RouterProvider } from 'react-router';
import { AuthProvider } from './app/auth';
import { queryClient } from './app/queryClient';
import { createRouter } from './app/router';

// Shade 9 and a darker "dimmed" text: Mantine's defaults (blue 6 under white text, gray 6 text) are below the
// WCAG AA contrast ratio of 4.5:1 that the accessibility check enforces.
const theme = createTheme({ primaryColor: 'blue', primaryShade: { light: 9, dark: 6 }, defaultRadius: 'sm' });
const contrast: CSSVariablesResolver = (t) => ({
  variables: {},
  light: {
    '--mantine-color-dimmed': t.colors.gray[7] ?? '#495057',
    '--mantine-color-error': t.colors.red[9] ?? '#c92a2a',
    // Text of light badges and alerts (status colours) dark enough on their tinted backgrounds.
    '--mantine-color-yellow-light-color': '#6e4400',
    '--mantine-color-orange-light-color': '#8a3606',
    '--mantine-color-green-light-color': '#1d5a29',
    '--mantine-color-red-light-color': '#a11b1b',
    '--mantine-color-gray-light-color': '#343a40',
  },
  dark: {},
});

const router = createRouter();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={contrast}>
      <Notifications position="top-right" />
      <QueryClientProvider client={queryClient}>
        <AuthProvider>
          <RouterProvider router={router} />
        </AuthProvider>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
