/**
 * Who may call what: the one table every service's server reads. A caller's roles come
 * from its client certificate (the subject's OU) or its bearer token (AUTH_JWT_ROLES_CLAIM);
 * a call is allowed when one of them is listed for the method. A method missing here is
 * refused to everyone (and fails the start, see checkPolicyCovers).
 *
 * - recommender: the upstream recommenders — clicks in, scores and feedback out.
 * - operator:    people and jobs running RALM — candidates, reclustering, training, reads.
 * - clusterer, lookalike-scorer: the two RALM services that call others, each its own
 *                role (its certificate's OU is its service name), so a stolen scorer
 *                identity reads clusters and seed ids (to leave them out of an expanded
 *                audience) but no embeddings of users by id. The seed
 *                collector, user embedding and trainer call no one and hold no role.
 */
export const ROLES = ['recommender', 'operator', 'clusterer', 'lookalike-scorer'] as const;
export type Role = (typeof ROLES)[number];

export const RPC_POLICY: Readonly<Record<string, readonly Role[]>> = {
  'SeedCollectorService/ReportClicks': ['recommender'],
  'SeedCollectorService/StreamClicks': ['recommender'],
  'SeedCollectorService/GetSeedStats': ['operator'],
  'SeedCollectorService/RegisterCandidate': ['operator'],
  'SeedCollectorService/RetireCandidate': ['operator'],
  // Seeds are user ids: the clusterer clusters them, the scorer leaves them out of an expanded audience.
  'SeedCollectorService/ListSeeds': ['clusterer', 'lookalike-scorer'],
  'FeedbackService/ReportFeedback': ['recommender'],
  'ClustererService/GetClusters': ['operator', 'lookalike-scorer'],
  'ClustererService/Recluster': ['operator'],
  'ClustererService/ListClusters': ['operator', 'lookalike-scorer'],
  'LookalikeScorerService/Score': ['recommender'],
  'LookalikeScorerService/ScoreBatch': ['recommender'],
  // Why a user got a score: the recommender that showed it, and people debugging it.
  'LookalikeScorerService/Explain': ['recommender', 'operator'],
  // A list of user ids for a campaign: the operators' (ad platforms sell this, recommenders do not need it).
  'LookalikeScorerService/ExpandAudience': ['operator'],
  'LookalikeScorerService/SetExclusions': ['operator'],
  'LookalikeScorerService/GetExclusions': ['operator'],
  'TrainerService/StartTraining': ['operator'],
  'TrainerService/GetJob': ['operator'],
  'TrainerService/WatchJob': ['operator'],
  'TrainerService/ListModels': ['operator'],
  // Embeddings of known users by id: the clusterer's; embedding raw features serves a recommender's new user.
  'UserEmbeddingService/GetEmbeddings': ['clusterer'],
  'UserEmbeddingService/EmbedFeatures': ['recommender'],
  'UserEmbeddingService/GetModel': ['recommender', 'operator', 'clusterer'],
};

/** Roles allowed to call `method` (`Service/Method`); none when the table does not name it. */
export function rolesFor(method: string): readonly Role[] {
  return RPC_POLICY[method] ?? [];
}

/** Methods of a server that the table does not name: with auth on, a start with any fails. */
export function uncoveredMethods(methods: readonly string[]): string[] {
  return methods.filter((m) => !(m in RPC_POLICY));
}
