/**
 * A fault-injecting HTTP proxy on loopback, for testing AWS clients against moto (or any HTTP
 * server): it forwards requests unchanged, records every request it received (with its body), and
 * can answer a scripted request with a fault instead: an HTTP status, a throttling error in the
 * request's own AWS protocol, a connection reset, a slow answer, or no answer at all.
 */
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the proxy does with one request. */
export type Fault =
  | { kind: 'pass' }
  /** Answer with this status (e.g. 503) without forwarding. */
  | { kind: 'status'; status: number; body?: string; contentType?: string }
  /** Answer with the AWS throttling error of the request's protocol (JSON 1.0/1.1, query, or REST/S3). */
  | { kind: 'throttle' }
  /** Destroy the connection without forwarding (the client sees ECONNRESET / socket hang up). */
  | { kind: 'reset' }
  /** Forward, then hold the answer for `delayMs`. */
  | { kind: 'slow'; delayMs: number }
  /** Never answer (the client must time out); the request is not forwarded. */
  | { kind: 'timeout' };

/** One request as the proxy received it. */
export interface RecordedRequest {
  /** 0-based order of arrival. */
  index: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  fault: Fault['kind'];
  /** The status sent back (undefined for reset and timeout). */
  status?: number;
}

/** Decides the fault for the request with this 0-based index; undefined means pass. */
export type FaultScript = (
  index: number,
  req: { method: string; path: string; headers: IncomingHttpHeaders },
) => Fault | undefined;

/** A running proxy. */
export interface FaultProxy {
  /** Base URL to give the client as its endpoint. */
  url: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Replaces the script (request indexes keep counting from where they are). */
  setScript(script: FaultScript): void;
  close(): Promise<void>;
}

/** A script that applies `faults[i]` to the i-th request and passes everything after them. */
export function faultSequence(faults: readonly Fault[]): FaultScript {
  return (i) => faults[i];
}

function throttleAnswer(headers: IncomingHttpHeaders): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const type = String(headers['content-type'] ?? '');
  const requestId = randomUUID();
  if (type.startsWith('application/x-amz-json')) {
    // AWS JSON protocol; CloudWatch is "query compatible" and names the query error in a header.
    return {
      status: 400,
      headers: { 'content-type': type, 'x-amzn-requestid': requestId, 'x-amzn-query-error': 'Throttling;Sender' },
      body: JSON.stringify({ __type: 'com.amazon.coral.availability#ThrottlingException', message: 'Rate exceeded' }),
    };
  }
  if (type.startsWith('application/x-www-form-urlencoded')) {
    return {
      status: 400,
      headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
      body: `<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    };
  }
  // REST-XML services (S3) throttle with 503 SlowDown.
  return {
    status: 503,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
    body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>${requestId}</RequestId></Error>`,
  };
}

/** Starts a proxy on 127.0.0.1 (a free port) in front of `target` (e.g. the stack's motoUrl). */
export async function startFaultProxy(target: string, script: FaultScript = () => undefined): Promise<FaultProxy> {
  const upstream = new URL(target);
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let current = script;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const index = requests.length;
      const meta = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers };
      const fault = current(index, meta) ?? { kind: 'pass' };
      const rec: RecordedRequest = { index, ...meta, body: Buffer.concat(chunks), fault: fault.kind };
      requests.push(rec);
      const answer = (status: number, headers: Record<string, string>, body: string | Buffer) => {
        rec.status = status;
        res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
        res.end(body);
      };
      switch (fault.kind) {
        case 'status':
          answer(fault.status, { 'content-type': fault.contentType ?? 'text/plain' }, fault.body ?? 'injected fault');
          return;
        case 'throttle': {
          const t = throttleAnswer(req.headers);
          answer(t.status, t.headers, t.body);
          return;
        }
        case 'reset':
          req.socket.destroy();
          return;
        case 'timeout':
          return;
        default: {
          const up = httpRequest(
            {
              host: upstream.hostname,
              port: upstream.port,
              method: req.method,
              path: req.url,
              headers: req.headers,
            },
            (upRes) => {
              const body: Buffer[] = [];
              upRes.on('data', (c: Buffer) => body.push(c));
              upRes.on('end', () => {
                const send = () => {
                  rec.status = upRes.statusCode ?? 502;
                  const headers = { ...upRes.headers };
                  delete headers['transfer-encoding'];
                  const buf = Buffer.concat(body);
                  headers['content-length'] = String(buf.length);
                  if (!res.destroyed) {
                    res.writeHead(rec.status, headers);
                    res.end(buf);
                  }
                };
                if (fault.kind === 'slow') {
                  const t = setTimeout(() => {
                    timers.delete(t);
                    send();
                  }, fault.delayMs);
                  timers.add(t);
                } else send();
              });
            },
          );
          up.on('error', (err) => {
            rec.status = 502;
            if (!res.headersSent) answer(502, { 'content-type': 'text/plain' }, `proxy: ${err.message}`);
          });
          up.end(rec.body);
        }
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setScript(s) {
      current = s;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
