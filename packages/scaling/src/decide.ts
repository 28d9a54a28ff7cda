/**
 * The scaler's decision for one pool and one poll: a pure function of what was observed and what
 * the pool remembers, so every rule is unit-tested without a clock, a database or a backend.
 *
 * Rules:
 * - desired = clamp(ceil(demand / concurrency), min, max);
 * - scale out at once when desired exceeds the capacity that stays (current - exits pending),
 *   by at most maxStepOut per decision and never above max;
 * - scale in only when desired stayed below that capacity for the whole stabilisation window,
 *   down to the highest desired count seen in the window, never below the workers known busy,
 *   and only by granting exits (idle workers leave by themselves): the decision gives a budget;
 * - an unreadable metadb or a failing backend holds: no exits at all, never a guess (a pool below
 *   min is still brought up to min when the backend answers).
 */
import { clampWorkers, type WorkerPool } from './worker-pools.ts';

/** What the coordinator saw of one pool in one poll. */
export interface PoolObservation {
  /** Milliseconds since the epoch (the decision's clock). */
  now: number;
  /** Task slots needed (running + queued, see poolDemand), or null when the metadb could not be read. */
  demand: number | null;
  /** The backend's count of workers (existing, not yet gone), or null when the backend failed. */
  current: number | null;
  /** Workers known busy (active/reserved Celery tasks, or running task instances with their hostname). */
  busy: number;
  /** Exits granted that have not completed yet (those workers still count in `current`). */
  exitsPending: number;
}

/** What a pool remembers between decisions (start with {@link initialMemory}). */
export interface PoolMemory {
  /** When desired fell below the capacity that stays (null: it is not below). */
  belowSince: number | null;
  /** Desired counts of the decisions within the last window while below, oldest first. */
  below: Array<{ at: number; desired: number }>;
  lastScaleOutAt: number | null;
}

/** Why scale-in waited (the `Reason` dimension of `ScaleInDeferred`). */
export type DeferReason = 'Stabilising' | 'BusyWorkers' | 'Cooldown' | 'MetadbUnreadable' | 'BackendError';

export type ScalingAction = 'scale-out' | 'scale-in' | 'hold' | 'none';

/** One decision: what to do now and what to remember. */
export interface PoolDecision {
  pool: string;
  desired: number | null;
  current: number | null;
  busy: number;
  exitsPending: number;
  action: ScalingAction;
  /** Workers to add now (scale-out). */
  add: number;
  /** Exits that may be granted from now until the next decision (scale-in). */
  exitBudget: number;
  /** The count the pool is heading for. */
  target: number | null;
  reason: string;
  deferred?: DeferReason;
  memory: PoolMemory;
}

export function initialMemory(): PoolMemory {
  return { belowSince: null, below: [], lastScaleOutAt: null };
}

/** Decide for one pool. Pure: same inputs, same decision. */
export function decide(pool: WorkerPool, obs: PoolObservation, memory: PoolMemory): PoolDecision {
  const base = { pool: pool.name, current: obs.current, busy: obs.busy, exitsPending: obs.exitsPending };
  const desired = obs.demand === null ? null : clampWorkers(pool, Math.ceil(obs.demand / pool.concurrency));
  const windowMs = pool.scaleInStabilisationSeconds * 1000;

  if (obs.current === null) {
    return {
      ...base,
      desired,
      action: 'hold',
      add: 0,
      exitBudget: 0,
      target: null,
      reason: 'backend error: holding (no scale-in, no scale-out)',
      deferred: 'BackendError',
      memory: { ...memory, belowSince: null, below: [] },
    };
  }
  const staying = Math.max(0, obs.current - obs.exitsPending);
  const outAllowed =
    memory.lastScaleOutAt === null || obs.now - memory.lastScaleOutAt >= pool.scaleOutCooldownSeconds * 1000;

  if (desired === null) {
    // Without demand only the floor is certain.
    const add = Math.max(0, pool.min - staying);
    return {
      ...base,
      desired,
      action: add > 0 ? 'scale-out' : 'hold',
      add,
      exitBudget: 0,
      target: staying + add,
      reason:
        add > 0
          ? `metadb unreadable: raising to min ${pool.min}, no scale-in`
          : 'metadb unreadable: holding, no scale-in',
      deferred: 'MetadbUnreadable',
      memory: { belowSince: null, below: [], lastScaleOutAt: add > 0 ? obs.now : memory.lastScaleOutAt },
    };
  }

  if (desired > staying) {
    if (!outAllowed) {
      return {
        ...base,
        desired,
        action: 'hold',
        add: 0,
        exitBudget: 0,
        target: staying,
        reason: `scale-out cooldown (${pool.scaleOutCooldownSeconds} s)`,
        memory: { ...memory, belowSince: null, below: [] },
      };
    }
    const add = Math.min(desired - staying, pool.maxStepOut, Math.max(0, pool.max - staying));
    return {
      ...base,
      desired,
      action: add > 0 ? 'scale-out' : 'none',
      add,
      exitBudget: 0,
      target: staying + add,
      reason: `demand ${obs.demand} needs ${desired} workers, ${staying} stay: adding ${add}${add < desired - staying ? ` (step limit ${pool.maxStepOut})` : ''}`,
      memory: { belowSince: null, below: [], lastScaleOutAt: add > 0 ? obs.now : memory.lastScaleOutAt },
    };
  }

  if (desired === staying) {
    return {
      ...base,
      desired,
      action: 'none',
      add: 0,
      exitBudget: 0,
      target: staying,
      reason: `demand ${obs.demand} needs ${desired} workers: steady`,
      memory: { ...memory, belowSince: null, below: [] },
    };
  }

  // desired < staying: remember, and scale in only once the whole window was below.
  const below = [...memory.below.filter((b) => obs.now - b.at <= windowMs), { at: obs.now, desired }];
  const since = memory.belowSince ?? obs.now;
  const next: PoolMemory = { ...memory, belowSince: since, below };
  const hold = (deferred: DeferReason, reason: string): PoolDecision => ({
    ...base,
    desired,
    action: 'hold',
    add: 0,
    exitBudget: 0,
    target: staying,
    reason,
    deferred,
    memory: next,
  });
  if (obs.now - since < windowMs) {
    return hold(
      'Stabilising',
      `demand ${obs.demand} needs ${desired} of ${staying} workers: below for ${Math.round((obs.now - since) / 1000)} s of the ${pool.scaleInStabilisationSeconds} s window`,
    );
  }
  if (memory.lastScaleOutAt !== null && obs.now - memory.lastScaleOutAt < pool.scaleInCooldownSeconds * 1000) {
    return hold('Cooldown', `scale-in cooldown (${pool.scaleInCooldownSeconds} s after the last scale-out)`);
  }
  const peak = Math.max(...below.map((b) => b.desired));
  const floor = Math.max(peak, Math.min(obs.busy, staying), pool.min);
  const exitBudget = Math.max(0, staying - floor);
  if (exitBudget === 0) {
    return hold(
      peak >= staying ? 'Stabilising' : 'BusyWorkers',
      peak >= staying
        ? `the window's peak needs ${peak} workers`
        : `${obs.busy} of ${staying} workers are busy: no idle worker may leave`,
    );
  }
  return {
    ...base,
    desired,
    action: 'scale-in',
    add: 0,
    exitBudget,
    target: staying - exitBudget,
    reason: `demand ${obs.demand} needs ${desired} workers (window peak ${peak}), ${staying} stay, ${obs.busy} busy: up to ${exitBudget} idle workers may leave`,
    memory: next,
  };
}
