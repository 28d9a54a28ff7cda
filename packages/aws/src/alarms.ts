/**
 * CloudWatch PutMetricAlarm's real limits, checked before any call: moto stores almost anything
 * (it checks neither Period values, Period x EvaluationPeriods, nor the five-action limit), so a
 * test against moto alone would pass alarms that AWS refuses.
 */
import type { PutMetricAlarmInput } from '@aws-sdk/client-cloudwatch';

const STATISTICS = new Set(['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum']);
const OPERATORS = new Set([
  'GreaterThanOrEqualToThreshold',
  'GreaterThanThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
]);
const MISSING = new Set(['breaching', 'notBreaching', 'ignore', 'missing']);
const ONE_DAY = 86_400;
const SEVEN_DAYS = 604_800;
const MAX_PAYLOAD_BYTES = 120 * 1024;

/**
 * Every way `alarm` breaks PutMetricAlarm's documented limits (empty when it is valid): names and
 * description lengths, Statistic/ExtendedStatistic, Period 10/20/30 or a multiple of 60,
 * Period x EvaluationPeriods <= 1 day (periods under an hour) or 7 days, DatapointsToAlarm <=
 * EvaluationPeriods, at most 5 ARNs per action list, 30 dimensions, TreatMissingData's values.
 *
 * @example
 * validateMetricAlarm({ AlarmName: 'x', Period: 45, EvaluationPeriods: 1, ... }) // ['Period 45 ...']
 */
export function validateMetricAlarm(alarm: PutMetricAlarmInput): string[] {
  const problems: string[] = [];
  const name = alarm.AlarmName ?? '';
  if (name.length < 1 || name.length > 255) problems.push(`AlarmName must be 1-255 characters (got ${name.length})`);
  if ((alarm.AlarmDescription ?? '').length > 1024)
    problems.push(`AlarmDescription must be at most 1024 characters (got ${alarm.AlarmDescription?.length})`);
  if (!alarm.MetricName || !alarm.Namespace) problems.push('MetricName and Namespace are required');
  for (const [k, v] of [
    ['MetricName', alarm.MetricName],
    ['Namespace', alarm.Namespace],
  ] as const)
    if (v && v.length > 255) problems.push(`${k} must be at most 255 characters`);
  if (alarm.Statistic && alarm.ExtendedStatistic) problems.push('give Statistic or ExtendedStatistic, not both');
  if (!alarm.Statistic && !alarm.ExtendedStatistic) problems.push('Statistic (or ExtendedStatistic) is required');
  if (alarm.Statistic && !STATISTICS.has(alarm.Statistic))
    problems.push(`Statistic must be one of ${[...STATISTICS].join(', ')} (got ${alarm.Statistic})`);
  const period = alarm.Period ?? 0;
  if (!(period === 10 || period === 20 || period === 30 || (period >= 60 && period % 60 === 0)))
    problems.push(`Period must be 10, 20, 30 or a multiple of 60 seconds (got ${period})`);
  const evals = alarm.EvaluationPeriods ?? 0;
  if (!Number.isInteger(evals) || evals < 1) problems.push(`EvaluationPeriods must be an integer >= 1 (got ${evals})`);
  const window = period * evals;
  const maxWindow = period < 3600 ? ONE_DAY : SEVEN_DAYS;
  if (window > maxWindow)
    problems.push(
      `Period x EvaluationPeriods must be at most ${maxWindow} s for a ${period} s period (got ${window} s): use a longer period`,
    );
  if (alarm.DatapointsToAlarm !== undefined && (alarm.DatapointsToAlarm < 1 || alarm.DatapointsToAlarm > evals))
    problems.push(
      `DatapointsToAlarm must be between 1 and EvaluationPeriods (${evals}) (got ${alarm.DatapointsToAlarm})`,
    );
  if (alarm.Threshold === undefined || !Number.isFinite(alarm.Threshold)) problems.push('Threshold is required');
  if (!alarm.ComparisonOperator || !OPERATORS.has(alarm.ComparisonOperator))
    problems.push(`ComparisonOperator must be one of ${[...OPERATORS].join(', ')} (got ${alarm.ComparisonOperator})`);
  if (alarm.TreatMissingData !== undefined && !MISSING.has(alarm.TreatMissingData))
    problems.push(`TreatMissingData must be one of ${[...MISSING].join(', ')} (got ${alarm.TreatMissingData})`);
  for (const key of ['AlarmActions', 'OKActions', 'InsufficientDataActions'] as const) {
    const actions = alarm[key] ?? [];
    if (actions.length > 5) problems.push(`${key} may list at most 5 ARNs (got ${actions.length})`);
    for (const a of actions) if (!a.startsWith('arn:')) problems.push(`${key}: ${JSON.stringify(a)} is not an ARN`);
  }
  if ((alarm.Dimensions ?? []).length > 30) problems.push(`at most 30 Dimensions (got ${alarm.Dimensions?.length})`);
  const bytes = Buffer.byteLength(JSON.stringify(alarm));
  if (bytes > MAX_PAYLOAD_BYTES) problems.push(`the request is ${bytes} bytes, over the 120 KB limit`);
  return problems;
}
