import { describeQueries } from './queries-suite.ts';

describeQueries('3');
