/** One step of a diagnosis: what was checked, whether it passed (null: not applicable), and what was found. */
export interface Check {
  name: string;
  ok: boolean | null;
  detail: string;
}

/** Collects checks in order; the first failure is the verdict. */
export class CheckTrail {
  readonly checks: Check[] = [];

  pass(name: string, detail: string): void {
    this.checks.push({ name, ok: true, detail });
  }

  fail(name: string, detail: string): void {
    this.checks.push({ name, ok: false, detail });
  }

  skip(name: string, detail: string): void {
    this.checks.push({ name, ok: null, detail });
  }
}
