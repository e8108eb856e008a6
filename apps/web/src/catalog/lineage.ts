import { fqnOf } from '../format.ts';
import { type GraphIndex, inputFqns, resolverKindLabel } from './graph-index.ts';

/** A box in the lineage drawing. `focus` is the page's own feature or resolver. */
export interface LineageNode {
  readonly id: string;
  readonly type: 'feature' | 'resolver' | 'namespace' | 'more';
  readonly label: string;
  /** A second, quieter line (a resolver's kind, a relationship's kind). */
  readonly detail?: string;
  /** What the box links to: a feature or resolver FQN (none for namespaces and "+N more"). */
  readonly fqn?: string;
  readonly focus?: boolean;
}

/** Columns left to right (data flows left to right) and the edges between their nodes. */
export interface Lineage {
  readonly columns: readonly (readonly LineageNode[])[];
  readonly edges: readonly { readonly from: string; readonly to: string }[];
}

/** Nodes drawn per column at most; the rest are one "+N more" box, so a hub feature stays readable. */
export const MAX_NODES_PER_COLUMN = 8;

class Builder {
  readonly columns: LineageNode[][] = [];
  readonly edges: { from: string; to: string }[] = [];
  private readonly placed = new Map<string, number>();

  constructor(count: number) {
    for (let i = 0; i < count; i++) this.columns.push([]);
  }

  /** Adds a node to `column` once (the first placement wins); answers its id, or null when cut. */
  node(column: number, node: LineageNode): string | null {
    if (this.placed.has(node.id)) return node.id;
    const list = this.columns[column]!;
    if (list.length >= MAX_NODES_PER_COLUMN) {
      const more = list[MAX_NODES_PER_COLUMN - 1]!;
      const hidden = more.type === 'more' ? Number(more.label.replace(/\D/g, '')) + 1 : 2;
      if (more.type !== 'more') this.placed.delete(more.id);
      list[MAX_NODES_PER_COLUMN - 1] = { id: `more:${column}`, type: 'more', label: `+${hidden} more` };
      return null;
    }
    list.push(node);
    this.placed.set(node.id, column);
    return node.id;
  }

  edge(from: string | null, to: string | null): void {
    if (!from || !to || from === to) return;
    if (!this.edges.some((e) => e.from === from && e.to === to)) this.edges.push({ from, to });
  }

  build(): Lineage {
    const present = new Set(this.columns.flat().map((n) => n.id));
    return {
      columns: this.columns.filter((c) => c.length > 0),
      edges: this.edges.filter((e) => present.has(e.from) && present.has(e.to)),
    };
  }
}

const featureNode = (index: GraphIndex, fqn: string, focus = false): LineageNode => {
  const entry = index.feature(fqn);
  const relation =
    entry && (entry.feature.kind === 'has_one' || entry.feature.kind === 'has_many')
      ? `${entry.feature.kind} → ${entry.feature.target ?? '?'}`
      : undefined;
  return {
    id: `f:${fqn}`,
    type: 'feature',
    label: fqn,
    fqn,
    focus,
    ...(relation ? { detail: relation } : {}),
  };
};

const resolverNode = (index: GraphIndex, fqn: string, focus = false): LineageNode => {
  const resolver = index.resolver(fqn);
  return {
    id: `r:${fqn}`,
    type: 'resolver',
    label: fqn,
    fqn,
    focus,
    ...(resolver ? { detail: resolverKindLabel(resolver) } : {}),
  };
};

/** A relationship feature points at its target namespace: the hop to the related rows. */
function relationshipTarget(index: GraphIndex, fqn: string): LineageNode | null {
  const entry = index.feature(fqn);
  if (!entry || (entry.feature.kind !== 'has_one' && entry.feature.kind !== 'has_many')) return null;
  const target = entry.feature.target ?? '?';
  const join = entry.feature.join?.map((j) => `${j.foreign} = ${j.local}`).join(', ');
  return { id: `n:${target}`, type: 'namespace', label: target, ...(join ? { detail: join } : {}) };
}

/**
 * A feature's neighbourhood: the inputs of the resolvers that compute it → those resolvers → the feature →
 * the resolvers that read it → what they compute; a relationship feature also points at its target.
 */
export function featureLineage(index: GraphIndex, fqn: string): Lineage {
  const b = new Builder(5);
  const self = b.node(2, featureNode(index, fqn, true));
  for (const producer of index.producers(fqn)) {
    const r = b.node(1, resolverNode(index, producer.fqn));
    b.edge(r, self);
    for (const input of producer.inputs) b.edge(b.node(0, featureNode(index, fqnOf(input))), r);
  }
  const target = relationshipTarget(index, fqn);
  if (target) b.edge(self, b.node(3, target));
  for (const consumer of index.consumers(fqn)) {
    const r = b.node(3, resolverNode(index, consumer.fqn));
    b.edge(self, r);
    for (const output of consumer.outputs) b.edge(r, b.node(4, featureNode(index, fqnOf(output))));
  }
  return b.build();
}

/**
 * A resolver's neighbourhood: its inputs (and a has-many input's row features) → the resolver → its outputs
 * → the relationships among them (has-one / has-many to their target namespaces).
 */
export function resolverLineage(index: GraphIndex, fqn: string): Lineage {
  const b = new Builder(4);
  const resolver = index.resolver(fqn);
  const self = b.node(1, resolverNode(index, fqn, true));
  if (!resolver) return b.build();
  for (const input of resolver.inputs) {
    const [direct, ...rows] = inputFqns(input);
    const id = b.node(0, featureNode(index, direct!));
    b.edge(id, self);
    for (const row of rows) b.edge(b.node(0, featureNode(index, row)), self);
  }
  for (const output of resolver.outputs) {
    const out = b.node(2, featureNode(index, fqnOf(output)));
    b.edge(self, out);
    const target = relationshipTarget(index, fqnOf(output));
    if (target) b.edge(out, b.node(3, target));
  }
  return b.build();
}

/** Where each node is drawn, and the drawing's size. */
export interface LineageLayout {
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly (LineageNode & { readonly x: number; readonly y: number })[];
  readonly edges: readonly { readonly from: string; readonly to: string; readonly path: string }[];
}

/** Box and spacing sizes of the drawing, in SVG units (1 unit = 1 CSS pixel at natural size). */
export interface LineageSizes {
  readonly nodeWidth: number;
  readonly nodeHeight: number;
  readonly columnGap: number;
  readonly rowGap: number;
  readonly pad: number;
}

export const LINEAGE_SIZES: LineageSizes = {
  nodeWidth: 200,
  nodeHeight: 44,
  columnGap: 56,
  rowGap: 14,
  pad: 8,
};

/**
 * Lays the layers out left to right (`across`, each column centred vertically; edges run from a box's right
 * edge to the next box's left edge), or top to bottom (`down`, for narrow screens: each layer a centred row;
 * edges from a box's bottom to the next box's top). Edges are cubic curves.
 */
export function layoutLineage(
  lineage: Lineage,
  sizes: LineageSizes = LINEAGE_SIZES,
  direction: 'across' | 'down' = 'across',
): LineageLayout {
  const { nodeWidth, nodeHeight, columnGap, rowGap, pad } = sizes;
  const layers = lineage.columns;
  const widest = Math.max(1, ...layers.map((c) => c.length));
  // Along a layer: boxes side by side (down) or stacked (across); between layers: the column gap.
  const along = direction === 'across' ? nodeHeight : nodeWidth;
  const between = direction === 'across' ? nodeWidth : nodeHeight;
  const layerSpan = widest * along + (widest - 1) * rowGap;
  const depth = layers.length * between + Math.max(0, layers.length - 1) * columnGap;
  const nodes = layers.flatMap((layer, c) => {
    const span = layer.length * along + (layer.length - 1) * rowGap;
    const start = pad + (layerSpan - span) / 2;
    return layer.map((node, r) => {
      const a = start + r * (along + rowGap);
      const b = pad + c * (between + columnGap);
      return direction === 'across' ? { ...node, x: b, y: a } : { ...node, x: a, y: b };
    });
  });
  const at = new Map(nodes.map((n) => [n.id, n]));
  const edges = lineage.edges.flatMap((edge) => {
    const from = at.get(edge.from);
    const to = at.get(edge.to);
    if (!from || !to) return [];
    if (direction === 'down') {
      const [x1, y1, x2, y2] = [from.x + nodeWidth / 2, from.y + nodeHeight, to.x + nodeWidth / 2, to.y];
      const mid = (y1 + y2) / 2;
      return [{ ...edge, path: `M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}` }];
    }
    const [x1, y1, x2, y2] = [from.x + nodeWidth, from.y + nodeHeight / 2, to.x, to.y + nodeHeight / 2];
    const mid = (x1 + x2) / 2;
    return [{ ...edge, path: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` }];
  });
  const [width, height] =
    direction === 'across' ? [depth + pad * 2, layerSpan + pad * 2] : [layerSpan + pad * 2, depth + pad * 2];
  return { width, height, nodes, edges };
}
