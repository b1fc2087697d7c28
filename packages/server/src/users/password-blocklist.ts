import { dictionary } from '@zxcvbn-ts/language-common';

let common: Set<string> | undefined;

/**
 * NIST 800-63B §3.1.1.2: refuse passwords found in lists of commonly used or breached ones. The list is
 * zxcvbn's 49,000 most common passwords, shipped with the package; compared case-insensitively.
 */
export function isCommonPassword(password: string): boolean {
  common ??= new Set((dictionary['passwords-common'] as string[]).map((entry) => entry.toLowerCase()));
  return common.has(password.toLowerCase());
}
