/**
 * A small IAM evaluator for the policies in docker/iam: Allow statements, Action and Resource with
 * `*`/`?` wildcards (actions case-insensitive), and the condition operators the policies use
 * (StringEquals, StringLike, ArnEquals, ArnLike) on the keys a request context carries. A condition
 * key the context does not carry does not match (IAM's answer for a missing key). Deny statements,
 * NotAction/NotResource and policy variables are refused: the policies here do not use them.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
export interface Policy {
  Version: string;
  Statement: Statement[];
}

/** One AWS call as IAM sees it. */
export interface AwsCall {
  action: string;
  resource: string;
  context: Record<string, string>;
  /** How it was recognised (method + path), for messages. */
  request: string;
}

const list = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);

function glob(pattern: string, value: string, ignoreCase = false): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, ignoreCase ? 'i' : '').test(value);
}

function conditionHolds(cond: Statement['Condition'], ctx: Record<string, string>): boolean {
  for (const [op, keys] of Object.entries(cond ?? {})) {
    for (const [key, want] of Object.entries(keys)) {
      const have = ctx[key.toLowerCase()];
      if (have === undefined) return false;
      const ok = list(want).some((w) =>
        op === 'StringEquals' || op === 'ArnEquals'
          ? w === have
          : op === 'StringLike' || op === 'ArnLike'
            ? glob(w, have)
            : (() => {
                throw new Error(`condition operator ${op} is not supported by this evaluator`);
              })(),
      );
      if (!ok) return false;
    }
  }
  return true;
}

/** Checks the policy is one this evaluator understands; throws naming what it is not. */
export function checkPolicyShape(p: Policy): void {
  if (p.Version !== '2012-10-17') throw new Error(`Version must be "2012-10-17", got ${p.Version}`);
  if (!Array.isArray(p.Statement) || p.Statement.length === 0) throw new Error('Statement must be a non-empty list');
  for (const s of p.Statement) {
    const keys = Object.keys(s).filter((k) => !['Sid', 'Effect', 'Action', 'Resource', 'Condition'].includes(k));
    if (keys.length) throw new Error(`statement ${s.Sid ?? '?'}: unsupported keys ${keys.join(', ')}`);
    if (s.Effect !== 'Allow') throw new Error(`statement ${s.Sid ?? '?'}: only Allow statements are used`);
    for (const a of list(s.Action)) if (!/^[a-z0-9-]+:[A-Za-z*?]+$/.test(a)) throw new Error(`bad action ${a}`);
    for (const r of list(s.Resource)) if (r !== '*' && !r.startsWith('arn:aws:')) throw new Error(`bad resource ${r}`);
  }
}

/** The statements that allow this call (empty: denied). */
export function allowingStatements(p: Policy, call: AwsCall): Statement[] {
  const ctx = Object.fromEntries(Object.entries(call.context).map(([k, v]) => [k.toLowerCase(), v]));
  return p.Statement.filter(
    (s) =>
      s.Effect === 'Allow' &&
      list(s.Action).some((a) => glob(a, call.action, true)) &&
      list(s.Resource).some((r) => glob(r, call.resource)) &&
      conditionHolds(s.Condition, ctx),
  );
}

/** Every action a policy grants (wildcards as written). */
export function grantedActions(p: Policy): string[] {
  return p.Statement.flatMap((s) => list(s.Action));
}

/** A recorded HTTP request to S3 or CloudWatch, as the IAM action(s) it needs. */
export function callsOf(
  req: { method: string; path: string; headers: IncomingHttpHeaders; body: Buffer },
  account: string,
  region: string,
): AwsCall[] {
  const url = new URL(req.path, 'http://x');
  const q = url.searchParams;
  const what = `${req.method} ${url.pathname}${url.search}`;
  const target = String(req.headers['x-amz-target'] ?? '');
  const rpc = /\/service\/([^/]+)\/operation\/([^/?]+)/.exec(url.pathname);
  const form = String(req.headers['content-type'] ?? '').includes('x-www-form-urlencoded')
    ? new URLSearchParams(req.body.toString('utf8'))
    : undefined;
  const cwOperation =
    rpc?.[2] ??
    (target.includes('GraniteServiceVersion') ? target.split('.').pop() : undefined) ??
    form?.get('Action') ??
    undefined;
  if (cwOperation) {
    const context: Record<string, string> = {};
    if (cwOperation === 'PutMetricData') {
      // The namespace as sent: form field, JSON field, or the CBOR text after the "Namespace" key.
      const ns =
        form?.get('Namespace') ??
        /"Namespace"\s*:\s*"([^"]+)"/.exec(req.body.toString('utf8'))?.[1] ??
        cborTextAfter(req.body, 'Namespace');
      if (ns) context['cloudwatch:namespace'] = ns;
      return [{ action: 'cloudwatch:PutMetricData', resource: '*', context, request: what }];
    }
    return [{ action: `cloudwatch:${cwOperation}`, resource: '*', context, request: what }];
  }
  // S3, path style: /bucket/key...
  const [, bucket = '', ...rest] = url.pathname.split('/');
  const key = decodeURIComponent(rest.join('/'));
  const object = `arn:aws:s3:::${bucket}/${key}`;
  const one = (action: string, resource = object, context: Record<string, string> = {}): AwsCall => ({
    action,
    resource,
    context,
    request: what,
  });
  void account;
  void region;
  if (!key) {
    if (req.method === 'GET' && (q.has('list-type') || q.has('prefix')))
      return [one('s3:ListBucket', `arn:aws:s3:::${bucket}`, { 's3:prefix': q.get('prefix') ?? '' })];
    return [one(`s3:unknown ${req.method} bucket`, `arn:aws:s3:::${bucket}`)];
  }
  const calls: AwsCall[] = [];
  if (req.method === 'GET' || req.method === 'HEAD') calls.push(one('s3:GetObject'));
  else if (req.method === 'PUT' && q.has('tagging')) calls.push(one('s3:PutObjectTagging'));
  else if (req.method === 'PUT' || (req.method === 'POST' && (q.has('uploads') || q.has('uploadId'))))
    calls.push(one('s3:PutObject'));
  else if (req.method === 'DELETE' && q.has('uploadId')) calls.push(one('s3:AbortMultipartUpload'));
  else if (req.method === 'DELETE') calls.push(one('s3:DeleteObject'));
  else calls.push(one(`s3:unknown ${req.method} object`));
  // Tags sent with the object need s3:PutObjectTagging besides s3:PutObject.
  if (req.headers['x-amz-tagging'] && (req.method === 'PUT' || q.has('uploads')))
    calls.push(one('s3:PutObjectTagging'));
  return calls;
}

/** In a CBOR map, the short text string (< 24 bytes) that follows the text key `key`. */
function cborTextAfter(body: Buffer, key: string): string | undefined {
  const k = Buffer.concat([Buffer.from([0x60 + key.length]), Buffer.from(key)]);
  const at = body.indexOf(k);
  if (at < 0) return undefined;
  const head = body[at + k.length];
  if (head === undefined || head < 0x60 || head > 0x77) return undefined;
  const start = at + k.length + 1;
  return body.subarray(start, start + head - 0x60).toString('utf8');
}
