/**
 * Whether this node knows its database to be down. While it is, logouts go
 * straight to the node's journal instead of each waiting for a connection or a
 * query to time out: a database that stops answering, rather than refusing,
 * would otherwise cost every logout the client-side timeout. Marked down by a
 * logout the database did not take; marked up by a replay pass that reaches
 * the database, or that finds nothing left to apply (the next logout then
 * tries the database again).
 */
export class StoreOutage {
  private downSince: number | null = null;

  markDown(at: number): void {
    this.downSince ??= at;
  }

  markUp(): void {
    this.downSince = null;
  }

  get down(): boolean {
    return this.downSince !== null;
  }

  /** When this node last found the database down (null while it is up), for health output. */
  get since(): number | null {
    return this.downSince;
  }
}
