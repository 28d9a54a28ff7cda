/** A log timestamp read back into time. */
export interface ParsedLogTimestamp {
  /** Milliseconds since the epoch; when the text has no zone (or a zone name), the wall time read as UTC. */
  epochMs: number;
  /** 'offset' (Z, +0000, +00:00), 'none' (`2021-06-15 07:13:48,623`), or 'name' (the UI's `BST`). */
  zone: 'offset' | 'none' | 'name';
  /** The zone name when `zone` is 'name' (UTC and GMT count as offsets). */
  zoneName?: string;
}

const ISO =
  /^(\d{4})-(\d\d)-(\d\d)(?:[T ]|, )(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))? ?(?:(Z)|([+-])(\d\d):?(\d\d)|([A-Z]{2,5}))?(?: (\d{1,3})ms)?$/;

/**
 * Parse every timestamp shape the grammars accept: ISO with ms and offset (`2022-06-12T13:00:00.123+0000`),
 * structlog's `2026-04-13T17:31:54.635402Z` and 3.0.0's zone-less form, Python's `2021-06-15 07:13:48,623`,
 * the early `2022-06-12 13:00:00+0000 123ms`, gunicorn's `2024-01-01 00:00:00 +0000`, and the UI's
 * `2023-09-13, 12:26:31 BST`. Returns null for anything else.
 */
export function parseLogTimestamp(text: string): ParsedLogTimestamp | null {
  const m = ISO.exec(text);
  if (!m) return null;
  let fractionMs = 0;
  if (m[7] !== undefined) fractionMs = Number(`0.${m[7]}`) * 1000;
  if (m[13] !== undefined) fractionMs = Number(m[13]);
  let epochMs =
    Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) +
    Math.floor(fractionMs);
  if (Number.isNaN(epochMs)) return null;
  if (m[8] !== undefined) return { epochMs, zone: 'offset' };
  if (m[9] !== undefined) {
    const offsetMs = (Number(m[10]) * 60 + Number(m[11])) * 60_000;
    epochMs += m[9] === '+' ? -offsetMs : offsetMs;
    return { epochMs, zone: 'offset' };
  }
  if (m[12] !== undefined) {
    if (m[12] === 'UTC' || m[12] === 'GMT') return { epochMs, zone: 'offset' };
    return { epochMs, zone: 'name', zoneName: m[12] };
  }
  return { epochMs, zone: 'none' };
}
