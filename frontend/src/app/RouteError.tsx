import { Button, Container, Stack, Text, Title } from '@mantine/core';
import { isRouteErrorResponse, useRouteError } from 'react-router';
import { humanMessage } from '../api/errors';

/** Shown instead of a blank page when a screen fails to load or throws while rendering. */
export function RouteError() {
  const error = useRouteError();
  const message = isRouteErrorResponse(error) ? `${error.status} ${error.statusText}` : humanMessage(error);
  return (
    <Container size="sm" py="xl">
      <Stack role="alert">
        <Title order={2}>This page could not be shown</Title>
        <Text>{message}</Text>
        <Button onClick={() => window.location.reload()} w="fit-content">
          Reload
        </Button>
      </Stack>
    </Container>
  );
}
