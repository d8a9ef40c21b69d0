/**
 * Metrics of a `workers` group. Each worker has its own prom-client registry
 * (its own counters) with a default label `worker="<slot>"` on every series;
 * a scrape of the metrics plugin, whichever worker cluster hands it to, asks
 * the primary, which collects `getMetricsAsJSON()` from every worker and
 * merges them with prom-client's `AggregatorRegistry.aggregate`. Series of
 * different workers differ by their `worker` label, so nothing is summed
 * behind the reader's back (a gauge such as a start time would be nonsense
 * summed); `sum without (worker) (...)` gives the group's totals. The slot
 * label is stable across a re-fork: a restarted worker looks like a counter
 * reset, which Prometheus handles.
 *
 * A worker that does not answer within the deadline is left out (and the
 * primary logs it); a scrape that cannot reach the primary at all serves the
 * worker's own metrics rather than failing.
 */
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Channel, SkyMessage } from '../registry/ipc-channel.js';

type MetricsJSON = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** Worker side: answers the primary's collection requests and routes scrapes through it. */
export function groupMetrics(metrics: Metrics, channel: Channel, slot: number, logger: Logger, timeoutMs = 5000): () => void {
  metrics.registry.setDefaultLabels({ worker: String(slot) });
  let next = 1;
  const waiting = new Map<number, (text: string | undefined) => void>();
  const off = channel.onMessage((m: SkyMessage) => {
    if (m.sky !== 'metrics') return;
    if (m.op === 'collect') {
      metrics.registry.getMetricsAsJSON().then(
        (data) => channel.send({ sky: 'metrics', op: 'collected', id: m.id, data }),
        (err: unknown) => {
          logger.error({ err }, 'could not collect this worker\'s metrics');
          channel.send({ sky: 'metrics', op: 'collected', id: m.id, data: [] });
        },
      );
    } else if (m.op === 'scraped') {
      waiting.get(m.id as number)?.(typeof m.text === 'string' ? m.text : undefined);
    }
  });
  metrics.scrape = async () => {
    const id = next++;
    const text = await new Promise<string | undefined>((resolve) => {
      const t = setTimeout(() => done(undefined), timeoutMs);
      const done = (v: string | undefined): void => {
        clearTimeout(t);
        waiting.delete(id);
        resolve(v);
      };
      waiting.set(id, done);
      if (!channel.send({ sky: 'metrics', op: 'scrape', id })) done(undefined);
    });
    if (text !== undefined) return text;
    logger.warn('the primary did not aggregate the group\'s metrics; serving this worker\'s own');
    return metrics.registry.metrics();
  };
  return off;
}

/** Primary side: serves scrapes from workers by collecting from all of them. */
export class MetricsAggregator {
  private next = 1;
  private readonly collecting = new Map<number, { want: Set<Channel>; got: MetricsJSON[]; done: () => void }>();

  constructor(private readonly workers: () => Channel[], private readonly logger: Logger, private readonly timeoutMs = 3000) {}

  /** Wire a worker's channel: its scrape requests and its collection answers. */
  attach(ch: Channel): () => void {
    return ch.onMessage((m) => {
      if (m.sky !== 'metrics') return;
      if (m.op === 'scrape') {
        void this.aggregate().then((text) => ch.send({ sky: 'metrics', op: 'scraped', id: m.id, text }));
      } else if (m.op === 'collected') {
        const c = this.collecting.get(m.id as number);
        if (!c || !c.want.delete(ch)) return;
        if (Array.isArray(m.data)) c.got.push(m.data as MetricsJSON);
        if (c.want.size === 0) c.done();
      }
    });
  }

  /** The whole group's metrics in the Prometheus text format. */
  async aggregate(): Promise<string> {
    const id = this.next++;
    const chans = this.workers().filter((c) => !c.closed);
    const got: MetricsJSON[] = [];
    await new Promise<void>((resolve) => {
      const want = new Set(chans);
      const t = setTimeout(() => {
        this.logger.warn({ missing: want.size }, 'some workers did not send their metrics in time; the scrape leaves them out');
        finish();
      }, this.timeoutMs);
      const finish = (): void => {
        clearTimeout(t);
        this.collecting.delete(id);
        resolve();
      };
      this.collecting.set(id, { want, got, done: finish });
      for (const c of chans) if (!c.send({ sky: 'metrics', op: 'collect', id })) want.delete(c);
      if (want.size === 0) finish();
    });
    return AggregatorRegistry.aggregate(got).metrics();
  }
}
