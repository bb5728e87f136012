export * from './types';
export { splitByTime, testSamples, readsByUser, itemsBySeedCount } from './split';
export { trainView } from './competitors/neural';
export { auc, precisionAtK, rankTopK } from './metrics';
export { evaluate, COMPETITORS, PAPER_TABLE1, type CompetitorName, type EvalOptions, type EvalReport, type Table1Row } from './run';
export { writeReport, table1Markdown } from './report';
export * from './ab';
