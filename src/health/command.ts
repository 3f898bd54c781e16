import { RolloutError, describeError } from '../errors.js';
import { renderCommand } from '../transport/template.js';
import type { Transport } from '../transport/types.js';
import { execProbeCommand } from './probe-exec.js';
import type { HealthProbe } from './types.js';
import { probeVars } from './vars.js';

/**
 * One health check attempt by a command over SSH: healthy on exit 0 and, with a release,
 * when stdout contains the release id. Connect, auth and timeout errors give `ok: false`.
 */
export function createCommandProbe(transport: Transport): HealthProbe {
  return {
    async check(host, context) {
      const template = host.settings.health.command;
      if (template === undefined) {
        throw new RolloutError(
          'E_USAGE',
          `${host.name}: health.type is command but health.command is not set; set health.command (e.g. "systemctl is-active php8.2-fpm") or use type: http`,
          { host: host.name, where: `${host.source.file}:${host.source.line}:${host.source.col}` },
        );
      }
      const command = renderCommand(template, probeVars(host, context.release));
      const ran = await execProbeCommand(transport, host, command, context.signal);
      if ('error' in ran) return { ok: false, detail: describeError(ran.error) };
      const { result } = ran;
      if (result.exitCode !== 0) {
        const how =
          result.exitCode === null ? `was killed by ${result.signal ?? 'a signal'}` : `exited ${result.exitCode}`;
        const said = lastLine(result.stderr) || lastLine(result.stdout);
        return { ok: false, detail: `\`${command}\` ${how}${said ? `: ${said}` : ''}` };
      }
      if (context.release !== undefined && !result.stdout.includes(context.release)) {
        return {
          ok: false,
          detail: `\`${command}\` does not print release ${context.release}${lastLine(result.stdout) ? ` (last line: ${lastLine(result.stdout)})` : ''}`,
        };
      }
      return { ok: true, detail: context.release === undefined ? 'exit 0' : `exit 0, release ${context.release}` };
    },
  };
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').trim().slice(0, 200);
}
