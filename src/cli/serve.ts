/**
 * `memsleuth serve --db FILE`: the live dashboard and Prometheus /metrics of a recording file, while a
 * recorder writes it or after. Runs until SIGINT/SIGTERM, then closes the server and the database.
 */
import type { CommandSpec } from './command.js';
import { EXIT_OK } from './command.js';
import { InputError } from '../model/errors.js';
import { count, port } from './option_types.js';

export interface ServeFlags { db: string; listen?: string; port: number; token?: string; recording?: number }

export const DEFAULT_PORT = 7411;

/** "ADDR", "ADDR:PORT" or "[v6]:PORT" -> address and optional port. */
export function parseListen(text: string): { host: string; port?: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const v4 = /^([^:]+):(\d+)$/.exec(text);
  const m = v6 ?? v4;
  if (!m) return { host: text };
  return m[2] === undefined ? { host: m[1] ?? text } : { host: m[1] ?? text, port: Number(m[2]) };
}


export const serveCommand: CommandSpec = {
  name: 'serve',
  define(cmd, setExitCode) {
    cmd
      .description('live dashboard and Prometheus /metrics of a recording database')
      .requiredOption('--db <file>', 'the recording database (memsleuth record --db FILE)')
      .option('--listen <addr>', 'address to bind (default 127.0.0.1); any other address requires a token')
      .option('--port <n>', 'port (0: any free one)', port('--port'), DEFAULT_PORT)
      .option('--token <token>', 'access token (generated when --listen is not loopback and none is given)')
      .option('--recording <id>', 'recording shown by default (default: the last)', count('--recording'))
      .addHelpText('after', '\nExamples:\n  memsleuth serve --db .memsleuth/cam-01-20250101-101500.db\n  memsleuth serve --db cam.db --listen 0.0.0.0 --port 9100   # prints the URL with its token; scrape /metrics with a bearer token')
      .action(async (flags: ServeFlags) => {
        const listen = flags.listen !== undefined ? parseListen(flags.listen) : { host: '127.0.0.1' };
        const listenPort = listen.port !== undefined ? port('--listen')(String(listen.port)) : undefined;
        const recordingId = flags.recording;
        if (recordingId !== undefined) {
          const { openStore } = await import('../store/store.js');
          const store = openStore(flags.db, { readonly: true });
          const ids = store.listRecordings().map((r) => r.id);
          store.close();
          if (!ids.includes(recordingId)) throw new InputError(`--recording ${recordingId}: "${flags.db}" has no such recording (it has ${ids.join(', ') || 'none'})`);
        }
        const { startDashboard } = await import('../serve/server.js');
        const d = await startDashboard({
          dbPath: flags.db, listen: listen.host, port: listenPort ?? flags.port,
          ...(flags.token !== undefined ? { token: flags.token } : {}), ...(recordingId !== undefined ? { recordingId } : {}),
        });
        process.stdout.write(`memsleuth dashboard: ${d.url}\n`);
        process.stdout.write(`Prometheus metrics: ${d.url.replace(/\/(\?.*)?$/, '/metrics')}${d.token !== undefined ? ' (send "Authorization: Bearer <token>")' : ''}\n`);
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            resolve();
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        await d.close();
        setExitCode(EXIT_OK);
      });
  },
};
