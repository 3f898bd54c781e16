import { describeSlotHolder, type SlotEntry } from '../coordination/semaphore.js';

/** `rollout status`: who holds the fleet-wide restart slots and who waits for them, per scope; '' when none. */
export function renderSlots(byScope: ReadonlyMap<string, readonly SlotEntry[]>): string {
  const lines: string[] = [];
  for (const [scope, queue] of byScope) {
    const held = queue.filter((e) => e.granted);
    const limit = held[0]?.holder?.limit ?? queue[0]?.holder?.limit ?? 0;
    lines.push(`restart slots ${scope}: ${held.reduce((n, e) => n + e.weight, 0)}/${limit} held`);
    for (const e of queue)
      lines.push(
        `  ${e.granted ? 'holding' : 'waiting'} ${e.weight}: ${describeSlotHolder(e)}${e.holder ? ` since ${e.holder.since}` : ''}`,
      );
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
