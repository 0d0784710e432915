import { parse, type DocumentNode } from "graphql";

/** Distinct subscription documents kept parsed (the least recently used beyond this are parsed again). */
export const MAX_CACHED_DOCUMENTS = 500;

/**
 * Parses subscription documents once per distinct text: the thousands of subscribers of one frontend send the same
 * few operations, and each parsed document (its AST with locations) held for a subscription's lifetime was a large
 * share of an idle subscriber's heap. graphql-js never mutates a document, so one parsed copy serves every
 * subscription with that text. Throws graphql's syntax error, as `parse` does (errors are not cached).
 */
export function createDocumentCache(maxTokens: number, max = MAX_CACHED_DOCUMENTS): (source: string) => DocumentNode {
  const documents = new Map<string, DocumentNode>();
  return (source) => {
    const cached = documents.get(source);
    if (cached) {
      // Most recently used last (Map keeps insertion order).
      documents.delete(source);
      documents.set(source, cached);
      return cached;
    }
    const document = parse(source, { maxTokens });
    documents.set(source, document);
    if (documents.size > max) documents.delete(documents.keys().next().value!);
    return document;
  };
}
