import { describe, expect, it } from 'vitest';
import { DocumentBuilder } from '../../../src/notify/document.js';
import { fleet } from '../../support/fleet.js';
import { harness } from '../orchestrator/harness.js';

describe('hook documents of a window run', () => {
  it('sends cluster.finished once the last planned host of the cluster ended, before run.finished', async () => {
    const h = await harness(fleet().cluster('appserver', 5, { batch: 2, minPooled: 0 }).build());
    await h.run();
    const builder = new DocumentBuilder({
      runId: 'run-1',
      user: 'u',
      machine: 'm',
      command: 'rollout sync',
      reason: 'test',
      release: undefined,
      emergency: false,
    });
    const sent = h.events.flatMap((e) => builder.documents(e).map((d) => ({ after: e.event, doc: d.event })));
    const finished = sent.filter((s) => s.doc === 'cluster.finished');
    expect(finished).toHaveLength(1);
    expect(finished[0]?.after).toBe('host.done');
    expect(sent.map((s) => s.doc).indexOf('cluster.finished')).toBeLessThan(
      sent.map((s) => s.doc).indexOf('run.finished'),
    );
  });
});
