import { tracing } from './tracing';
import path from 'node:path';
import { Argument, Command, Option } from 'commander';
import { DEFAULT_AB_OPTIONS as AB } from '@ralm/eval';
import { abSimCommand } from './commands/ab-sim';
import { importCommand, synthCommand } from './commands/data';
import { demoCommand } from './commands/demo';
import { evalCommand } from './commands/eval';
import { repairCommand } from './commands/repair';
import { statusCommand } from './commands/status';
import { trainCommand } from './commands/train';
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

program
  .command('repair')
  .description('salvage damaged embedded state: keep every intact bus-journal record, check the LMDB stores')
  .addOption(new Option('--state-dir <dir>', "the services' STATE_DIR").env('STATE_DIR').default('.ralm/state'))
  .action(async (o) => {
    process.exitCode = await repairCommand(o.stateDir);
  });

common(program.command('demo').description('bring the mesh up, show health and a round trip, stop cleanly')).action(async (o) => {
  await run(() => demoCommand({ natsUrl: o.nats, host: o.host, logLevel: o.logLevel ?? 'warn', baseEnv: env }));
});

/** A numeric option: the value as a number, NaN when it is not one (the config validation then names the flag). */
const num = (v: string) => (v.trim() === '' ? Number.NaN : Number(v));

program
  .command('train')
  .description('train both phases on a dataset directory and write a model directory (resumes from its checkpoint)')
  .requiredOption('--data <dir>', 'dataset directory (docs/DATA.md)')
  .requiredOption('--out <dir>', 'model directory to write')
  .addOption(new Option('--tower <tower>', 'phase-1 user tower').choices(['attention_merge', 'concatenation']).default('attention_merge'))
  .option('--user-dim <d>', 'universal embedding size d', num, 128)
  .option('--lookalike-dim <h>', 'look-alike embedding size h', num, 128)
  .option('--field-dim <m>', 'per-field embedding size m', num, 32)
  .option('--attention-size <a>', 'attention size a', num, 64)
  .option('--clusters <k>', 'seed clusters k', num, 20)
  .option('--epochs1 <n>', 'phase-1 epochs', num, 10)
  .option('--epochs2 <n>', 'phase-2 epochs', num, 10)
  .option('--batch-size <n>', 'mini-batch size', num, 256)
  .option('--lr <rate>', 'Adam learning rate', num, 0.001)
  .option('--negatives <n>', 'sampled negatives per positive (phase 1)', num, 10)
  .option('--max-positives <n>', 'most positives per user (phase 1)', num, 50)
  .option('--alpha <w>', 'weight of the global cosine', num, 0.3)
  .option('--beta <w>', 'weight of the local cosine', num, 0.7)
  .option('--temperature <tau>', 'fixed temperature; 0 = learned', num, 0)
  .option('--seed <n>', 'random seed (fixed by default, so a rerun resumes its checkpoint)', num, 1)
  .option('--validation-fraction <f>', 'share of users held out for validation', num, 0.1)
  .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', 'wasm', 'cpu']).default('auto'))
  .option('--checkpoint-dir <dir>', 'where epoch checkpoints go (default <out>.checkpoint)')
  .option('--fresh', 'ignore an existing checkpoint and start over', false)
  .action(async (o) => {
    const abort = new AbortController();
    process.on('SIGINT', () => {
      if (abort.signal.aborted) process.exit(130);
      process.stderr.write('\nstopping at the next batch (Ctrl-C again to quit at once)…\n');
      abort.abort(new Error('interrupted'));
    });
    await run(() =>
      trainCommand({
        data: o.data,
        out: o.out,
        backend: o.backend,
        checkpointDir: o.checkpointDir,
        fresh: o.fresh,
        tty: Boolean(process.stdout.isTTY),
        write: (line) => process.stdout.write(`${line}\n`),
        signal: abort.signal,
        settings: {
          dataDir: o.data,
          tower: o.tower,
          userDim: o.userDim,
          lookalikeDim: o.lookalikeDim,
          fieldDim: o.fieldDim,
          attentionSize: o.attentionSize,
          clusters: o.clusters,
          phase1Epochs: o.epochs1,
          phase2Epochs: o.epochs2,
          batchSize: o.batchSize,
          learningRate: o.lr,
          negativesPerPositive: o.negatives,
          maxPositivesPerUser: o.maxPositives,
          alpha: o.alpha,
          beta: o.beta,
          temperature: o.temperature,
          seed: o.seed,
          validationFraction: o.validationFraction,
        },
      }),
    );
  });

const print = (line: string) => process.stdout.write(`${line}\n`);

program
  .command('eval')
  .description("train and evaluate every competitor of the paper: Table 1, Figures 5 and 6, report.html")
  .requiredOption('--data <dir>', 'dataset directory (docs/DATA.md)')
  .requiredOption('--out <dir>', 'report directory to write')
  .option('--only <names>', 'comma-separated competitors: LR, Yahoo Look-alike Model, YouTube DNN, RALM with average, RALM')
  .option('--quick', 'small models and samples, for tests and smoke runs', false)
  .option('--budget-minutes <n>', 'overall time cap (LR trains fewer items, the k sweep stops early)', num)
  .option('--seed <n>', 'random seed', num, 1)
  .option('--fresh-days <n>', 'real-time protocol: an item is fresh when its first event is within n days before the cutoff (default 4)', num)
  .option('--fresh-min-seeds <n>', 'real-time protocol: seeds before the cutoff a fresh item needs (default 50)', num)
  .option('--prior-weight <g>', 'γ of the "+ seed-count prior" row: score + γ·ln(1 + seeds) (default 0.05)', num)
  .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', 'wasm', 'cpu']).default('auto'))
  .action(async (o) => {
    await run(() =>
      evalCommand({
        data: o.data, out: o.out, only: o.only, quick: o.quick, budgetMinutes: o.budgetMinutes, seed: o.seed, backend: o.backend, write: print,
        freshDays: o.freshDays, freshMinSeeds: o.freshMinSeeds, priorWeight: o.priorWeight,
      }),
    );
  });

program
  .command('ab-sim')
  .description("estimate the paper's Table 2 (online A/B) by replaying held-out days against control and look-alike treatment: a SIMULATION with a learned response model")
  .option('--data <dir>', 'dataset directory (required)')
  .option('--model <dir>', 'model directory, or a model root whose newest model is used (required)')
  .option('--out <dir>', 'report directory to write: ab.json, ab.md (required)')
  .option('--days <n>', "held-out days to replay, the last n UTC days (default: from the `ralm eval` split's cutoff, about the last 20% of events)", num)
  .option('--extension-share <f>', 'share of treatment slots given to look-alike long-tail items', num, AB.extensionShare)
  .option('--min-seeds <n>', 'seeds (distinct clickers so far) a long-tail item needs to be extended', num, AB.minSeeds)
  .option('--head-share <f>', 'share of items, most clicked first, that are the popularity head (the rest is the long tail)', num, AB.headShare)
  .option('--threshold <score>', 'lowest look-alike score an extension needs', num, AB.threshold)
  .option('--engagement <p>', 'probability that a click grants one more impression that day', num, AB.engagement)
  .option('--bootstrap <B>', 'user-level bootstrap replicates for the 95% intervals', num, AB.bootstrap)
  .option('--seed <n>', 'random seed', num, AB.seed)
  .option('--salt <salt>', 'arm assignment salt', AB.salt)
  .option('--arms <spec>', 'arms and weights: control and treatment', AB.arms)
  .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', 'wasm', 'cpu']).default('auto'))
  .action(async (o) => {
    await run(() => abSimCommand({ ...o, write: print, error: (line) => process.stderr.write(`${line}\n`) }));
  });

const data = program.command('data').description('make datasets: synthetic, or imported from public logs');
data
  .command('synth')
  .description('a deterministic synthetic dataset with multi-modal seeds and a long tail')
  .requiredOption('--users <n>', 'users', num)
  .requiredOption('--items <n>', 'items', num)
  .option('--seed <n>', 'random seed', num, 1)
  .addOption(new Option('--generator <version>', 'v2: item lifetimes, one exposure per pair, non-linear clicks, 14 fields (docs/DATA.md); v1: the first generator').choices(['v1', 'v2']).default('v2'))
  .requiredOption('--out <dir>', 'dataset directory to write')
  .action(async (o) => {
    await run(() => synthCommand({ users: o.users, items: o.items, seed: o.seed, generator: o.generator, out: o.out, write: print }));
  });
data
  .command('import')
  .description('import MovieLens (GroupLens files or the dslabs joined table) or the Tencent 2018 look-alike layout')
  .addArgument(new Argument('<kind>', 'layout').choices(['movielens', 'tencent']))
  .requiredOption('--input <path>', 'file or directory to read')
  .requiredOption('--out <dir>', 'dataset directory to write')
  .option('--read-threshold <rating>', 'MovieLens: a rating at or above this counts as a read', num)
  .action(async (kind, o) => {
    await run(() => importCommand({ kind, input: o.input, out: o.out, readThreshold: o.readThreshold, write: print }));
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`ralm: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
