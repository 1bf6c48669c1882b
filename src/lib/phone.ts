import { type CountryCode, parsePhoneNumberWithError } from 'libphonenumber-js/max';

export type PhoneResult = { ok: true; e164: string } | { ok: false; message: string };

/**
 * Parses a phone number as given by a client. National numbers are read in `defaultRegion`; the number must be
 * a valid number of its region (not merely of plausible length), and is returned in E.164.
 */
export function normalizePhone(input: string, defaultRegion: string): PhoneResult {
  const text = input.trim();
  if (!text) return { ok: false, message: 'must not be empty' };
  try {
    const parsed = parsePhoneNumberWithError(text, {
      defaultCountry: defaultRegion as CountryCode,
      extract: false,
    });
    if (!parsed.isValid()) return { ok: false, message: 'is not a valid phone number' };
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
