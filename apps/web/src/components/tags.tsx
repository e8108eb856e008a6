/** A row of small tag chips (`mono` for identifiers such as permissions); nothing when there are none. */
export function Tags({ tags, mono = false }: { tags: readonly string[] | undefined; mono?: boolean }) {
  if (!tags || tags.length === 0) return null;
  return (
    <span className="tags">
      {tags.map((t) => (
        <span key={t} className={mono ? 'tag mono' : 'tag'}>
          {t}
        </span>
      ))}
    </span>
  );
}
