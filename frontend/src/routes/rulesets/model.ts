// The rule language as the form builder edits it (docs/rules.md). The builder reads the YAML, changes the
// parts it knows and writes YAML back: keys it does not show (score, compare, ...) are kept as they are.
import { parse, stringify } from 'yaml';

export const KINDS = ['one_to_one', 'one_to_many', 'many_to_one', 'many_to_many'] as const;
export const OPS = ['equals', 'tolerance', 'within_days', 'within_business_days', 'contains', 'similarity'] as const;
export const METHODS = ['jaro_winkler', 'levenshtein', 'token_set', 'exact'] as const;
export const NORMALIZERS = ['trim', 'upper', 'lower', 'alnum', 'digits', 'collapse_spaces', 'strip_leading_zeros', 'transliterate', 'words'];
export const COLUMNS = ['id', 'date', 'value_date', 'amount', 'currency', 'reference', 'counterparty', 'description'];

export interface Condition {
  left?: string;
  right?: string;
  op?: string;
  abs?: number;
  pct?: number;
  days?: number;
  calendar?: string;
  method?: string;
  min?: number;
  direction?: string;
  normalize?: string[];
  [key: string]: unknown;
}

export interface Pass {
  name?: string;
  kind?: string;
  match?: Condition[];
  suggest?: boolean;
  group_by?: string[];
  max_group_size?: number;
  sum?: { left?: string; right?: string; abs?: number; pct?: number };
  [key: string]: unknown;
}

export interface Rules {
  version?: number;
  name?: string;
  left?: string | { id?: string; [key: string]: unknown };
  right?: string | { id?: string; [key: string]: unknown };
  passes?: Pass[];
  [key: string]: unknown;
}

export const TEMPLATE = `version: 1
name: ledger-vs-bank
left: {id: id}
right: {id: id}
passes:
  - name: exact
    kind: one_to_one
    match:
      - {left: reference, right: reference, op: equals, normalize: [digits]}
      - {left: amount, right: amount, op: equals}
`;

/** The rules as an object, or the reason the builder cannot show them. */
export function readRules(text: string): { rules: Rules } | { error: string } {
  try {
    const value: unknown = parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: 'The rules must be a mapping (key: value).' };
    const rules = value as Rules;
    if (rules.passes !== undefined && !Array.isArray(rules.passes)) return { error: '`passes` must be a list.' };
    return { rules };
  } catch (error) {
    return { error: error instanceof Error ? error.message.split('\n')[0]! : 'The YAML does not parse.' };
  }
}

export function writeRules(rules: Rules): string {
  return stringify(rules, { lineWidth: 110, flowCollectionPadding: false });
}

export function sideId(side: Rules['left']): string {
  if (typeof side === 'string') return side;
  return side?.id ?? '';
}

export function withSideId(side: Rules['left'], id: string): Rules['left'] {
  return typeof side === 'object' && side !== null ? { ...side, id } : { id };
}

export const isGrouped = (kind: string | undefined) => kind !== undefined && kind !== 'one_to_one';

/** A condition with the parameters its operator needs (and none of another operator's). */
export function withOp(condition: Condition, op: string): Condition {
  const { abs: _a, pct: _p, days: _d, calendar: _c, method: _m, min: _n, direction: _r, ...rest } = condition;
  const next: Condition = { ...rest, op };
  if (op === 'tolerance') next.abs = 0.01;
  if (op === 'within_days' || op === 'within_business_days') next.days = 3;
  if (op === 'similarity') Object.assign(next, { method: 'jaro_winkler', min: 0.85 });
  return next;
}
