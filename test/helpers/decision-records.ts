/**
 * The decision records (`AUTH_AUDIT`) in parsed log lines, each in the full form a line of its own has (Lambda,
 * WebSocket). Over HTTP a record rides in its request line: the line's `audit` plus what the line already says
 * (request id, operation, `sub`, and `kind` as `principal`).
 */
export function decisionRecordsOf(lines: readonly Record<string, any>[]): Record<string, any>[] {
  return lines.flatMap((l) => {
    if (l.event === "auth.decision") return [l];
    if (!l.audit) return [];
    return [{ event: "auth.decision", requestId: l.requestId, principal: l.kind, sub: l.sub, operation: l.operation, ...l.audit }];
  });
}
