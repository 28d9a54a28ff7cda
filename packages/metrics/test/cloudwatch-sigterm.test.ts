/**
 * A process that holds unsent metrics and gets SIGTERM: its handler's close() sends them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startFaultProxy } from '../../../test/helpers/faultproxy.ts';
import { awsEnv, testStack, useAwsEnv } from '../../../test/helpers/stack.ts';
import { readBack, readClient, sentRequests, uniqueNamespace } from './cloudwatch-helpers.ts';

test('SIGTERM: close() in the signal handler sends what was pending, then the process exits 0', async () => {
  const stack = await testStack();
  await useAwsEnv();
  const proxy = await startFaultProxy(stack.motoUrl);
  const reader = readClient(stack.motoUrl);
  const ns = uniqueNamespace('sigterm');
  const increments = 25;
  try {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./fixtures/sigterm-child.ts', import.meta.url))],
      {
        env: {
          ...process.env,
          ...(await awsEnv()),
          TEST_NAMESPACE: ns,
          TEST_INCREMENTS: String(increments),
          TEST_ENDPOINT: proxy.url,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    let stdout = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c) => {
        stdout += c;
        if (stdout.includes('ready\n')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
    });
    assert.equal(sentRequests(proxy).length, 0, 'nothing was sent before the signal');

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, stderr);
    assert.equal(sentRequests(proxy).length, 1);
    const work = await readBack(reader, ns, 'WorkDone', { Worker: 'w1' });
    assert.equal(work.sum, (increments * (increments + 1)) / 2);
    const inflight = await readBack(reader, ns, 'Inflight', { Worker: 'w1' });
    assert.equal(inflight.sum, increments);
  } finally {
    reader.destroy();
    await proxy.close();
  }
});
