import {
  CandidateRegistered,
  CandidateRetired,
  ClickRecorded,
  ClustersUpdated,
  FeedbackRecorded,
  ModelPublished,
  SeedsUpdated,
} from '@ralm/proto/events';
import type { Subject } from './bus/port';

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
}

function subject<T>(name: string, codec: Codec<T>): Subject<T> {
  return { name, encode: (m) => codec.encode(m).finish(), decode: (b) => codec.decode(b) };
}

/** Every subject on the bus, each with its message from events.proto: `ralm.v1.<entity>.<event>`. */
export const Subjects = {
  clickRecorded: subject('ralm.v1.click.recorded', ClickRecorded),
  seedsUpdated: subject('ralm.v1.seeds.updated', SeedsUpdated),
  clustersUpdated: subject('ralm.v1.clusters.updated', ClustersUpdated),
  modelPublished: subject('ralm.v1.model.published', ModelPublished),
  candidateRegistered: subject('ralm.v1.candidate.registered', CandidateRegistered),
  candidateRetired: subject('ralm.v1.candidate.retired', CandidateRetired),
  feedbackRecorded: subject('ralm.v1.feedback.recorded', FeedbackRecorded),
} as const;

/**
 * The clicks of one partition (partition/index.ts): `ralm.v1.click.recorded.p<k>`, or the
 * plain subject when there is one partition (the single-collector layout, unchanged).
 */
export function clickSubjectOf(partition: number, partitions: number): Subject<ClickRecorded> {
  return partitions === 1 ? Subjects.clickRecorded : { ...Subjects.clickRecorded, name: `${Subjects.clickRecorded.name}.p${partition}` };
}
