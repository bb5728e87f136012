/**
 * Static checks of the image definitions (Dockerfile, Dockerfile.trainer-gpu,
 * .dockerignore): no Docker needed. Each check is a function returning the problems it
 * finds; the repository's files must have none, and the "catches" block feeds each check
 * a bad Dockerfile so every assertion is shown able to fail.
 */
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const SERVICES = ['user-embedding', 'seed-collector', 'clusterer', 'lookalike-scorer', 'trainer'];
const DOCKERFILES = ['Dockerfile', 'Dockerfile.trainer-gpu'];

// ---------------------------------------------------------------------------------------
// A small Dockerfile parser: comments, line continuations, stages, ARG defaults.
// ---------------------------------------------------------------------------------------

interface Instruction {
  /** Upper-cased keyword: FROM, RUN, COPY... */
  cmd: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
}

interface Stage {
  index: number;
  name?: string;
  /** The FROM image with global ARG defaults substituted. */
  image: string;
  instructions: Instruction[];
}

interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Map<string, string | undefined>;
  stages: Stage[];
}

function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!.trim();
    if (first === '' || first.startsWith('#')) continue;
    const start = i + 1;
    let joined = lines[i]!.trimEnd();
    while (joined.endsWith('\\') && i + 1 < lines.length) {
      joined = joined.slice(0, -1);
      i++;
      // Comment lines inside a continued instruction are dropped, as Docker does.
      if (lines[i]!.trim().startsWith('#')) {
        joined += '\\';
        continue;
      }
      joined += ' ' + lines[i]!.trim();
    }
    const match = /^\s*(\S+)\s*([\s\S]*)$/.exec(joined)!;
    out.push({ cmd: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start });
  }
  return out;
}

/** Substitutes $VAR, ${VAR} and ${VAR:-default} from `vars`; unknown ones stay as written. */
function substitute(value: string, vars: Map<string, string | undefined>): string {
  return value.replace(/\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)/g, (whole, braced: string, fallback: string | undefined, bare: string) => {
    const name = braced ?? bare;
    const v = vars.get(name);
    if (v !== undefined && v !== '') return v;
    return fallback ?? whole;
  });
}

function parseArgDecl(args: string): [string, string | undefined] {
  const eq = args.indexOf('=');
  if (eq < 0) return [args.trim(), undefined];
  return [args.slice(0, eq).trim(), unquote(args.slice(eq + 1).trim())];
}

function unquote(s: string): string {
  return /^(["']).*\1$/.test(s) ? s.slice(1, -1) : s;
}

function parseDockerfile(text: string): Dockerfile {
  const globalArgs = new Map<string, string | undefined>();
  const stages: Stage[] = [];
  for (const ins of instructions(text)) {
    if (ins.cmd === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--platform'));
      const as = words.findIndex((w) => w.toLowerCase() === 'as');
      stages.push({
        index: stages.length,
        name: as >= 0 ? words[as + 1] : undefined,
        image: substitute(words[0]!, globalArgs),
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (ins.cmd === 'ARG') {
        const [name, value] = parseArgDecl(ins.args);
        globalArgs.set(name, value);
      }
    } else {
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/** Shell-like words: whitespace separated, quotes kept together and removed. */
function words(s: string): string[] {
  return [...s.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** ENV of one stage, in order (`ENV a=1 b=2` and the legacy `ENV a 1`). */
function envOf(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const ins of stage.instructions.filter((i) => i.cmd === 'ENV')) {
    const ws = words(ins.args);
    if (ws.length >= 1 && !ws[0]!.includes('=')) {
      env.set(ws[0]!, ws.slice(1).join(' '));
      continue;
    }
    for (const w of ws) {
      const eq = w.indexOf('=');
      if (eq > 0) env.set(w.slice(0, eq), w.slice(eq + 1));
    }
  }
  return env;
}

/** The sources of a COPY/ADD (flags dropped, the destination dropped). */
function copySources(ins: Instruction): { from?: string; sources: string[] } {
  const ws = words(ins.args);
  let from: string | undefined;
  const rest: string[] = [];
  for (const w of ws) {
    if (w.startsWith('--from=')) from = w.slice('--from='.length);
    else if (!w.startsWith('--')) rest.push(w);
  }
  return { from, sources: rest.slice(0, -1) };
}

function execForm(ins: Instruction | undefined): string[] | undefined {
  if (!ins) return undefined;
  try {
    const parsed: unknown = JSON.parse(ins.args);
    return Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? (parsed as string[]) : undefined;
  } catch {
    return undefined;
  }
}

const finalStage = (df: Dockerfile) => df.stages[df.stages.length - 1]!;
const last = (stage: Stage, cmd: string) => [...stage.instructions].reverse().find((i) => i.cmd === cmd);

// ---------------------------------------------------------------------------------------
// The checks. Each returns its problems; [] means fine.
// ---------------------------------------------------------------------------------------

/** Every base image is an earlier stage or an image pinned to a tag other than latest (or a digest). */
function checkBaseImages(df: Dockerfile): string[] {
  const problems: string[] = [];
  df.stages.forEach((stage) => {
    const earlier = df.stages.slice(0, stage.index).some((s) => s.name === stage.image);
    if (earlier) return;
    if (stage.image.includes('$')) return void problems.push(`FROM ${stage.image}: unresolved variable (give the ARG a default)`);
    if (stage.image === 'scratch') return;
    const [name, digest] = stage.image.split('@');
    if (digest !== undefined) {
      if (!/^sha256:[0-9a-f]{64}$/.test(digest)) problems.push(`FROM ${stage.image}: malformed digest`);
      return;
    }
    const lastPart = name!.slice(name!.lastIndexOf('/') + 1);
    const tag = lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : undefined;
    if (tag === undefined) problems.push(`FROM ${stage.image}: no tag (implicitly latest)`);
    else if (tag === 'latest') problems.push(`FROM ${stage.image}: the latest tag`);
  });
  return problems;
}

/** The final stage runs as a numeric, non-zero UID (and GID when given). */
function checkRuntimeUser(df: Dockerfile): string[] {
  const user = last(finalStage(df), 'USER');
  if (!user) return ['final stage has no USER: it would run as root'];
  const m = /^(\d+)(?::(\d+))?$/.exec(user.args.trim());
  if (!m) return [`USER ${user.args}: not numeric uid[:gid] (runAsNonRoot cannot verify a name)`];
  const problems: string[] = [];
  if (Number(m[1]) === 0) problems.push(`USER ${user.args}: uid 0 is root`);
  if (m[2] !== undefined && Number(m[2]) === 0) problems.push(`USER ${user.args}: gid 0 is root's group`);
  return problems;
}

/** No ADD of remote URLs or git repositories (unverified downloads). */
function checkNoRemoteAdd(df: Dockerfile): string[] {
  return df.stages.flatMap((s) =>
    s.instructions
      .filter((i) => i.cmd === 'ADD' && copySources(i).sources.some((src) => /^(https?:\/\/|git@|git:\/\/)/i.test(src)))
      .map((i) => `line ${i.line}: ADD ${i.args}: remote source`),
  );
}

/** HEALTHCHECK absent or NONE: Kubernetes probes the gRPC health service. */
function checkHealthcheck(df: Dockerfile): string[] {
  return df.stages.flatMap((s) =>
    s.instructions
      .filter((i) => i.cmd === 'HEALTHCHECK' && i.args.trim().toUpperCase() !== 'NONE')
      .map((i) => `line ${i.line}: HEALTHCHECK ${i.args}: probes belong to Kubernetes (drop it or say NONE)`),
  );
}

/** COPY --from names an earlier stage (by name or index). */
function checkCopyFrom(df: Dockerfile): string[] {
  const problems: string[] = [];
  for (const stage of df.stages) {
    for (const ins of stage.instructions.filter((i) => i.cmd === 'COPY')) {
      const { from } = copySources(ins);
      if (from === undefined) continue;
      const earlier = df.stages.slice(0, stage.index);
      const ok = /^\d+$/.test(from) ? Number(from) < stage.index : earlier.some((s) => s.name === from);
      if (!ok) problems.push(`line ${ins.line}: COPY --from=${from}: no earlier stage of that name`);
    }
  }
  return problems;
}

/** ENTRYPOINT is tini (PID 1 forwarding SIGTERM), in exec form. */
function checkInit(df: Dockerfile): string[] {
  const entry = execForm(last(finalStage(df), 'ENTRYPOINT'));
  if (!entry) return ['final stage: no exec-form ENTRYPOINT'];
  return path.basename(entry[0]!) === 'tini' && entry.includes('--') ? [] : [`ENTRYPOINT ${JSON.stringify(entry)}: not tini --`];
}

/**
 * The service entry file(s) CMD starts, one per service: `services/<x>/src/main.ts`,
 * where <x> is literal or a variable the final stage sets from `ARG SERVICE`.
 */
function cmdEntryFiles(df: Dockerfile, services: string[]): { files: string[]; problems: string[] } {
  const stage = finalStage(df);
  const cmd = execForm(last(stage, 'CMD'));
  if (!cmd) return { files: [], problems: ['final stage: no exec-form CMD'] };
  const joined = cmd.join(' ');
  if (!/\bnode\b.*--import[ =]tsx\b/.test(joined)) return { files: [], problems: [`CMD ${joined}: does not run node --import tsx`] };
  const m = /services\/(\$\{\w+\}|\$\w+|[\w-]+)\/src\/main\.ts/.exec(joined);
  if (!m) return { files: [], problems: [`CMD ${joined}: names no services/<name>/src/main.ts`] };
  const part = m[1]!;
  if (!part.startsWith('$')) return { files: [m[0]], problems: [] };
  const variable = part.replace(/^\$\{?|\}$/g, '');
  const setFromArg =
    stage.instructions.some((i) => i.cmd === 'ARG' && parseArgDecl(i.args)[0] === 'SERVICE') &&
    (variable === 'SERVICE' || /^\$\{?SERVICE\}?$/.test(envOf(stage).get(variable) ?? ''));
  if (!setFromArg) return { files: [], problems: [`CMD uses $${variable}, which the final stage does not set from ARG SERVICE`] };
  return { files: services.map((s) => m[0].replace(part, s)), problems: [] };
}

/** Minimal .dockerignore semantics: last matching pattern wins, a match on a parent directory counts. */
function dockerIgnored(patterns: string[], file: string): boolean {
  const toRegex = (p: string) =>
    new RegExp(
      '^' +
        p
          .split(/(\*\*\/|\*\*|\*|\?)/)
          .map((part) =>
            part === '**/' ? '(?:.*/)?' : part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
          )
          .join('') +
        '$',
    );
  const rules = patterns
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const p = path.posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/+$/, '');
      return { negate, re: toRegex(p) };
    });
  const segments = path.posix.normalize(file).replace(/\/+$/, '').split('/');
  const prefixes = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) if (prefixes.some((p) => rule.re.test(p))) ignored = !rule.negate;
  return ignored;
}

function workspaceDirs(): string[] {
  const { workspaces } = JSON.parse(read('package.json')) as { workspaces: string[] };
  return workspaces.flatMap((glob) => {
    const base = glob.replace(/\/\*$/, '');
    return fs
      .readdirSync(path.join(ROOT, base))
      .map((d) => `${base}/${d}`)
      .filter((d) => fs.existsSync(path.join(ROOT, d, 'package.json')));
  });
}

/** Every workspace manifest is copied before the first `npm ci` (which fails on a missing one). */
function checkManifestsBeforeNpmCi(df: Dockerfile, workspaces: string[]): string[] {
  for (const stage of df.stages) {
    const ci = stage.instructions.findIndex((i) => i.cmd === 'RUN' && /\bnpm ci\b/.test(i.args));
    if (ci < 0) continue;
    const copied = new Set(
      stage.instructions
        .slice(0, ci)
        .filter((i) => i.cmd === 'COPY' && copySources(i).from === undefined)
        .flatMap((i) => copySources(i).sources.map((s) => path.posix.normalize(s))),
    );
    const needed = ['package.json', 'package-lock.json', ...workspaces.map((w) => `${w}/package.json`)];
    return needed.filter((n) => !copied.has(n)).map((n) => `${n} is not copied before npm ci`);
  }
  return ['no stage runs npm ci'];
}

const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version?: string; dev?: boolean; devOptional?: boolean }> };
const ignorePatterns = read('.dockerignore').split('\n');

// ---------------------------------------------------------------------------------------
// The repository's files.
// ---------------------------------------------------------------------------------------

describe.each(DOCKERFILES)('%s', (file) => {
  const df = parseDockerfile(read(file));

  it('has a build and a runtime stage', () => {
    expect(df.stages.length).toBeGreaterThanOrEqual(2);
    expect(finalStage(df).name).toBe('runtime');
  });

  it('pins every base image to a tag, never latest', () => {
    expect(checkBaseImages(df)).toEqual([]);
  });

  it('runs the runtime stage as a numeric non-root user', () => {
    expect(checkRuntimeUser(df)).toEqual([]);
  });

  it('downloads nothing with ADD', () => {
    expect(checkNoRemoteAdd(df)).toEqual([]);
  });

  it('leaves health checks to Kubernetes', () => {
    expect(checkHealthcheck(df)).toEqual([]);
  });

  it('copies --from existing earlier stages only', () => {
    expect(checkCopyFrom(df)).toEqual([]);
  });

  it('runs tini as PID 1', () => {
    expect(checkInit(df)).toEqual([]);
  });

  it('copies every workspace manifest before npm ci, and runs no install script but the chosen ones', () => {
    expect(checkManifestsBeforeNpmCi(df, workspaceDirs())).toEqual([]);
    const ci = df.stages.flatMap((s) => s.instructions).find((i) => i.cmd === 'RUN' && /\bnpm ci\b/.test(i.args))!;
    expect(ci.args).toMatch(/npm ci\b[^&;|]*--ignore-scripts/);
  });

  it('copies only sources that exist and that .dockerignore lets through', () => {
    const sources = df.stages.flatMap((s) =>
      s.instructions.filter((i) => i.cmd === 'COPY' && copySources(i).from === undefined).flatMap((i) => copySources(i).sources),
    );
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.filter((s) => !fs.existsSync(path.join(ROOT, s)))).toEqual([]);
    expect(sources.filter((s) => dockerIgnored(ignorePatterns, s))).toEqual([]);
  });

  it('sets the container defaults: production, 0.0.0.0:50051, metrics 9464, volumes under /var/lib/ralm, no tsx cache', () => {
    const stage = finalStage(df);
    const env = envOf(stage);
    expect(env.get('NODE_ENV')).toBe('production');
    expect(env.get('GRPC_HOST')).toBe('0.0.0.0');
    expect(env.get('GRPC_PORT')).toBe('50051');
    expect(env.get('METRICS_PORT')).toBe('9464');
    for (const key of ['STATE_DIR', 'MODEL_ROOT', 'TRAINING_WORK_DIR', 'TRAINING_DATA_ROOT']) expect(env.get(key)).toMatch(/^\/var\/lib\/ralm\/[\w.-]+$/);
    expect(env.get('TSX_DISABLE_CACHE')).toBeTruthy();
    expect(env.get('TSX_TSCONFIG_PATH')).toBe('/app/tsconfig.json');
    const workdir = last(stage, 'WORKDIR')?.args;
    expect(workdir).toBe('/app');
    const exposed = stage.instructions.filter((i) => i.cmd === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    expect(exposed).toEqual(expect.arrayContaining(['50051', '9464']));
  });
});

describe('Dockerfile (the five services)', () => {
  const df = parseDockerfile(read('Dockerfile'));

  it('starts services/<SERVICE>/src/main.ts, which exists for each of the five', () => {
    const { files, problems } = cmdEntryFiles(df, SERVICES);
    expect(problems).toEqual([]);
    expect(files).toHaveLength(SERVICES.length);
    expect(files.filter((f) => !fs.existsSync(path.join(ROOT, f)))).toEqual([]);
  });

  it('builds from node:20-bookworm-slim with the OpenBLAS addon, and ships libopenblas0 only', () => {
    expect(df.stages.map((s) => s.image)).toEqual(expect.arrayContaining(['node:20-bookworm-slim']));
    const runs = (s: Stage) => s.instructions.filter((i) => i.cmd === 'RUN').map((i) => i.args).join('\n');
    const build = df.stages.find((s) => s.name === 'build')!;
    expect(runs(build)).toMatch(/libopenblas-dev/);
    expect(runs(build)).toMatch(/packages\/kernel\/native\/build\.sh/);
    expect(runs(build)).toMatch(/npm prune --omit=dev/);
    expect(runs(finalStage(df))).toMatch(/\blibopenblas0\b/);
    expect(runs(finalStage(df))).not.toMatch(/-dev\b|build-essential/);
  });
});

describe('Dockerfile.trainer-gpu', () => {
  const df = parseDockerfile(read('Dockerfile.trainer-gpu'));
  const tfjs = lock.packages['node_modules/@tensorflow/tfjs']?.version;

  it('starts the trainer', () => {
    const { files, problems } = cmdEntryFiles(df, SERVICES);
    expect(problems).toEqual([]);
    expect(files).toEqual(['services/trainer/src/main.ts']);
    expect(fs.existsSync(path.join(ROOT, files[0]!))).toBe(true);
  });

  it('runs on a CUDA 11 + cuDNN 8 base (libtensorflow 2.9 loads libcudart.so.11.0 and libcudnn.so.8)', () => {
    expect(finalStage(df).image).toMatch(/^nvidia\/cuda:11\.\d+(\.\d+)?-cudnn8-runtime-ubuntu\d+\.\d+$/);
  });

  it('installs @tensorflow/tfjs-node-gpu at the version of @tensorflow/tfjs in package-lock.json', () => {
    expect(tfjs).toMatch(/^\d+\.\d+\.\d+$/);
    const argDecl = df.stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.cmd === 'ARG')
      .map((i) => parseArgDecl(i.args))
      .find(([name]) => name === 'TFJS_NODE_GPU_VERSION');
    expect(argDecl?.[1]).toBe(tfjs);
    const install = df.stages
      .flatMap((s) => s.instructions)
      .find((i) => i.cmd === 'RUN' && /\bnpm (rebuild|install|i|add)\b[^&;|]*@tensorflow\/tfjs-node-gpu/.test(i.args));
    expect(install).toBeDefined();
    if (/npm rebuild/.test(install!.args)) {
      // rebuild runs the install script of the lockfile's copy: that copy must be the version,
      // and the step must check what it got against the ARG.
      expect(lock.packages['node_modules/@tensorflow/tfjs-node-gpu']?.version).toBe(tfjs);
      expect(install!.args).toMatch(/TFJS_NODE_GPU_VERSION/);
    } else {
      const spec = /@tensorflow\/tfjs-node-gpu@(\S+)/.exec(install!.args)?.[1];
      expect(spec && substitute(spec, new Map([['TFJS_NODE_GPU_VERSION', argDecl?.[1]]]))).toBe(tfjs);
    }
  });
});

describe('.dockerignore and the lockfile', () => {
  it('keeps node_modules (any depth), .git, local state and the host-built addon out of the context', () => {
    for (const p of ['node_modules', 'node_modules/tsx/package.json', 'packages/model/node_modules/x', '.git', '.git/HEAD', '.ralm/state', 'packages/kernel/build/Release/ralm_kernel.node']) {
      expect([p, dockerIgnored(ignorePatterns, p)]).toEqual([p, true]);
    }
    for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'proto/ralm/v1/trainer.proto', 'proto/gen/ts/ralm/v1/trainer.ts', 'packages/kernel/native/kernel.c', 'services/trainer/src/main.ts']) {
      expect([p, dockerIgnored(ignorePatterns, p)]).toEqual([p, false]);
    }
  });

  it('keeps tsx and esbuild as production dependencies, so npm prune --omit=dev leaves them in the image', () => {
    for (const name of ['tsx', 'esbuild', '@esbuild/linux-x64']) {
      const entry = lock.packages[`node_modules/${name}`];
      expect([name, entry !== undefined && !entry.dev && !entry.devOptional]).toEqual([name, true]);
    }
  });
});

// ---------------------------------------------------------------------------------------
// Each check fails on what it is meant to catch.
// ---------------------------------------------------------------------------------------

describe('the checks catch', () => {
  const df = (text: string) => parseDockerfile(text);

  it('an unpinned, latest or unresolved base image', () => {
    expect(checkBaseImages(df('FROM node\nFROM node:latest AS b\nFROM ${IMG} AS c\nFROM b'))).toHaveLength(3);
    expect(checkBaseImages(df('ARG IMG=node:20-bookworm-slim\nFROM ${IMG} AS a\nFROM a\nFROM registry:5000/x/y@sha256:' + 'a'.repeat(64)))).toEqual([]);
    expect(checkBaseImages(df('FROM registry:5000/ralm/node'))).toHaveLength(1);
  });

  it('a root, named or missing USER in the final stage', () => {
    expect(checkRuntimeUser(df('FROM a:1\nUSER 10001\nFROM b:1 AS runtime'))).toHaveLength(1);
    expect(checkRuntimeUser(df('FROM a:1\nUSER node'))).toHaveLength(1);
    expect(checkRuntimeUser(df('FROM a:1\nUSER 0:0'))).toHaveLength(2);
    expect(checkRuntimeUser(df('FROM a:1\nUSER 10001:0'))).toHaveLength(1);
    expect(checkRuntimeUser(df('FROM a:1\nUSER 10001:10001'))).toEqual([]);
  });

  it('ADD of a URL', () => {
    expect(checkNoRemoteAdd(df('FROM a:1\nADD https://example.com/x.tgz /x'))).toHaveLength(1);
    expect(checkNoRemoteAdd(df('FROM a:1\nADD --chown=1:1 \\\n  http://example.com/x /x'))).toHaveLength(1);
    expect(checkNoRemoteAdd(df('FROM a:1\nADD local.tgz /x'))).toEqual([]);
  });

  it('a HEALTHCHECK command', () => {
    expect(checkHealthcheck(df('FROM a:1\nHEALTHCHECK CMD curl -f http://localhost/'))).toHaveLength(1);
    expect(checkHealthcheck(df('FROM a:1\nHEALTHCHECK NONE'))).toEqual([]);
  });

  it('COPY --from a stage that does not exist or comes later', () => {
    expect(checkCopyFrom(df('FROM a:1 AS build\nFROM b:1\nCOPY --from=biuld /x /x'))).toHaveLength(1);
    expect(checkCopyFrom(df('FROM a:1 AS one\nCOPY --from=two /x /x\nFROM b:1 AS two'))).toHaveLength(1);
    expect(checkCopyFrom(df('FROM a:1 AS one\nFROM b:1\nCOPY --from=1 /x /x'))).toHaveLength(1);
    expect(checkCopyFrom(df('FROM a:1 AS one\nFROM b:1\nCOPY --from=one /x /x\nCOPY --from=0 /y /y'))).toEqual([]);
  });

  it('no tini', () => {
    expect(checkInit(df('FROM a:1\nENTRYPOINT ["node"]'))).toHaveLength(1);
    expect(checkInit(df('FROM a:1\nENTRYPOINT tini -- node'))).toHaveLength(1);
    expect(checkInit(df('FROM a:1\nENTRYPOINT ["/usr/bin/tini", "--"]'))).toEqual([]);
  });

  it('a CMD whose entry file is missing, or whose variable ARG SERVICE does not set', () => {
    const nonexistent = cmdEntryFiles(df('FROM a:1\nCMD ["node", "--import", "tsx", "services/nope/src/main.ts"]'), SERVICES);
    expect(nonexistent.files.filter((f) => !fs.existsSync(path.join(ROOT, f)))).toEqual(['services/nope/src/main.ts']);
    expect(cmdEntryFiles(df('FROM a:1\nCMD ["sh", "-c", "exec node --import tsx services/${X}/src/main.ts"]'), SERVICES).problems).toHaveLength(1);
    expect(cmdEntryFiles(df('FROM a:1\nCMD node --import tsx services/trainer/src/main.ts'), SERVICES).problems).toHaveLength(1);
    expect(cmdEntryFiles(df('FROM a:1\nCMD ["tsx", "services/trainer/src/main.ts"]'), SERVICES).problems).toHaveLength(1);
    const ok = cmdEntryFiles(df('FROM a:1\nARG SERVICE\nENV S=${SERVICE}\nCMD ["sh", "-c", "exec node --import tsx services/${S}/src/main.ts"]'), ['a', 'b']);
    expect(ok).toEqual({ files: ['services/a/src/main.ts', 'services/b/src/main.ts'], problems: [] });
  });

  it('a workspace manifest missing before npm ci', () => {
    const text = 'FROM a:1\nCOPY package.json package-lock.json ./\nCOPY packages/x/package.json packages/x/\nRUN npm ci';
    expect(checkManifestsBeforeNpmCi(df(text), ['packages/x', 'services/y'])).toEqual(['services/y/package.json is not copied before npm ci']);
    expect(checkManifestsBeforeNpmCi(df(text), ['packages/x'])).toEqual([]);
  });

  it('a .dockerignore that lets node_modules or .git through, or excludes sources', () => {
    expect(dockerIgnored(['node_modules'], 'packages/a/node_modules/x')).toBe(false);
    expect(dockerIgnored(['**/node_modules'], 'packages/a/node_modules/x')).toBe(true);
    expect(dockerIgnored(['**/node_modules'], 'node_modules')).toBe(true);
    expect(dockerIgnored(['*', '!services'], 'services/trainer/src/main.ts')).toBe(false);
    expect(dockerIgnored(['*', '!services'], '.git')).toBe(true);
    expect(dockerIgnored(['packages/*/test'], 'packages/model/test/a.test.ts')).toBe(true);
    expect(dockerIgnored(['packages/*/test'], 'packages/model/src/a.ts')).toBe(false);
  });
});
