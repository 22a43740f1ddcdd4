import { Button, Stack, Text, Title } from '@mantine/core';
import { Link } from 'react-router';

export default function NotFoundPage() {
  return (
    <Stack>
      <Title order={2}>Page not found</Title>
      <Text>There is nothing at this address.</Text>
      <Button component={Link} to="/projects" w="fit-content">
        Go to your projects
      </Button>
    </Stack>
  );
}
