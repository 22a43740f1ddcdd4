// Exact decimal arithmetic on the api's money text ("-12.50"): scaled BigInt, never float, so a running
// difference of many records is exact to the last digit.
const PATTERN = /^(-?)(\d+)(?:\.(\d+))?$/;

interface Scaled {
  units: bigint;
  scale: number;
}

function parse(text: string): Scaled {
  const match = PATTERN.exec(text.trim());
  if (!match) throw new Error(`not a decimal: ${text}`);
  const [, sign = '', whole = '0', fraction = ''] = match;
  const units = BigInt(whole + fraction) * (sign === '-' ? -1n : 1n);
  return { units, scale: fraction.length };
}

function rescale(value: Scaled, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

function render(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale ? `.${digits.slice(digits.length - scale)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/** Sum of exact decimal strings, with the most fraction digits of any term (at least `minScale`). */
export function sumDecimals(values: (string | null | undefined)[], minScale = 2): string {
  const parsed = values.filter((v): v is string => Boolean(v)).map(parse);
  const scale = Math.max(minScale, ...parsed.map((p) => p.scale));
  return render(
    parsed.reduce((total, p) => total + rescale(p, scale), 0n),
    scale,
  );
}

/** a - b, exactly. */
export function subtractDecimals(a: string, b: string): string {
  const x = parse(a);
  const y = parse(b);
  const scale = Math.max(x.scale, y.scale);
  return render(rescale(x, scale) - rescale(y, scale), scale);
}

export function isZeroDecimal(value: string): boolean {
  return parse(value).units === 0n;
}
