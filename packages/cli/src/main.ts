import { tracing } from './tracing';
import path from 'node:path';
import { Command, Option } from 'commander';
import { demoCommand } from './commands/demo';
import { statusCommand } from './commands/status';
import { upCommand } from './commands/up';

// The CLI reads its environment here and nowhere else, like a service's config.ts.
const env = process.env;
const meshFileDefault = path.join(env.RALM_HOME ?? '.ralm', 'mesh.json');

/** Runs a command and records its exit code; tracing is flushed once it returns (its mesh has stopped), or fails. */
async function run(command: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await command();
  } finally {
    await tracing.shutdown();
  }
}

const program = new Command('ralm').description('RALM: real-time attention-based look-alike audience extension').showHelpAfterError();

const common = (cmd: Command) =>
  cmd
    .addOption(new Option('--nats <url>', 'NATS server URL(s); default: the embedded in-memory bus').env('NATS_URL'))
    .addOption(new Option('--host <host>', 'address to bind').default('127.0.0.1'))
    .addOption(new Option('--log-level <level>', 'service log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'silent']));

common(program.command('up').description('run the five services on loopback until Ctrl-C'))
  .addOption(new Option('--port-base <n>', 'gRPC ports n..n+4, metrics ports n+100..n+104; 0 = free ports').default('50051').env('RALM_PORT_BASE'))
  .option('--mesh-file <file>', 'where to record the running mesh for `ralm status`', meshFileDefault)
  .action(async (o) => {
    const portBase = Number(o.portBase);
    if (!Number.isInteger(portBase) || portBase < 0 || portBase > 65_000) program.error(`--port-base must be an integer in [0, 65000], got ${o.portBase}`);
    await run(() => upCommand({ natsUrl: o.nats, host: o.host, logLevel: o.logLevel ?? 'info', portBase, meshFile: o.meshFile, baseEnv: env }));
  });

program
  .command('status')
  .description("print each running service's grpc.health.v1 status")
  .option('--mesh-file <file>', 'the file `ralm up` wrote', meshFileDefault)
  .action(async (o) => {
    process.exitCode = await statusCommand(o.meshFile);
  });

common(program.command('demo').description('bring the mesh up, show health and a round trip, stop cleanly')).action(async (o) => {
  await run(() => demoCommand({ natsUrl: o.nats, host: o.host, logLevel: o.logLevel ?? 'warn', baseEnv: env }));
});

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`ralm: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
