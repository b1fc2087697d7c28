import { describe, expect, it } from 'vitest';
import { constantTimeEqual } from '../src/secrets/digest.js';

describe('constantTimeEqual answers true only for the very same string', () => {
  const token = 'lN3vVq0x2cXG8yHq5dTz4bJ7mK1wP9sR6fA0eU2iO4Y';

  it('is true for equal strings, the empty ones included', () => {
    expect(constantTimeEqual(token, token)).toBe(true);
    expect(constantTimeEqual('', '')).toBe(true);
  });

  it('is false for strings of the same length that differ in one character', () => {
    expect(constantTimeEqual(token, `${token.slice(0, -1)}Z`)).toBe(false);
    expect(constantTimeEqual(token, `Z${token.slice(1)}`)).toBe(false);
  });

  // Guards against a comparison of the common prefix only, which would accept a truncated or padded token.
  it('is false when either string is a prefix of the other, whichever side is shorter', () => {
    expect(constantTimeEqual(token, token.slice(0, -1))).toBe(false);
    expect(constantTimeEqual(token.slice(0, -1), token)).toBe(false);
    expect(constantTimeEqual(token, `${token}A`)).toBe(false);
    expect(constantTimeEqual(`${token}A`, token)).toBe(false);
  });

  it('is false when one side is empty', () => {
    expect(constantTimeEqual(token, '')).toBe(false);
    expect(constantTimeEqual('', token)).toBe(false);
  });

  it('compares UTF-8 bytes: same characters match, same length in characters or in bytes is not enough', () => {
    expect(constantTimeEqual('clé-🔑', 'clé-🔑')).toBe(true);
    // One character each, two bytes against one.
    expect(constantTimeEqual('é', 'e')).toBe(false);
    // Two bytes each: "é" is 0xC3 0xA9.
    expect(constantTimeEqual('é', 'ab')).toBe(false);
    // The same letter composed and decomposed: no normalization happens.
    expect(constantTimeEqual('\u00e9', 'e\u0301')).toBe(false);
    expect(constantTimeEqual('🔑', '🔒')).toBe(false);
  });
});
