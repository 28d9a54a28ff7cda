import type { TaskInstanceRef } from './types.ts';

const SEP = '\u001f';

/** The key that identifies one task instance across every line shape (see {@link TaskInstanceRef}). */
export function taskInstanceKey(dagId: string, taskId: string, runId: string, mapIndex: number): string {
  return `${dagId}.${taskId}${SEP}${runId}${SEP}${mapIndex}`;
}

function ref(dagId: string, taskId: string, runId: string, mapIndex: number, tryNumber?: number): TaskInstanceRef {
  const r: TaskInstanceRef = { key: taskInstanceKey(dagId, taskId, runId, mapIndex), dagId, taskId, runId, mapIndex };
  if (tryNumber !== undefined) r.tryNumber = tryNumber;
  return r;
}

// Python repr of a str: single quotes unless the text holds a single quote and no double quote.
const PY_STR = String.raw`'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"`;
const TI_KEY = new RegExp(
  String.raw`TaskInstanceKey\(dag_id=(?:${PY_STR}), task_id=(?:${PY_STR}), run_id=(?:${PY_STR}), try_number=(\d+)(?:, map_index=(-?\d+))?\)`,
);
// `<TaskInstance: dag.task run_id [state]>`, with ` map_index=N` before the state for mapped tasks.
const TI_REPR = /<TaskInstance: (\S+) (.+?)(?: map_index=(\d+))? \[([\w ]*)\]>/g;
const PY_LIST_ITEM = new RegExp(PY_STR, 'g');

function unescapePy(s: string): string {
  return s.indexOf('\\') === -1 ? s : s.replace(/\\(.)/g, '$1');
}

/** Parse `TaskInstanceKey(dag_id='d', task_id='t', run_id='r', try_number=1, map_index=-1)` anywhere in `text`. */
export function parseTaskInstanceKey(text: string): TaskInstanceRef | undefined {
  const m = TI_KEY.exec(text);
  if (!m) return undefined;
  const dagId = unescapePy(m[1] ?? m[2] ?? '');
  const taskId = unescapePy(m[3] ?? m[4] ?? '');
  const runId = unescapePy(m[5] ?? m[6] ?? '');
  return ref(dagId, taskId, runId, m[8] === undefined ? -1 : Number(m[8]), Number(m[7]));
}

/** Every `<TaskInstance: dag.task run_id [map_index=N ][state]>` in `text`, in order. */
export function parseTaskInstanceReprs(text: string): TaskInstanceRef[] {
  const out: TaskInstanceRef[] = [];
  if (text.indexOf('<TaskInstance: ') === -1) return out;
  TI_REPR.lastIndex = 0;
  for (let m = TI_REPR.exec(text); m !== null; m = TI_REPR.exec(text)) {
    const dagTask = m[1]!;
    const dot = dagTask.indexOf('.');
    const dagId = dot === -1 ? dagTask : dagTask.slice(0, dot);
    const taskId = dot === -1 ? '' : dagTask.slice(dot + 1);
    const mapIndex = m[3] === undefined ? -1 : Number(m[3]);
    out.push({ key: `${dagTask}${SEP}${m[2]}${SEP}${mapIndex}`, dagId, taskId, runId: m[2]!, mapIndex });
  }
  return out;
}

/**
 * The task instance in a 2.x executor command list, as `Adding to queue:` prints it:
 * `['airflow', 'tasks', 'run', dag_id, task_id, run_id, '--local', ..., '--map-index', '3', ...]`.
 */
export function parseTaskCommand(text: string): TaskInstanceRef | undefined {
  const items: string[] = [];
  PY_LIST_ITEM.lastIndex = 0;
  for (let m = PY_LIST_ITEM.exec(text); m !== null; m = PY_LIST_ITEM.exec(text)) {
    items.push(unescapePy(m[1] ?? m[2] ?? ''));
  }
  const run = items.indexOf('run');
  if (run < 1 || items[run - 1] !== 'tasks' || items.length < run + 4) return undefined;
  const mapFlag = items.indexOf('--map-index', run + 4);
  const mapIndex = mapFlag === -1 ? -1 : Number(items[mapFlag + 1]);
  return ref(items[run + 1]!, items[run + 2]!, items[run + 3]!, Number.isFinite(mapIndex) ? mapIndex : -1);
}

/** A task instance from explicit fields (`TaskInstance Finished: dag_id=..., task_id=...`, markers). */
export function taskInstanceRef(
  dagId: string,
  taskId: string,
  runId: string,
  mapIndex: number,
  tryNumber?: number,
): TaskInstanceRef {
  return ref(dagId, taskId, runId, mapIndex, tryNumber);
}
