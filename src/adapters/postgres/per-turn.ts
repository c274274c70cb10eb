/**
 * Calls made during one turn of the event loop, handed over together: `run`
 * receives every input of the turn and returns one answer per input, in the
 * same order. Lets several requests share one PostgreSQL statement.
 */
export class PerTurn<I, O> {
  private pending: Array<{ input: I; resolve: (v: O) => void; reject: (e: unknown) => void }> = [];

  constructor(private readonly run: (inputs: I[]) => Array<Promise<O>>) {}

  add(input: I): Promise<O> {
    return new Promise((resolve, reject) => {
      if (this.pending.push({ input, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending.splice(0);
    let answers: Array<Promise<O>>;
    try {
      answers = this.run(batch.map((b) => b.input));
    } catch (err) {
      return batch.forEach((b) => b.reject(err));
    }
    answers.forEach((answer, i) => answer.then(batch[i]!.resolve, batch[i]!.reject));
  }
}
