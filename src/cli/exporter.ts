/**
 * `memsleuth exporter --config targets.yml`: serve /probe?target=NAME for Prometheus (the multi-target exporter
 * pattern), sampling each target through its transport with the capture path `record` uses.
 */
import { readFileSync } from 'node:fs';
import type { CommandSpec } from './command.js';
import { EXIT_OK } from './command.js';
import { InputError } from '../model/errors.js';
import type { ExporterTargetConfig } from '../serve/exporter_config.js';
import type { ProbeTarget } from '../serve/exporter.js';

interface ExporterFlags { config: string; listen?: string }

/** A target from the config, opened as `record --via/--serial` would open it, with a planner that reads every file each probe. */
export async function openProbeTarget(cfg: ExporterTargetConfig): Promise<ProbeTarget> {
  const { openTarget } = await import('./target_options.js');
  const { SamplePlanner } = await import('../sources/sample_planner.js');
  const { target } = await openTarget({
    ...(cfg.via !== undefined ? { via: cfg.via } : {}), ...(cfg.serial !== undefined ? { serial: cfg.serial } : {}),
    baud: cfg.baud ?? 115200, ...(cfg.login !== undefined ? { login: cfg.login } : {}),
    pid: [], comm: [], watchFile: [], proc: cfg.proc ?? '/proc', name: cfg.name,
  });
  // Every probe reads every process and vmallocinfo: a series missing from one scrape is a gap in Prometheus.
  const planner = new SamplePlanner({ rollupEvery: 1, vmallocEvery: 1, pagetypeEvery: 1_000_000, maxSmapsSuspects: 0, budgetMs: 5000 });
  return {
    async sample() {
      const plan = planner.plan();
      const r = await target.sample(plan);
      planner.observe(plan, { snapshot: r.snapshot, durationMs: r.durationMs });
      return { snapshot: r.snapshot, durationMs: r.durationMs, unreadable: r.unreadable };
    },
    close: () => target.close(),
  };
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`Cannot read --listen "${text}": expected HOST:PORT, e.g. 127.0.0.1:9840 or :9840`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export const exporterCommand: CommandSpec = {
  name: 'exporter',
  define(cmd, setExitCode) {
    cmd
      .description('serve /probe?target=NAME to Prometheus for boards that cannot run node_exporter (multi-target exporter)')
      .requiredOption('--config <file>', 'the targets: YAML (a documented subset) or JSON; see examples/prometheus/memsleuth_exporter.yml')
      .option('--listen <host:port>', 'address to serve on (default: "listen" of the config, else 127.0.0.1:9840)')
      .addHelpText('after', '\nExample:\n  memsleuth exporter --config /etc/memsleuth/targets.yml --listen :9840\n  curl "http://localhost:9840/probe?target=cam-01"\n\nPrometheus scrapes it like blackbox_exporter: params {target: [NAME]}, relabel __param_target to instance\n(examples/prometheus/prometheus.yml).')
      .action(async (flags: ExporterFlags) => {
        const { parseExporterConfig } = await import('../serve/exporter_config.js');
        let text: string;
        try {
          text = readFileSync(flags.config, 'utf8');
        } catch (err) {
          throw new InputError(`Cannot read --config "${flags.config}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
        }
        const config = parseExporterConfig(text, flags.config);
        const listen = parseListen(flags.listen ?? config.listen ?? '127.0.0.1:9840');
        const { Exporter } = await import('../serve/exporter.js');
        const exporter = new Exporter(config, openProbeTarget, { log: (l) => process.stderr.write(`memsleuth exporter: ${l}\n`) });
        const addr = await exporter.listen(listen.host, listen.port);
        process.stderr.write(`memsleuth exporter: serving ${config.targets.size} targets on http://${addr.host}:${addr.port}/probe?target=NAME\n`);
        await new Promise<void>((resolve) => {
          const stop = (): void => { process.removeListener('SIGINT', stop); process.removeListener('SIGTERM', stop); resolve(); };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await exporter.close();
        setExitCode(EXIT_OK);
      });
  },
};
