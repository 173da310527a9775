/**
 * Compares what was sent with what arrived: counts of messages sent, arrived (distinct),
 * duplicated (extra copies), missing and reordered (arrived out of the sent order).
 */
export interface DeliveryCounts {
  sent: number;
  arrived: number;
  duplicated: number;
  missing: number;
  reordered: number;
}

export function countDelivery(sent: readonly string[], arrived: readonly string[]): DeliveryCounts {
  const expected = new Set(sent);
  const relevant = arrived.filter((t) => expected.has(t));
  const distinct = [...new Set(relevant)];
  const order = new Map(sent.map((t, i) => [t, i]));
  let reordered = 0;
  for (let i = 1; i < distinct.length; i++) {
    if (order.get(distinct[i]!)! < order.get(distinct[i - 1]!)!) reordered++;
  }
  return {
    sent: sent.length,
    arrived: distinct.length,
    duplicated: relevant.length - distinct.length,
    missing: sent.length - distinct.length,
    reordered,
  };
}

export function sumCounts(all: DeliveryCounts[]): DeliveryCounts {
  return all.reduce(
    (a, c) => ({
      sent: a.sent + c.sent,
      arrived: a.arrived + c.arrived,
      duplicated: a.duplicated + c.duplicated,
      missing: a.missing + c.missing,
      reordered: a.reordered + c.reordered,
    }),
    { sent: 0, arrived: 0, duplicated: 0, missing: 0, reordered: 0 },
  );
}
