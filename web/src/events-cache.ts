import type { GatewayEvent } from "./types";

/** Events the console has seen in this tab, by seq, so a detail view opens without a refetch. */
const bySeq = new Map<number, GatewayEvent>();
const MAX = 5000;

export function remember(events: GatewayEvent[]): void {
  for (const e of events) bySeq.set(e.seq, e);
  if (bySeq.size > MAX) {
    const drop = [...bySeq.keys()].sort((a, b) => a - b).slice(0, bySeq.size - MAX);
    for (const k of drop) bySeq.delete(k);
  }
}

export function recall(seq: number): GatewayEvent | undefined {
  return bySeq.get(seq);
}
