/**
 * What `windsock heartbeat check` concludes from the heartbeat DAG's runs: a Nagios-style status
 * (0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN) and the one screen that explains it. Pure: the metadb reader
 * supplies the facts, the clock is an argument.
 */

/** Nagios plugin exit codes. */
export const EXIT = { OK: 0, WARN: 1, CRIT: 2, UNKNOWN: 3 } as const;
export type HeartbeatStatus = keyof typeof EXIT;

/** One run of the heartbeat DAG as the metadb has it. */
export interface HeartbeatRun {
  runId: string;
  state: string | null;
  queuedAt: Date | null;
  startDate: Date | null;
  endDate: Date | null;
}

/** One task instance of a run. */
export interface HeartbeatTask {
  taskId: string;
  state: string | null;
  endDate: Date | null;
  /** The probe's own line from the task log, when the log could be read. */
  message?: string;
}

/** Everything the verdict is made from. */
export interface HeartbeatFacts {
  dagId: string;
  /** Undefined when the DAG was never parsed into this metadb. */
  dagFound: boolean;
  paused: boolean | null;
  newestRun: HeartbeatRun | null;
  newestRunTasks: HeartbeatTask[];
  lastSuccess: HeartbeatRun | null;
  schedulerHeartbeatAgeSeconds: number | null;
}

/** Thresholds, in seconds; derived from the DAG's interval unless overridden. */
export interface HeartbeatThresholds {
  intervalSeconds: number;
  /** Where the interval came from: the DAG's schedule, the config, or the default. */
  intervalSource: string;
  warnAfterSeconds: number;
  critAfterSeconds: number;
  schedulerWarnSeconds: number;
  schedulerCritSeconds: number;
}

/** The verdict: status, one summary line, and the detail lines of the screen. */
export interface HeartbeatVerdict {
  status: HeartbeatStatus;
  code: number;
  summary: string;
  details: string[];
  lastSuccess: { runId: string; endedAt: string; ageSeconds: number; latencySeconds: number | null } | null;
  newestRun: { runId: string; state: string | null; ageSeconds: number | null } | null;
  failedProbes: Array<{ taskId: string; state: string | null; message?: string }>;
  schedulerHeartbeatAgeSeconds: number | null;
  thresholds: HeartbeatThresholds;
}

/** Thresholds from the interval: WARN after two missed intervals, CRIT after three. */
export function thresholdsFor(
  intervalSeconds: number,
  intervalSource: string,
  overrides: Partial<Omit<HeartbeatThresholds, 'intervalSeconds' | 'intervalSource'>> = {},
): HeartbeatThresholds {
  return {
    intervalSeconds,
    intervalSource,
    warnAfterSeconds: overrides.warnAfterSeconds ?? 2 * intervalSeconds,
    critAfterSeconds: overrides.critAfterSeconds ?? 3 * intervalSeconds,
    // Airflow's own [scheduler] scheduler_health_check_threshold is 30 s.
    schedulerWarnSeconds: overrides.schedulerWarnSeconds ?? 30,
    schedulerCritSeconds: overrides.schedulerCritSeconds ?? 300,
  };
}

const FAILED = new Set(['failed', 'upstream_failed']);

/** The verdict for `facts` at `now`. */
export function judge(facts: HeartbeatFacts, t: HeartbeatThresholds, now: Date): HeartbeatVerdict {
  const age = (d: Date | null) => (d ? Math.max(0, (now.getTime() - d.getTime()) / 1000) : null);
  const last = facts.lastSuccess;
  const lastEnd = last?.endDate ?? null;
  const lastAge = age(lastEnd);
  const lastStart = last?.startDate ?? last?.queuedAt ?? null;
  const newest = facts.newestRun;
  const failedProbes = facts.newestRunTasks
    .filter((task) => task.state !== null && FAILED.has(task.state))
    .map((task) => ({ taskId: task.taskId, state: task.state, ...(task.message ? { message: task.message } : {}) }));
  const base = {
    lastSuccess:
      last && lastEnd
        ? {
            runId: last.runId,
            endedAt: lastEnd.toISOString(),
            ageSeconds: round(lastAge ?? 0),
            latencySeconds: lastStart ? round((lastEnd.getTime() - lastStart.getTime()) / 1000) : null,
          }
        : null,
    newestRun: newest
      ? {
          runId: newest.runId,
          state: newest.state,
          ageSeconds: nullableRound(age(newest.startDate ?? newest.queuedAt)),
        }
      : null,
    failedProbes,
    schedulerHeartbeatAgeSeconds: nullableRound(facts.schedulerHeartbeatAgeSeconds),
    thresholds: t,
  };
  const details: string[] = [];
  const verdict = (status: HeartbeatStatus, summary: string): HeartbeatVerdict => ({
    status,
    code: EXIT[status],
    summary,
    details,
    ...base,
  });

  details.push(
    `dag ${facts.dagId}: interval ${duration(t.intervalSeconds)} (${t.intervalSource}); WARN after ${duration(t.warnAfterSeconds)}, CRIT after ${duration(t.critAfterSeconds)} without a success`,
  );
  if (!facts.dagFound) {
    details.push('the DAG is not in the metadb: is dags/windsock_heartbeat.py in the DAGs folder, and does it parse?');
    return verdict('UNKNOWN', `${facts.dagId} is not in the metadb (never parsed)`);
  }
  if (last && lastEnd)
    details.push(
      `last success: run ${last.runId} ended ${duration(lastAge ?? 0)} ago${base.lastSuccess?.latencySeconds != null ? `, latency ${base.lastSuccess.latencySeconds}s` : ''}`,
    );
  else details.push('last success: none recorded');
  if (newest && newest.runId !== last?.runId)
    details.push(`newest run: ${newest.runId} is ${newest.state ?? 'without state'}`);
  for (const p of failedProbes)
    details.push(`failed probe: ${p.taskId} (${p.state})${p.message ? `: ${p.message}` : ' (no local task log)'}`);
  const sched = facts.schedulerHeartbeatAgeSeconds;
  details.push(sched === null ? 'scheduler heartbeat: none recorded' : `scheduler heartbeat: ${duration(sched)} ago`);
  if (facts.paused) details.push('the DAG is PAUSED: unpause it or no heartbeat runs');

  const newestFailed = newest !== null && newest.runId !== last?.runId && newest.state === 'failed';
  const probeText = failedProbes.length ? `: ${failedProbes.map((p) => p.taskId).join(', ')} failed` : '';
  const lastText = lastAge === null ? 'no success recorded' : `last success ${duration(lastAge)} ago`;

  if (newestFailed) {
    // One failed run with a recent success is a warning; failures past the WARN window page.
    const status = lastAge !== null && lastAge <= t.warnAfterSeconds ? 'WARN' : 'CRIT';
    return verdict(status, `newest run ${newest.runId} failed${probeText}; ${lastText}`);
  }
  if (lastAge === null && newest === null)
    return verdict('UNKNOWN', `${facts.dagId} has never run${facts.paused ? ' (paused)' : ''}`);
  if (lastAge === null || lastAge > t.critAfterSeconds)
    return verdict('CRIT', `${lastText} (CRIT after ${duration(t.critAfterSeconds)})${probeText}`);
  if (sched !== null && sched > t.schedulerCritSeconds)
    return verdict('CRIT', `scheduler heartbeat ${duration(sched)} old; ${lastText}`);
  if (lastAge > t.warnAfterSeconds)
    return verdict('WARN', `${lastText} (WARN after ${duration(t.warnAfterSeconds)})${probeText}`);
  if (sched === null || sched > t.schedulerWarnSeconds)
    return verdict('WARN', `scheduler heartbeat ${sched === null ? 'missing' : `${duration(sched)} old`}; ${lastText}`);
  if (failedProbes.length) return verdict('WARN', `newest run has failed probes${probeText}; ${lastText}`);
  const newestAge = base.newestRun?.ageSeconds ?? null;
  if (newest && newest.state === 'running' && newestAge !== null && newestAge > t.intervalSeconds)
    return verdict('WARN', `newest run ${newest.runId} still running after ${duration(newestAge)}; ${lastText}`);
  return verdict(
    'OK',
    `${lastText}${base.lastSuccess?.latencySeconds != null ? `, latency ${base.lastSuccess.latencySeconds}s` : ''}`,
  );
}

/** `1h02m`, `4m05s`, `12s`. */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function nullableRound(n: number | null): number | null {
  return n === null ? null : round(n);
}

/** The screen: `HEARTBEAT <STATUS> - summary`, then the details indented. */
export function renderVerdict(v: HeartbeatVerdict): string {
  return [`HEARTBEAT ${v.status} - ${v.summary}`, ...v.details.map((d) => `  ${d}`)].join('\n');
}
