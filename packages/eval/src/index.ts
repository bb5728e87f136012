export * from './types';
export { splitByTime, testSamples, readsByUser, itemsBySeedCount } from './split';
export { trainView } from './competitors/neural';
export { auc, itemAveragedAuc, precisionAtK, rankTopK } from './metrics';
export { selectFreshItems, withoutFreshItems, freshSeeds, freshTestSamples, trainReadsByUser, type FreshItems, type FreshOptions } from './protocol';
export { seedCountScorer, cosMeanScorer, maxCentroidScorer } from './competitors/floors';
export { evaluate, COMPETITORS, FLOORS, ROW_ORDER, UNTRAINED_PHASE2, WITH_PRIOR, PAPER_TABLE1, type CompetitorName, type RowName, type EvalOptions, type EvalReport, type Table1Row, type ProtocolMetrics, type Figure6Point } from './run';
export { writeReport, table1Markdown } from './report';
export * from './ab';
