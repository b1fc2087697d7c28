import { type TLiteral, type TSchema, Type } from '@sinclair/typebox';
import { formatDuration } from './parse.js';

/** How a setting's text is read; each kind has one reader (read-settings.ts) and one README rendering. */
export type SettingKind = 'integer' | 'duration' | 'choice' | 'text' | 'url' | 'list' | 'proxies';

/** What every setting declares besides its type, default and bounds. */
export interface SettingMeta {
  env: `GATEHOUSE_${string}`;
  /** One line for the README's settings table. */
  description: string;
  /** The command-line flag that overrides the variable. */
  flag?: `--${string}`;
  /** The default, in words, when it is worked out from other settings or the machine at start. */
  derivedDefault?: string;
}

export type Setting = TSchema &
  SettingMeta & {
    reads: SettingKind;
    /** What a text or list setting holds, in words ("a path", "origins such as https://app.example.com"). */
    holds?: string;
    /** For a URL: the schemes it may use. */
    protocols?: readonly string[];
    /** For the proxies setting: the most hops it may believe. */
    maxHops?: number;
  };

export const integer = (options: SettingMeta & { default?: number; minimum: number; maximum: number }) =>
  Type.Integer({ ...options, reads: 'integer' });

/** Seconds, written as 600, 30s, 10m, 12h or 7d; always greater than zero. */
export const duration = (options: SettingMeta & { default: number; maximum?: number }) =>
  Type.Integer({ ...options, exclusiveMinimum: 0, reads: 'duration' });

export const choice = <const Value extends string>(
  values: readonly Value[],
  options: SettingMeta & { default: NoInfer<Value> },
) =>
  Type.Union(
    values.map((value): TLiteral<Value> => Type.Literal(value)),
    { ...options, reads: 'choice' },
  );

export const text = (
  options: SettingMeta & { default?: string; holds: string; pattern?: string; maxLength?: number },
) => Type.String({ ...options, reads: 'text' });

export const url = (options: SettingMeta & { protocols: readonly string[] }) =>
  Type.String({ ...options, reads: 'url' });

export const list = (options: SettingMeta & { default?: string[]; holds: string; pattern?: string }) => {
  const { pattern, ...meta } = options;
  return Type.Array(Type.String(pattern ? { pattern } : {}), { ...meta, reads: 'list' });
};

/** Whose X-Forwarded-For to believe: nobody (false), that many hops, or these CIDRs. */
export const proxies = (options: SettingMeta & { maxHops: number }) =>
  Type.Union(
    [Type.Literal(false), Type.Integer({ minimum: 1, maximum: options.maxHops }), Type.Array(Type.String())],
    { ...options, default: false, reads: 'proxies' },
  );

/** The values of a choice, in declaration order. */
const choicesOf = (setting: Setting): string[] =>
  (setting.anyOf as TLiteral<string>[]).map((literal) => literal.const);

/**
 * What a setting accepts, in words: the tail of its error message and its README cell. `quote` marks
 * literal values (backticks in the README).
 */
export function accepted(setting: Setting, quote = (literal: string) => literal): string {
  switch (setting.reads) {
    case 'integer':
      return `a whole number from ${setting.minimum} to ${setting.maximum}`;
    case 'duration':
      return setting.maximum ? `a duration up to ${quote(formatDuration(setting.maximum))}` : 'a duration';
    case 'choice':
      return `one of ${choicesOf(setting).map(quote).join(', ')}`;
    case 'url':
      return `a URL starting ${setting.protocols?.map((protocol) => quote(`${protocol}//`)).join(' or ')}`;
    case 'list':
      return `a comma list of ${setting.holds}`;
    case 'proxies':
      return `${quote('off')}, a hop count from 1 to ${setting.maxHops}, or a comma list of CIDRs`;
    case 'text':
      return setting.holds ?? 'text';
  }
}
