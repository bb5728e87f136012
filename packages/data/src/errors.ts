/**
 * A dataset file is malformed. Thrown at the first bad row, so the message can
 * point a person at one place to fix.
 */
export class DatasetError extends Error {
  /**
   * @param file   the file's name inside the dataset folder, e.g. `users.csv`
   * @param line   1-based line number in that file (the CSV header is line 1);
   *               for a quoted value spanning lines, the line where the row starts;
   *               0 when the file as a whole is at fault (missing). The writer
   *               reports the line the row would have had.
   * @param reason what is wrong, without the location
   * @param column the offending column's name, when one is to blame
   */
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
    readonly column?: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}:${line}${column === undefined ? '' : ` (column ${column})`}: ${reason}`, options);
    this.name = 'DatasetError';
  }
}
