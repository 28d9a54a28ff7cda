/**
 * The heartbeat DAG's interval, read from what Airflow stored of its schedule: 2.x `dag.schedule_interval`
 * (JSON: `{"__var": 300.0, "__type": "timedelta"}` or a cron string in quotes) and 3.x
 * `dag.timetable_summary` (`0:05:00` for a timedelta, the cron text for a cron schedule).
 */

const PRESETS: Record<string, number> = {
  '@hourly': 3600,
  '@daily': 86_400,
  '@midnight': 86_400,
  '@weekly': 604_800,
};

/**
 * Seconds between runs for the schedules a heartbeat uses (timedeltas, `*\/N` minute or hour
 * crons, presets); undefined for anything else (the caller then needs `--interval-seconds`).
 *
 * @example
 * scheduleIntervalSeconds('{"__var": 300.0, "__type": "timedelta"}') // 300
 * scheduleIntervalSeconds('0:05:00') // 300
 * scheduleIntervalSeconds('*\/2 * * * *') // 120
 */
export function scheduleIntervalSeconds(stored: string | null | undefined): number | undefined {
  if (!stored) return undefined;
  let text = stored.trim();
  if (text.startsWith('{')) {
    try {
      const v = JSON.parse(text) as { __var?: unknown; __type?: unknown };
      return v.__type === 'timedelta' && typeof v.__var === 'number' && v.__var > 0 ? v.__var : undefined;
    } catch {
      return undefined;
    }
  }
  if (text.startsWith('"')) {
    try {
      text = String(JSON.parse(text));
    } catch {
      return undefined;
    }
  }
  if (PRESETS[text]) return PRESETS[text];
  // str(timedelta): "0:05:00", "1 day, 0:00:00", "0:00:30.500000"
  const delta = /^(?:(\d+) days?, )?(\d+):(\d\d):(\d\d(?:\.\d+)?)$/.exec(text);
  if (delta) {
    const s = Number(delta[1] ?? 0) * 86_400 + Number(delta[2]) * 3600 + Number(delta[3]) * 60 + Number(delta[4]);
    return s > 0 ? s : undefined;
  }
  const cron = text.split(/\s+/);
  if (cron.length === 5 && cron.slice(2).every((f) => f === '*')) {
    const [minute, hour] = cron as [string, string];
    const every = (f: string) => (f === '*' ? 1 : /^\*\/(\d+)$/.exec(f) ? Number(f.slice(2)) : undefined);
    if (hour === '*') {
      const n = every(minute);
      if (n && 60 % n === 0) return n * 60;
      if (/^\d+$/.test(minute)) return 3600;
    } else if (/^\d+$/.test(minute)) {
      const n = every(hour);
      if (n && 24 % n === 0) return n * 3600;
    }
  }
  return undefined;
}
