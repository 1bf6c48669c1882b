import { type CountryCode, parsePhoneNumberWithError } from 'libphonenumber-js/max';

export type PhoneResult = { ok: true; e164: string } | { ok: false; message: string };

/**
 * Parses a phone number as given by a client. National numbers are read in `defaultRegion`; the number must
 * have a possible length for its country (numbering-plan validity is not required: plans change faster than
 * metadata, and vendors' own documentation uses unassigned numbers such as +1 800 123 4567). Returned in E.164.
 */
export function normalizePhone(input: string, defaultRegion: string): PhoneResult {
  const text = input.trim();
  if (!text) return { ok: false, message: 'must not be empty' };
  try {
    const parsed = parsePhoneNumberWithError(text, {
      defaultCountry: defaultRegion as CountryCode,
      extract: false,
    });
    if (!parsed.isPossible()) return { ok: false, message: 'is not a valid phone number' };
    return { ok: true, e164: parsed.number };
  } catch {
    return { ok: false, message: 'is not a phone number' };
  }
}

/** Best-effort E.164 for matching a filter value; undefined when the text is not a phone number. */
export function phoneForMatch(input: string, defaultRegion: string): string | undefined {
  try {
    const parsed = parsePhoneNumberWithError(input.trim(), { defaultCountry: defaultRegion as CountryCode });
    return parsed.isPossible() ? parsed.number : undefined;
  } catch {
    return undefined;
  }
}
