import { useMemo, useSyncExternalStore } from 'react';
import { hrefOf, navigate } from '../router.tsx';
import { LINEAGE_SIZES, type Lineage, type LineageSizes, layoutLineage } from './lineage.ts';

/** Below this width the drawing runs top to bottom, so a phone shows it without sideways scrolling. */
const NARROW = '(max-width: 640px)';
/** Narrower boxes on a phone: two side by side fit its width. */
const NARROW_SIZES: LineageSizes = { nodeWidth: 150, nodeHeight: 44, columnGap: 30, rowGap: 10, pad: 4 };

function useNarrow(): boolean {
  return useSyncExternalStore(
    (onChange) => {
      const query = window.matchMedia?.(NARROW);
      query?.addEventListener?.('change', onChange);
      return () => query?.removeEventListener?.('change', onChange);
    },
    () => window.matchMedia?.(NARROW).matches ?? false,
    () => false,
  );
}

/** Characters that fit in a box at the drawing's font size; longer names end in "…" (full name in a tooltip). */
const MAX_LABEL = 26;

const clip = (text: string, max = MAX_LABEL) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * The lineage drawing: an SVG at its natural size inside a box that scrolls sideways on narrow screens.
 * Feature and resolver boxes are links to their pages.
 */
export function LineageGraph({ lineage, environmentId }: { lineage: Lineage; environmentId: string }) {
  const narrow = useNarrow();
  const sizes = narrow ? NARROW_SIZES : LINEAGE_SIZES;
  const layout = useMemo(
    () => layoutLineage(lineage, sizes, narrow ? 'down' : 'across'),
    [lineage, sizes, narrow],
  );
  const { nodeWidth, nodeHeight } = sizes;
  const maxLabel = narrow ? 19 : MAX_LABEL;
  return (
    <div className="lineage-scroll">
      <svg
        className="lineage"
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        role="img"
        aria-label={`Lineage: ${layout.nodes.map((n) => n.label).join(', ')}`}
      >
        <defs>
          <marker
            id="lineage-arrow"
            viewBox="0 0 8 8"
            refX="8"
            refY="4"
            markerWidth="7"
            markerHeight="7"
            orient="auto"
          >
            <path d="M0,0 L8,4 L0,8 z" className="lineage-arrowhead" />
          </marker>
        </defs>
        {layout.edges.map((edge) => (
          <path
            key={`${edge.from}->${edge.to}`}
            d={edge.path}
            className="lineage-edge"
            markerEnd="url(#lineage-arrow)"
          />
        ))}
        {layout.nodes.map((node) => {
          const href =
            node.fqn && (node.type === 'feature' || node.type === 'resolver') && !node.focus
              ? hrefOf({ kind: node.type, environmentId, fqn: node.fqn })
              : undefined;
          const box = (
            <g
              className={`lineage-node lineage-${node.type}${node.focus ? ' lineage-focus' : ''}`}
              transform={`translate(${node.x},${node.y})`}
            >
              <title>{node.detail ? `${node.label} (${node.detail})` : node.label}</title>
              <rect width={nodeWidth} height={nodeHeight} rx={node.type === 'resolver' ? 14 : 4} />
              <text x={10} y={node.detail ? 18 : 27} className="lineage-label">
                {clip(node.label, maxLabel)}
              </text>
              {node.detail && (
                <text x={10} y={34} className="lineage-detail">
                  {clip(node.detail, maxLabel + 6)}
                </text>
              )}
            </g>
          );
          if (!href) return <g key={node.id}>{box}</g>;
          return (
            <a
              key={node.id}
              href={href}
              onClick={(event) => {
                if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
                event.preventDefault();
                navigate(href);
              }}
            >
              {box}
            </a>
          );
        })}
      </svg>
    </div>
  );
}
