const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

// One or more `<integer><unit>` groups, e.g. "30s", "15m", "1h30m". Bare numbers are refused on
// purpose: "3600" could mean seconds or milliseconds, and a token lifetime must not be guessed.
const DURATION = /^(?:\d{1,6}[smhd])+$/;
const GROUP = /(\d{1,6})([smhd])/g;

/**
 * Parses a duration such as `30s`, `15m`, `1h`, `24h` or `1h30m` into whole seconds.
 * Returns null for anything else, including zero-length durations.
 */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) return null;
  let total = 0;
  for (const match of trimmed.matchAll(GROUP)) {
    const [, amount, unit] = match;
    const factor = unit === undefined ? undefined : UNIT_SECONDS[unit];
    if (amount === undefined || factor === undefined) return null;
    total += Number(amount) * factor;
  }
  return total > 0 ? total : null;
}
