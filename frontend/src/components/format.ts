// Display formats. Money arrives as exact decimal text from the api and is shown as text: never parsed to float.
export function formatDateTime(value: string | null | undefined): string {
  if (!value) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

// One formatter for every count: toLocaleString() builds a new one per call, which is slow in a render loop.
const counts = new Intl.NumberFormat();

export function formatCount(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : counts.format(value);
}

/** Groups the integer digits of an exact decimal string (`-1234567.50` -> `-1,234,567.50`) without float. */
export function formatMoney(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—';
  const text = String(value);
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(text);
  if (!match) return text;
  const [, sign, whole = '', fraction = ''] = match;
  return `${sign}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${fraction}`;
}

export function shortHash(value: string | null | undefined, length = 12): string {
  return value ? value.slice(0, length) : '—';
}
