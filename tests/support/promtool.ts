import { spawnSync } from 'node:child_process';

/** `promtool check metrics` on an exposition body; returns its complaints (empty when clean). */
export function promtoolCheckMetrics(body: string): { ok: boolean; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
  if (result.error) throw new Error(`promtool is not installed (Debian package 'prometheus'; \`make test\` installs it): ${result.error.message}`);
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}
