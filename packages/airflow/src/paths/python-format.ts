import { TemplateError } from './jinja.ts';

/** A piece of a Python `str.format` template. */
export type FormatPart = { type: 'text'; text: string } | { type: 'field'; name: string; spec: string };

/**
 * Compile a Python `str.format` template (the non-Jinja `log_filename_template` Airflow still accepts when
 * the text has no `{{`): `{name}`, `{name!s}`, `{name:spec}` with integer specs such as `{try_number:03d}`,
 * and `{{`/`}}` for literal braces. Positional fields and attribute or index access are rejected.
 */
export function compilePythonFormat(template: string): FormatPart[] {
  const parts: FormatPart[] = [];
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === '{') {
      if (template[i + 1] === '{') {
        text += '{';
        i++;
        continue;
      }
      const close = template.indexOf('}', i);
      if (close === -1) throw new TemplateError(`unmatched "{" at ${i} in ${JSON.stringify(template)}`);
      const body = template.slice(i + 1, close);
      const m = /^([A-Za-z_]\w*)(?:!([rsa]))?(?::([^{}]*))?$/.exec(body);
      if (!m) {
        throw new TemplateError(
          `field "{${body}}" is not supported in ${JSON.stringify(template)} (use named fields like {dag_id})`,
        );
      }
      if (m[2] === 'r' || m[2] === 'a') throw new TemplateError(`conversion !${m[2]} in "{${body}}" is not supported`);
      const spec = m[3] ?? '';
      if (spec && !/^0?\d*d?$/.test(spec))
        throw new TemplateError(`format spec ":${spec}" in "{${body}}" is not supported`);
      if (text) parts.push({ type: 'text', text });
      text = '';
      parts.push({ type: 'field', name: m[1]!, spec });
      i = close;
    } else if (c === '}') {
      if (template[i + 1] !== '}') throw new TemplateError(`single "}" at ${i} in ${JSON.stringify(template)}`);
      text += '}';
      i++;
    } else {
      text += c;
    }
  }
  if (text) parts.push({ type: 'text', text });
  return parts;
}

/** Apply an integer format spec (`03d`, `d`, ``) the way Python does for the values Airflow passes. */
export function applySpec(value: string | number, spec: string): string {
  if (!spec) return String(value);
  if (typeof value !== 'number')
    throw new TemplateError(`format spec ":${spec}" needs a number, got ${JSON.stringify(value)}`);
  const m = /^(0?)(\d*)d?$/.exec(spec)!;
  const width = m[2] ? Number(m[2]) : 0;
  const digits = String(Math.abs(value));
  const sign = value < 0 ? '-' : '';
  if (m[1] === '0') return sign + digits.padStart(width - sign.length, '0');
  return (sign + digits).padStart(width, ' ');
}
