/**
 * Headless Chromium from Debian (`chromium`, scripts/install-deps) for the report's browser test:
 * a screenshot and the DOM after rendering. A throwaway profile under TMPDIR; as root it needs
 * --no-sandbox. A run that hangs is killed with its process group (Chromium forks helpers).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

export const CHROMIUM = '/usr/bin/chromium';

function run(
  args: readonly string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-'));
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-extensions',
    `--user-data-dir=${profile}`,
    ...args,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(CHROMIUM, flags, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      fs.rmSync(profile, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    });
  });
}

/** Renders `file` to a PNG of `width`×`height` CSS pixels and returns the PNG's bytes. */
export async function screenshot(
  file: string,
  out: string,
  size = { width: 1280, height: 1600 },
  timeoutMs = 60_000,
): Promise<Buffer> {
  const r = await run(
    [`--window-size=${size.width},${size.height}`, `--screenshot=${out}`, `file://${file}`],
    timeoutMs,
  );
  if (!fs.existsSync(out)) throw new Error(`chromium wrote no screenshot (exit ${r.code}): ${r.stderr.slice(-800)}`);
  return fs.readFileSync(out);
}

/** The DOM after the page rendered (`--dump-dom`). */
export async function dumpDom(file: string, timeoutMs = 60_000): Promise<string> {
  const r = await run(['--dump-dom', `file://${file}`], timeoutMs);
  if (r.code !== 0) throw new Error(`chromium --dump-dom exited ${r.code}: ${r.stderr.slice(-800)}`);
  return r.stdout;
}

/** The number of distinct colours of an 8-bit RGB or RGBA PNG (what Chromium writes): 1 means blank. */
export function distinctColours(png: Buffer): number {
  if (png.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error('not a PNG');
  let width = 0;
  let height = 0;
  let colourType = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.subarray(at + 4, at + 8).toString('latin1');
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8) throw new Error(`bit depth ${data[8]}: only 8 is read here`);
      colourType = data[9] ?? 0;
    } else if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  const channels = colourType === 6 ? 4 : colourType === 2 ? 3 : 0;
  if (channels === 0) throw new Error(`PNG colour type ${colourType}: only RGB and RGBA are read here`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const previous = Buffer.alloc(stride);
  const row = Buffer.alloc(stride);
  const colours = new Set<number>();
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i += 1) {
      const a = i >= channels ? row[i - channels]! : 0;
      const b = previous[i]!;
      const c = i >= channels ? previous[i - channels]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a),
        pb = Math.abs(p - b),
        pc = Math.abs(p - c);
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter ?? 0] ?? 0;
      row[i] = (line[i]! + predictor) & 0xff;
    }
    for (let i = 0; i < stride; i += channels) colours.add(row.readUIntBE(i, 3));
    row.copy(previous);
  }
  return colours.size;
}
