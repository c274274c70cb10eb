import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export const BIN = new URL('../../../bin/latchkey.js', import.meta.url).pathname;

export interface Spawned {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts a process and waits (bounded) for a line matching `ready` that names its URL. */
export async function spawnUntil(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; ready?: RegExp; timeoutMs?: number } = {}): Promise<Spawned> {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const ready = opts.ready ?? /listening on (http:\/\/\S+)/;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after ${opts.timeoutMs ?? 15000} ms\nstdout: ${out}\nstderr: ${err}`)), opts.timeoutMs ?? 15000);
    const check = () => {
      const m = ready.exec(out);
      if (m) (clearTimeout(timer), resolve(m[1]!));
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`exited with ${code} before ready\nstdout: ${out}\nstderr: ${err}`))));
  });
  return {
    child,
    url,
    stdout: () => out,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = await once(child, 'exit');
      return code as number | null;
    },
  };
}

/** Runs the CLI to completion (bounded) and returns its exit code and output. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  return { code: code as number | null, stdout, stderr };
}
