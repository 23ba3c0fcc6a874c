/**
 * Escaping for a report page. Everything read from a run database is untrusted text (a device
 * names itself, a config holds whatever the user typed): it goes into the page only through these.
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for an HTML element body or a quoted attribute value. */
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/**
 * JSON for a `<script type="application/json">` element. `<` and `>` become \u escapes, so no
 * string in the data can close the element or open a comment (`</script>`, `<!--`); `&` too, for
 * parsers that decode entities; U+2028/2029 because older JavaScript parsers end a line there.
 * JSON.parse of the element's text gives the value back unchanged.
 */
export function jsonForScript(value: unknown): string {
  const s = JSON.stringify(value);
  if (typeof s !== 'string') throw new TypeError('jsonForScript: value is not JSON-serialisable');
  return s.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Third-party code for an inline `<script>` or `<style>` element. A closing tag inside it would end
 * the element early; in JavaScript source `<\/` means the same as `</` wherever such a sequence can
 * occur (strings, regular expressions, comments), and in CSS a `\` escape does the same.
 */
export function inlineCode(code: string, element: 'script' | 'style'): string {
  return code.replace(new RegExp(`</(${element})`, 'gi'), '<\\/$1');
}

/** A compact, readable number for tables: up to 4 significant digits, '-' for null or NaN. */
export function fmtNum(v: number | null | undefined, digits = 4): string {
  if (typeof v !== 'number' || Number.isNaN(v)) return '-';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(digits - 1);
  return String(Number(v.toPrecision(digits)));
}

/** Unix ms as an ISO 8601 UTC time, '-' for null. */
export function fmtTime(ms: number | null | undefined): string {
  return typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : '-';
}

/** A duration in ms as "1 h 2 min", "3 min 4 s", "5.6 s". */
export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const s = ms / 1000;
  if (s < 60) return `${Number(s.toPrecision(3))} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
