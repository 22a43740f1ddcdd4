// Server-sent events over fetch (EventSource cannot send the bearer token): parses `event:`/`data:` frames
// and hands each event to `onEvent` until the stream ends or `signal` aborts.
import { freshAccessToken } from './session';
import { ApiError } from './errors';

export interface ServerEvent {
  event: string;
  data: unknown;
}

export function parseFrames(buffer: string): { events: ServerEvent[]; rest: string } {
  const events: ServerEvent[] = [];
  const frames = buffer.split(/\r?\n\r?\n/);
  const rest = frames.pop() ?? '';
  for (const frame of frames) {
    let event = 'message';
    const data: string[] = [];
    for (const line of frame.split(/\r?\n/)) {
      if (line.startsWith(':')) continue; // a heartbeat comment
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    if (data.length === 0) continue;
    const text = data.join('\n');
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: hand over the text
    }
    events.push({ event, data: parsed });
  }
  return { events, rest };
}

export async function streamEvents(
  url: string,
  onEvent: (event: ServerEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const token = await freshAccessToken();
  const response = await fetch(url, {
    headers: { Accept: 'text/event-stream', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    signal,
  });
  if (!response.ok || !response.body) {
    const body: unknown = await response.json().catch(() => null);
    throw ApiError.fromProblem(response, body);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const { events, rest } = parseFrames(buffer + value);
    buffer = rest;
    events.forEach(onEvent);
  }
}
