/**
 * Where the heap between two V8 heap snapshots of one process went: the objects new in the second (by node id),
 * grouped by their kind and name and by the first object and property that retains them, in bytes per `per` (e.g.
 * per connection). `npm run bench -- --subscriptions --heap-snapshots` prints it for the idle subscribers.
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** One line per group, largest first: bytes per `per`, objects per `per`, `kind:name <- retainer.property`. */
export function heapSnapshotDiff(beforeFile: string, afterFile: string, per: number, top = 30): string[] {
  const before = JSON.parse(readFileSync(beforeFile, "utf8")) as Snapshot;
  const after = JSON.parse(readFileSync(afterFile, "utf8")) as Snapshot;
  const meta = after.snapshot.meta;
  const nf = meta.node_fields.length;
  const [idAt, typeAt, nameAt, sizeAt, edgesAt] = ["id", "type", "name", "self_size", "edge_count"].map((f) => meta.node_fields.indexOf(f));
  const ef = meta.edge_fields.length;
  const [edgeTypeAt, edgeNameAt, toAt] = ["type", "name_or_index", "to_node"].map((f) => meta.edge_fields.indexOf(f));
  const old = new Set<number>();
  for (let i = 0; i < before.nodes.length; i += nf) old.add(before.nodes[i + idAt!]!);
  const label = (i: number) => {
    const type = meta.node_types[0][after.nodes[i + typeAt!]!]!;
    const named = type === "object" || type === "closure" || type === "native" || type === "hidden";
    return named ? `${type}:${after.strings[after.nodes[i + nameAt!]!]!.slice(0, 40)}` : `(${type})`;
  };
  // The first strong retainer of each node (edges are listed per node, in node order; to_node is an index).
  const retainer = new Map<number, string>();
  for (let i = 0, e = 0; i < after.nodes.length; i += nf) {
    for (let k = 0; k < after.nodes[i + edgesAt!]!; k++, e += ef) {
      const edgeType = meta.edge_types[0][after.edges[e + edgeTypeAt!]!]!;
      const to = after.edges[e + toAt!]!;
      if (edgeType === "weak" || edgeType === "shortcut" || retainer.has(to)) continue;
      const name = edgeType === "element" || edgeType === "hidden" ? `[${edgeType}]` : after.strings[after.edges[e + edgeNameAt!]!];
      retainer.set(to, `${label(i)}.${name}`);
    }
  }
  const groups = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let i = 0; i < after.nodes.length; i += nf) {
    if (old.has(after.nodes[i + idAt!]!)) continue;
    const key = `${label(i)} <- ${retainer.get(i) ?? "?"}`;
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += after.nodes[i + sizeAt!]!;
    total += after.nodes[i + sizeAt!]!;
    groups.set(key, group);
  }
  const rows = [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top);
  return [
    `new objects: ${Math.round(total / per).toLocaleString("en-US")} B per unit (self sizes; heap used after a collection differs)`,
    ...rows.map(
      ([key, g]) =>
        `${Math.round(g.bytes / per)
          .toString()
          .padStart(7)} B ${(g.count / per).toFixed(2).padStart(6)}  ${key}`,
    ),
  ];
}
