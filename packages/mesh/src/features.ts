import type { Dataset } from '@ralm/data';
import type { UserFeatures } from '@ralm/proto/common';

/** A dataset user's profile as a Score or EmbedFeatures request carries it (missing values left out). */
export function featuresOf(dataset: Dataset, row: number): UserFeatures {
  const fields: UserFeatures['fields'] = {};
  for (const [name, column] of dataset.users.fields) {
    const value = column.values[row];
    if (Array.isArray(value)) fields[name] = { ids: { values: value } };
    else if (typeof value === 'number') {
      if (Number.isFinite(value)) fields[name] = { number: value };
    } else if (value !== undefined && value !== '') fields[name] = { id: value };
  }
  return { fields };
}
