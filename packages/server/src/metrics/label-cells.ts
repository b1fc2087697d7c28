type LabelValue = string | number;

/**
 * Cells found by a tuple of label values (a metric's labels; a tally's event type and subject), through one
 * map per label. A joined key (`${method} ${route}`) would be a new string to hash on every count; label
 * values are strings that already exist (or numbers), and V8 keeps a string's hash once computed, so each
 * level is a cheap lookup.
 */
export class LabelCells<Cell> {
  readonly #root = new Map<LabelValue, unknown>();
  readonly #cells: Cell[] = [];

  /** `create` makes the cell of a label set, the first time it is seen, from its label values as text. */
  constructor(private readonly create: (values: string[]) => Cell) {}

  cell(...values: LabelValue[]): Cell {
    let level = this.#root;
    const last = values.length - 1;
    for (let index = 0; index < last; index++) {
      let next = level.get(values[index]!) as Map<LabelValue, unknown> | undefined;
      if (!next) {
        next = new Map();
        level.set(values[index]!, next);
      }
      level = next;
    }
    let cell = level.get(values[last]!) as Cell | undefined;
    if (cell === undefined) {
      cell = this.create(values.map(String));
      level.set(values[last]!, cell);
      this.#cells.push(cell);
    }
    return cell;
  }

  all(): readonly Cell[] {
    return this.#cells;
  }

  clear(): void {
    this.#root.clear();
    this.#cells.length = 0;
  }
}

/** The label object prom-client formats, from a metric's label names and one set of values. */
export const labelsOf = <Name extends string>(names: readonly Name[], values: string[]) =>
  Object.fromEntries(names.map((name, index) => [name, values[index]!])) as Record<Name, string>;
