import type { NotifySink } from '../inventory/types.js';
import type { RolloutEvent } from '../report/events.js';
import { DocumentBuilder, type HookDocument, type RunContext } from './document.js';
import { command, describeDeliveryError, webhook, type Deliver, type SinkEnv } from './sinks.js';

export interface NotifierOptions {
  readonly sinks: readonly NotifySink[];
  readonly run: RunContext;
  readonly env: SinkEnv;
  /** A sink that could not deliver: a warning in the log and the summary, never a change of outcome. */
  onWarning(message: string): void;
  /** Between attempts; injected for tests. */
  sleep?(ms: number): Promise<void>;
  /** Injected for tests: how a sink delivers. */
  deliverFor?(sink: NotifySink): Deliver;
}

/** Feeds on the event stream; delivers each hook document to the sinks that chose it, in order, with retries. */
export interface Notifier {
  observe(event: RolloutEvent): void;
  /** Waits for every delivery queued so far (each bounded by its sink's timeout and retries). */
  flush(): Promise<void>;
}

const RETRY_DELAY_MS = 1000;

function where(sink: NotifySink): string {
  return `${sink.name} (${sink.kind === 'webhook' ? sink.url : sink.command})`;
}

export function createNotifier(options: NotifierOptions): Notifier {
  const builder = new DocumentBuilder(options.run);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const sinks = options.sinks.map((sink) => {
    try {
      return {
        sink,
        deliver:
          options.deliverFor?.(sink) ??
          (sink.kind === 'webhook' ? webhook(sink, options.env) : command(sink, options.env)),
      };
    } catch (error) {
      const message = `${where(sink)}: disabled: ${describeDeliveryError(error)}`;
      return { sink, deliver: () => Promise.reject(new Error(message)) };
    }
  });
  // Why: one chain keeps documents in the order of their events, and sinks in the order of the inventory.
  let chain: Promise<void> = Promise.resolve();

  async function send(sink: NotifySink, deliver: Deliver, doc: HookDocument): Promise<void> {
    let last: unknown;
    for (let attempt = 0; attempt <= sink.retries; attempt += 1) {
      if (attempt > 0) await sleep(RETRY_DELAY_MS * attempt);
      try {
        return await deliver(doc);
      } catch (error) {
        last = error;
      }
    }
    options.onWarning(
      `notify ${where(sink)}: ${doc.event} not delivered after ${sink.retries + 1} attempt(s): ${describeDeliveryError(last)}`,
    );
  }

  return {
    observe(event) {
      for (const doc of builder.documents(event))
        for (const { sink, deliver } of sinks)
          if (sink.events.includes(doc.event)) chain = chain.then(() => send(sink, deliver, doc));
    },
    flush: () => chain,
  };
}
