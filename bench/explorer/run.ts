/**
 * Explorer slicing cost: how long the JSONPath engine takes to cut the fields an agent asked
 * for out of a large upstream response, next to the JSON.parse the gateway pays anyway, and how
 * many bytes the slice saves. Run: `npx tsx bench/explorer/run.ts [megabytes] [seconds-per-case]`.
 *
 * The response is generated (seeded, so every run sees the same bytes): an array of invoice
 * objects under `data`, each with a customer, 1–8 line items and a status, plus a `meta` block.
 */

import { compileJsonPath, queryJsonPath } from "../../src/engines/jsonpath/jsonpath.js";

const megabytes = Number(process.argv[2] ?? "5");
const seconds = Number(process.argv[3] ?? "1");
if (!(megabytes > 0 && seconds > 0))
  throw new Error("usage: tsx bench/explorer/run.ts [megabytes] [seconds]");

/** mulberry32: a tiny seeded PRNG, so the document is identical from run to run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STATUSES = ["paid", "open", "overdue", "void"];
const CURRENCIES = ["EUR", "USD", "GBP"];
const DOMAINS = ["example.com", "example.org", "example.net"];

function invoice(i: number, rnd: () => number) {
  const lines = Array.from({ length: 1 + Math.floor(rnd() * 8) }, (_, j) => {
    const qty = 1 + Math.floor(rnd() * 20);
    const price = Math.round(rnd() * 50_000) / 100;
    return {
      sku: `SKU-${(i * 7 + j) % 9973}`,
      description: `Item ${j} of invoice ${i}`,
      qty,
      price,
      total: qty * price,
    };
  });
  const customer = 1 + Math.floor(rnd() * 5000);
  return {
    id: `inv_${i.toString(36).padStart(8, "0")}`,
    number: `2025-${String(i).padStart(7, "0")}`,
    status: STATUSES[Math.floor(rnd() * STATUSES.length)],
    currency: CURRENCIES[Math.floor(rnd() * CURRENCIES.length)],
    issued_at: new Date(1_735_689_600_000 + i * 3_600_000).toISOString(),
    customer: {
      id: `cus_${customer}`,
      name: `Customer ${customer}`,
      email: `billing${customer}@${DOMAINS[customer % DOMAINS.length]}`,
      address: { street: `${customer} Main Street`, city: "Springfield", country: "DE" },
    },
    lines,
    total: Math.round(lines.reduce((s, l) => s + l.total, 0) * 100) / 100,
  };
}

function generate(targetBytes: number): string {
  const rnd = prng(9535);
  const data = [];
  let bytes = 0;
  for (let i = 0; bytes < targetBytes; i++) {
    const inv = invoice(i, rnd);
    bytes += JSON.stringify(inv).length + 1;
    data.push(inv);
  }
  return JSON.stringify({ data, meta: { total_count: data.length, page: 1, next: null } });
}

/** Median milliseconds of `op`, run for about `seconds` (at least 5 times). */
function time(op: () => unknown): number {
  op();
  const samples: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  while (samples.length < 5 || performance.now() < deadline) {
    const t = performance.now();
    op();
    samples.push(performance.now() - t);
  }
  samples.sort((x, y) => x - y);
  return samples[Math.floor(samples.length / 2)] as number;
}

const text = generate(megabytes * 1024 * 1024);
const bytesBefore = Buffer.byteLength(text);
const parseMs = time(() => JSON.parse(text));
const doc: unknown = JSON.parse(text);

const QUERIES = [
  "$.meta.total_count",
  "$.data[*].id",
  "$.data[-10:].number",
  "$..total",
  "$.data[?@.total > 20000].id",
  "$.data[?@.status == 'overdue' && @.currency == 'EUR']",
  "$.data[?search(@.customer.email, '@example[.]org$')].number",
  "$.data[?count(@.lines[?@.qty >= 15]) > 2].id",
];

const fmt = (n: number, digits = 2) => n.toLocaleString("en-US", { maximumFractionDigits: digits });
const ms = (n: number) => (n < 1 ? n.toPrecision(2) : fmt(n, 1));

const invoices = (doc as { data: unknown[] }).data.length;
console.log(`node ${process.version}; response ${fmt(bytesBefore)} bytes (${fmt(invoices)} invoices)`);
console.log(`JSON.parse of the response: ${ms(parseMs)} ms (median)\n`);
console.log("| query | matches | query ms (median) | vs JSON.parse | bytes after | bytes saved |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const expr of QUERIES) {
  const c = compileJsonPath(expr);
  if (!c.ok) throw new Error(`${expr}: ${c.error}`);
  const path = c.path;
  const result = queryJsonPath(path, doc);
  const queryMs = time(() => queryJsonPath(path, doc));
  // What the explorer returns: {"sliced_data": {"<path>": [matches]}}.
  const bytesAfter = Buffer.byteLength(JSON.stringify({ sliced_data: { [expr]: result.values } }));
  const saved = 100 * (1 - bytesAfter / bytesBefore);
  console.log(
    `| \`${expr}\` | ${fmt(result.values.length)} | ${ms(queryMs)} | ${fmt((100 * queryMs) / parseMs, 1)}% | ${fmt(bytesAfter)} | ${fmt(saved, 2)}% |`,
  );
}
const compileMs = time(() => {
  for (const expr of QUERIES) compileJsonPath(expr);
});
console.log(`\nCompiling all ${QUERIES.length} queries: ${fmt(compileMs * 1000, 1)} µs (median).`);
