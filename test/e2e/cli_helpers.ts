/** Runs the real CLI (bin/memsleuth.js) as a child, the way a user does, and returns what it printed. */
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../corpus.js';

export interface CliResult { code: number | null; stdout: string; stderr: string }

export function runCli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'memsleuth.js'), ...args], {
    encoding: 'utf8',
    input: options.input,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    timeout: options.timeoutMs ?? 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same, without blocking the test's event loop (for tests that serve or watch something meanwhile). */
export function runCliAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(repoRoot, 'bin', 'memsleuth.js'), ...args],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1', ...env } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
        resolve({ code, stdout, stderr });
      });
  });
}
