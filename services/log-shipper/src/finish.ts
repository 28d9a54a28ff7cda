/**
 * When a task log is finished: an end marker in its last lines (Airflow's own last lines, from
 * `@windsock/airflow`'s task-end.ts), a quiet period, or (optional) the metadb saying the attempt
 * can write no more (`metadb-finish.ts`).
 */
import { TASK_END_MARKERS } from '@windsock/airflow';

/** The default of `logShipper.endMarkers`: Airflow's end-of-attempt lines, 2.x and 3.x. */
export const DEFAULT_END_MARKERS: readonly string[] = TASK_END_MARKERS;

/** Compiles marker patterns once; a bad pattern is a config error naming it. */
export function compileMarkers(patterns: readonly string[]): RegExp[] {
  return patterns.map((p) => {
    try {
      return new RegExp(p);
    } catch (err) {
      throw new Error(
        `logShipper.endMarkers: invalid regular expression ${JSON.stringify(p)}: ${(err as Error).message}`,
      );
    }
  });
}

/** Answers, for many logs at once, whether the attempt each belongs to can write no more lines. */
export interface FinishSignal {
  /** Per relative path (to the base log folder): true = ended, false = still running, absent/undefined = cannot tell. */
  attemptsFinished(relativePaths: readonly string[]): Promise<Map<string, boolean | undefined>>;
  close?(): Promise<void>;
}
