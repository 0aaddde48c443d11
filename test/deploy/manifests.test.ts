/**
 * The deployment kit in deploy/, checked against the daemon it deploys: every
 * manifest parses; ports, probes and services agree; every flag the
 * Dockerfile, the StatefulSet and the systemd unit pass exists in the CLI's
 * own option table (cli/start.ts, registered on a fresh commander program);
 * the configurations they load pass `tallymesh start --check`; probe paths
 * answer on a running daemon; every metric the alert rules name is one that
 * daemon exports; the systemd unit passes `systemd-analyze verify` where it
 * exists. The image is built and run only where a container runtime answers
 * (`docker info`).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { registerStart } from '../../cli/start.js';
import { loadConfig } from '../../src/daemon/config/load-config.js';
import { parsePrometheusText } from '../helpers/prom-parse.js';
import { CLI, eventually, runCli, startCli, type DaemonProcess } from '../cli/cli-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const tmp = mkdtempSync(join(tmpdir(), 'tallymesh-deploy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// ---- reading the kit ----

type Doc = Record<string, any>;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

function parseYaml(file: string): Doc[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  if (!Array.isArray(docs)) throw new Error(`${file}: not a YAML stream`);
  for (const d of docs) if (d.errors.length > 0) throw new Error(`${relative(ROOT, file)}: ${d.errors[0].message}`);
  return docs.map((d) => d.toJS() as Doc).filter((d) => d !== null);
}

const manifests = yamlFiles(join(DEPLOY, 'kubernetes'))
  .filter((f) => !f.endsWith('kustomization.yaml'))
  .flatMap((file) => parseYaml(file).map((doc) => ({ file, doc })));
const byKind = (kind: string): Doc[] => manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc);
const one = (kind: string, name?: string): Doc => {
  const found = byKind(kind).filter((d) => name === undefined || d.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${found.length}`);
  return found[0];
};

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function dockerfile(): Array<{ op: string; args: string }> {
  const text = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\w+)\s+(.*)$/.exec(l);
      if (m === null) throw new Error(`Dockerfile: cannot read ${l}`);
      return { op: m[1].toUpperCase(), args: m[2].trim() };
    });
}

/** A Dockerfile instruction's exec form (a JSON array); throws for the shell form. */
function execForm(args: string, what: string): string[] {
  try {
    const v = JSON.parse(args) as unknown;
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  } catch {
    // fall through
  }
  throw new Error(`${what} is not in exec form (a JSON array): ${args}`);
}

/** `[Section]` → key → values of a systemd unit file. */
function unit(file: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section !== null) {
      sections.set(section[1], (current = new Map()));
      continue;
    }
    const eq = line.indexOf('=');
    if (current === undefined || eq <= 0) throw new Error(`${file}: cannot read ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

const statefulSet = one('StatefulSet');
const pod = statefulSet.spec.template.spec;
const container = pod.containers.find((c: Doc) => c.name === 'tallymesh') as Doc;
const configMap = one('ConfigMap');
const configText = configMap.data['tallymesh.yaml'] as string;
const config = parseYaml(writeTemp('configmap.yaml', configText))[0];
const headless = byKind('Service').find((s) => s.spec.clusterIP === 'None') as Doc;
const systemdUnit = unit(join(DEPLOY, 'systemd', 'tallymesh.service'));

function writeTemp(name: string, text: string, mode = 0o600): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

/** The `start` command's long flags, from the CLI's own registration. */
function startFlags(): Set<string> {
  const program = new Command();
  registerStart(program);
  const start = program.commands.find((c) => c.name() === 'start');
  if (start === undefined) throw new Error('cli/start.ts registers no start command');
  return new Set(start.options.map((o) => o.long).filter((l): l is string => l !== undefined));
}

/** The `--flags` of a `tallymesh start …` command line (after `start`). */
function flagsOf(argv: string[]): string[] {
  const at = argv.indexOf('start');
  if (at === -1) throw new Error(`not a start command: ${argv.join(' ')}`);
  return argv.slice(at + 1).filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]);
}

/** The value following `flag` in `argv`. */
function flagValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i === -1 ? undefined : argv[i + 1];
}

const dockerCmd = execForm(dockerfile().filter((i) => i.op === 'CMD').at(-1)?.args ?? '', 'CMD');
const dockerEntrypoint = execForm(dockerfile().filter((i) => i.op === 'ENTRYPOINT').at(-1)?.args ?? '', 'ENTRYPOINT');
const systemdExec = (systemdUnit.get('Service')?.get('ExecStart') ?? [''])[0].split(/\s+/);
const containerPort = (container.ports as Doc[]).find((p) => p.name === 'http') as Doc;

// ---- the tests ----

describe('the deployment kit parses', () => {
  it('holds well-formed YAML everywhere, and Kubernetes objects with a kind and a name', () => {
    for (const file of yamlFiles(DEPLOY)) expect(() => parseYaml(file), relative(ROOT, file)).not.toThrow();
    expect(manifests.length).toBeGreaterThanOrEqual(7);
    for (const { file, doc } of manifests) {
      expect(typeof doc.apiVersion, relative(ROOT, file)).toBe('string');
      expect(typeof doc.kind, relative(ROOT, file)).toBe('string');
      expect(typeof doc.metadata?.name, relative(ROOT, file)).toBe('string');
    }
  });

  it('lists every Kubernetes manifest but the example Secret in its kustomization', () => {
    const kustomization = parseYaml(join(DEPLOY, 'kubernetes', 'kustomization.yaml'))[0];
    const files = readdirSync(join(DEPLOY, 'kubernetes')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'secret.yaml');
    expect([...(kustomization.resources as string[])].sort()).toEqual(files.sort());
  });
});

describe('Kubernetes objects', () => {
  it('runs a StatefulSet in parallel behind a headless Service that publishes not-ready pods', () => {
    expect(statefulSet.spec.podManagementPolicy).toBe('Parallel');
    expect(statefulSet.spec.serviceName).toBe(headless.metadata.name);
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
    expect(statefulSet.spec.replicas).toBeGreaterThanOrEqual(3);
  });

  it('selects the pods with every Service and the PodDisruptionBudget', () => {
    const labels = statefulSet.spec.template.metadata.labels as Record<string, string>;
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    expect(selects(statefulSet.spec.selector.matchLabels)).toBe(true);
    for (const s of byKind('Service')) expect(selects(s.spec.selector), s.metadata.name).toBe(true);
    const pdb = one('PodDisruptionBudget');
    expect(selects(pdb.spec.selector.matchLabels)).toBe(true);
    expect(pdb.spec.maxUnavailable ?? pdb.spec.minAvailable).toBeDefined();
  });

  it('probes, exposes and advertises the port the daemon listens on', () => {
    expect(containerPort.containerPort).toBe(config.port);
    const portRefs = new Set([containerPort.name, containerPort.containerPort]);
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect(container[probe]?.httpGet, probe).toBeDefined();
      expect(portRefs.has(container[probe].httpGet.port), `${probe} port`).toBe(true);
    }
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    for (const s of byKind('Service')) for (const p of s.spec.ports as Doc[]) expect(portRefs.has(p.targetPort), `${s.metadata.name} targetPort`).toBe(true);
    const advertise = (container.env as Doc[]).find((e) => e.name === 'TALLYMESH_ADVERTISE')?.value as string;
    expect(advertise).toBe(`$(POD_IP):${config.port}`);
    // --peers-dns names the headless Service, on the same port.
    expect(config.peersDns).toEqual([`${headless.metadata.name}.default.svc.cluster.local:${config.port}`]);
    expect((statefulSet.metadata.annotations ?? statefulSet.spec.template.metadata.annotations)['prometheus.io/port']).toBe(String(config.port));
  });

  it('sets a memory limit (the key bound follows it), runs as non-root, and outlasts the drain and the shutdown timeout', () => {
    expect(container.resources.limits.memory).toMatch(/^\d+(Mi|Gi)$/);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    const { shutdownTimeoutMs, drainMs } = loadConfig({ flags: { config: writeTemp('grace.yaml', configText) }, env: { TALLYMESH_SECRET: 'x'.repeat(32) }, cwd: tmp }).config;
    // SIGTERM starts the drain (readiness 503 while decisions are served), then the close: both before SIGKILL.
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan((drainMs ?? 0) + shutdownTimeoutMs);
  });

  it('takes the cluster secret from the Secret the kit describes', () => {
    const secret = one('Secret');
    const ref = (container.env as Doc[]).find((e) => e.name === 'TALLYMESH_SECRET')?.valueFrom?.secretKeyRef;
    expect(ref).toEqual({ name: secret.metadata.name, key: Object.keys(secret.stringData)[0] });
  });
});

describe('flags and configuration against the CLI', () => {
  const known = startFlags();

  it('uses only flags the start command defines (Dockerfile, StatefulSet, systemd unit)', () => {
    const used = [
      ['Dockerfile CMD', dockerCmd],
      ['StatefulSet args', [...(container.command ?? []), ...(container.args as string[])]],
      ['systemd ExecStart', systemdExec],
    ] as const;
    expect(known.has('--peers-dns') && known.has('--memory-limit')).toBe(true);
    for (const [where, argv] of used) {
      const flags = flagsOf([...argv]);
      expect(flags.length, where).toBeGreaterThan(0);
      for (const f of flags) expect(known.has(f), `${where}: ${f} is not a flag of tallymesh start`).toBe(true);
    }
  });

  it('sets only environment variables the daemon reads (StatefulSet, systemd unit)', () => {
    const unknown = (env: Record<string, string>): string[] =>
      loadConfig({ flags: { config: writeTemp('env.yaml', configText) }, env, cwd: tmp }).warnings.filter((w) => w.startsWith('unknown environment variable'));
    // Values from the downward API and the Secret get stand-ins of the right shape.
    const pod: Record<string, string> = {};
    for (const e of container.env as Doc[]) {
      if (!(e.name as string).startsWith('TALLYMESH_')) continue;
      pod[e.name] = e.name === 'TALLYMESH_SECRET' || e.name === 'TALLYMESH_API_TOKEN' ? 'x'.repeat(32) : typeof e.value === 'string' ? e.value.replace('$(POD_IP)', '10.0.0.7') : 'tallymesh-0';
    }
    expect(Object.keys(pod).sort()).toEqual(['TALLYMESH_ADVERTISE', 'TALLYMESH_API_TOKEN', 'TALLYMESH_ID', 'TALLYMESH_SECRET']);
    expect(unknown(pod)).toEqual([]);
    const service: Record<string, string> = {};
    for (const line of systemdUnit.get('Service')?.get('Environment') ?? []) {
      const [name, value] = line.split('=');
      if (name.startsWith('TALLYMESH_')) service[name] = name.endsWith('_FILE') ? writeTemp(`credential-${name}`, 'a-secret-from-a-credential') : value;
    }
    expect(Object.keys(service)).toEqual(['TALLYMESH_SECRET_FILE', 'TALLYMESH_API_TOKEN_FILE']);
    expect(unknown(service)).toEqual([]);
  });

  it('passes `tallymesh start --check` with the ConfigMap and the pod\'s environment', async () => {
    const file = writeTemp('tallymesh.yaml', configText);
    const argv = (container.args as string[]).map((a) => (a === flagValue(container.args, '--config') ? file : a));
    const r = await runCli(argv.concat('--check'), {
      TALLYMESH_ID: 'tallymesh-0',
      TALLYMESH_ADVERTISE: `10.0.0.7:${config.port}`,
      TALLYMESH_SECRET: 'a-secret-from-the-kubernetes-secret',
      TALLYMESH_API_TOKEN: 'an-api-token-from-the-kubernetes-secret',
    });
    // The one warning the manifest documents: a token without TLS travels in clear text inside the cluster.
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/warning: the API token travels in clear text/)]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: 'tallymesh-0', host: '0.0.0.0', port: config.port, peersDns: config.peersDns });
  });

  it('passes `tallymesh start --check` with the Dockerfile\'s command and the systemd unit\'s example config', async () => {
    const secret = writeTemp('secret', 'a-secret-from-a-credential-file');
    const docker = dockerCmd.map((a) => (a === flagValue(dockerCmd, '--config') ? writeTemp('docker.yaml', configText) : a));
    const d = await runCli([...docker, '--check'], { TALLYMESH_SECRET_FILE: secret });
    // The image's command names no token (whoever runs it adds one), and the daemon says so.
    expect(d.stderr.trim().split('\n')).toEqual([expect.stringMatching(/warning: no API token/)]);
    expect(d.code).toBe(0);
    const example = join(DEPLOY, 'systemd', 'tallymesh.yaml');
    const argv = systemdExec.slice(1).map((a) => (a === flagValue(systemdExec, '--config') ? example : a));
    const s = await runCli([...argv, '--check'], { TALLYMESH_SECRET_FILE: secret, TALLYMESH_API_TOKEN_FILE: writeTemp('api-token', 'an-api-token-from-a-credential') });
    expect(s.stderr.trim().split('\n')).toEqual([expect.stringMatching(/warning: the API token travels in clear text/)]);
    expect(s.code).toBe(0);
  });
});

describe('the Dockerfile', () => {
  const ops = dockerfile();
  const lastStage = ops.slice(ops.map((o) => o.op).lastIndexOf('FROM'));

  it('builds in stages and runs as a non-root user under an init that forwards signals', () => {
    expect(ops.filter((o) => o.op === 'FROM').length).toBeGreaterThanOrEqual(2);
    const user = lastStage.filter((o) => o.op === 'USER').at(-1)?.args ?? 'root';
    expect(user.split(':')[0]).not.toMatch(/^(root|0)$/);
    expect(dockerEntrypoint[0]).toMatch(/tini$/);
    expect(dockerEntrypoint).toContain('tallymesh');
    expect(dockerCmd[0]).toBe('start');
  });

  it('checks health on the port it exposes and serves', () => {
    const health = lastStage.find((o) => o.op === 'HEALTHCHECK')?.args ?? '';
    const cmd = execForm(health.slice(health.indexOf('CMD') + 3).trim(), 'HEALTHCHECK');
    const url = /https?:\/\/[^'"\s)]+/.exec(cmd.join(' '))?.[0] ?? '';
    const exposed = lastStage.find((o) => o.op === 'EXPOSE')?.args;
    expect(new URL(url).port).toBe(exposed);
    expect(flagValue(dockerCmd, '--port')).toBe(exposed);
    expect(new URL(url).pathname).toBe('/healthz');
  });
});

describe('against a running daemon', () => {
  let daemon: DaemonProcess;
  let families: ReturnType<typeof parsePrometheusText>;
  beforeAll(async () => {
    const secret = writeTemp('running-secret', 'a-secret-for-the-running-daemon');
    // The kit's limiters and DNS discovery (against a port nobody serves: lookups fail fast, and are counted).
    const file = writeTemp('running.yaml', configText.replace(/host: 0\.0\.0\.0/, 'host: 127.0.0.1'));
    daemon = await startCli(['--config', file, '--port', '0', '--secret-file', secret, '--dns-server', '127.0.0.1:9', '--memory-limit', '512MiB']);
    await eventually(async () => (await fetch(`${daemon.url}/readyz`)).status === 200, 15_000, 'ready');
    families = parsePrometheusText(await (await fetch(`${daemon.url}/metrics`)).text());
  });
  afterAll(() => daemon?.proc.kill());

  it('answers every probe path the kit uses with 200', async () => {
    const paths = new Set<string>(['startupProbe', 'readinessProbe', 'livenessProbe'].map((p) => container[p].httpGet.path));
    const health = dockerfile().find((o) => o.op === 'HEALTHCHECK')?.args ?? '';
    paths.add(new URL(/https?:\/\/[^'"\s)]+/.exec(health)?.[0] ?? '').pathname);
    paths.add(statefulSet.spec.template.metadata.annotations['prometheus.io/path']);
    for (const path of paths) expect((await fetch(`${daemon.url}${path}`)).status, path).toBe(200);
  });

  it('exports every metric the alert rules name', () => {
    const rules = parseYaml(join(DEPLOY, 'prometheus', 'alerts.yaml'))[0].groups.flatMap((g: Doc) => g.rules) as Doc[];
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const rule of rules) {
      const names = [...new Set((rule.expr as string).match(/\b(tallymesh|process|nodejs)_[a-z0-9_]+\b/g) ?? [])];
      expect(names.length, rule.alert).toBeGreaterThan(0);
      for (const name of names) expect(families.has(name), `${rule.alert}: ${name} is not exported`).toBe(true);
      // Label matchers name labels the metric has.
      for (const [, name, label] of (rule.expr as string).matchAll(/\b((?:tallymesh|process|nodejs)_[a-z0-9_]+)\{(\w+)[!=~]/g)) {
        const help = families.get(name)?.samples.flatMap((s) => Object.keys(s.labels)) ?? [];
        if (help.length > 0) expect(help, `${rule.alert}: ${name} has no label ${label}`).toContain(label);
      }
    }
  });

  it('ships the same rules as a PrometheusRule and as a plain rules file', () => {
    const plain = parseYaml(join(DEPLOY, 'prometheus', 'alerts.yaml'))[0];
    expect(one('PrometheusRule').spec.groups).toEqual(plain.groups);
  });
});

describe('the systemd unit', () => {
  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  it('is hardened: a dynamic user without privileges, a memory limit, a stop timeout above the drain and the shutdown timeout', () => {
    const s = systemdUnit.get('Service') as Map<string, string[]>;
    const one = (k: string) => s.get(k)?.[0];
    expect(one('DynamicUser')).toBe('yes');
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('CapabilityBoundingSet')).toBe('');
    expect(one('MemoryMax')).toMatch(/^\d+[KMG]?$/);
    const { shutdownTimeoutMs, drainMs } = loadConfig({ flags: { config: join(DEPLOY, 'systemd', 'tallymesh.yaml') }, env: { TALLYMESH_SECRET: 'x'.repeat(32) }, cwd: tmp }).config;
    expect(Number.parseInt(one('TimeoutStopSec') ?? '0', 10) * 1000).toBeGreaterThan((drainMs ?? 0) + shutdownTimeoutMs);
    expect(one('RestartPreventExitStatus')).toBe('2');
  });

  it.skipIf(analyze.status !== 0)('passes systemd-analyze verify', () => {
    // verify insists that ExecStart's program exists: where tallymesh is not installed, a copy of the unit runs the built CLI.
    const exec = systemdExec[0];
    const installed = spawnSync('test', ['-x', exec]).status === 0;
    let path = join(DEPLOY, 'systemd', 'tallymesh.service');
    if (!installed) {
      const shim = writeTemp('tallymesh', `#!/bin/sh\nexec ${process.execPath} ${CLI} "$@"\n`, 0o755);
      path = writeTemp('tallymesh.service', readFileSync(path, 'utf8').replace(`ExecStart=${exec} `, `ExecStart=${shim} `), 0o644);
    }
    const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
    expect(r.stderr.trim()).toBe('');
    expect(r.status).toBe(0);
  });
});

const docker = spawnSync('docker', ['info'], { encoding: 'utf8', timeout: 20_000 });
describe.skipIf(docker.status !== 0)('the image (where a container runtime answers `docker info`)', () => {
  const tag = `tallymesh-test:${process.pid}`;
  afterAll(() => {
    spawnSync('docker', ['rm', '-f', `tallymesh-test-${process.pid}`]);
    spawnSync('docker', ['rmi', '-f', tag]);
  });

  it('builds, runs as a non-root user, and turns ready', async () => {
    const build = spawnSync('docker', ['build', '-f', join(DEPLOY, 'Dockerfile'), '-t', tag, ROOT], { encoding: 'utf8', timeout: 900_000 });
    expect(build.status, build.stderr).toBe(0);
    const run = spawnSync(
      'docker',
      ['run', '-d', '--name', `tallymesh-test-${process.pid}`, '-p', '127.0.0.1::7070', '-e', 'TALLYMESH_SECRET=a-secret-for-the-image-test', tag, 'start', '--host', '0.0.0.0', '--port', '7070', '--limiter', 'name=api,limit=10,window=60s'],
      { encoding: 'utf8' },
    );
    expect(run.status, run.stderr).toBe(0);
    const port = spawnSync('docker', ['port', `tallymesh-test-${process.pid}`, '7070/tcp'], { encoding: 'utf8' }).stdout.trim().split(':').pop();
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, 60_000, 'the container ready');
    const user = spawnSync('docker', ['exec', `tallymesh-test-${process.pid}`, 'id', '-u'], { encoding: 'utf8' }).stdout.trim();
    expect(user).not.toBe('0');
    const stop = spawnSync('docker', ['stop', '-t', '15', `tallymesh-test-${process.pid}`], { encoding: 'utf8' });
    expect(stop.status).toBe(0);
    const code = spawnSync('docker', ['inspect', '-f', '{{.State.ExitCode}}', `tallymesh-test-${process.pid}`], { encoding: 'utf8' }).stdout.trim();
    expect(code).toBe('0');
  }, 1_000_000);
});
