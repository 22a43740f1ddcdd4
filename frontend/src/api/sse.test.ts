import { describe, expect, it } from 'vitest';
import { parseFrames } from './sse';

describe('parseFrames', () => {
  it('parses complete events, skips heartbeats and keeps a partial frame for the next chunk', () => {
    const { events, rest } = parseFrames(
      'event: progress\ndata: {"status":"running"}\n\n: heartbeat\n\nevent: end\ndata: {"status":"succ',
    );
    expect(events).toEqual([{ event: 'progress', data: { status: 'running' } }]);
    expect(parseFrames(`${rest}eeded"}\n\n`).events).toEqual([{ event: 'end', data: { status: 'succeeded' } }]);
  });
});
