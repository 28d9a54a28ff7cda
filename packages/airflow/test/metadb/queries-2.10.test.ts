import { describeQueries } from './queries-suite.ts';

describeQueries('2.10');
