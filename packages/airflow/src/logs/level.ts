import type { LogLevel } from './types.ts';

/**
 * Normalise a level word from any format: Python levelnames (`WARNING`, `WARN`, `FATAL`), structlog's
 * lower-case names (`warning`, `exception`), Celery's. Unknown words map to INFO so that a custom
 * level never inflates the error or warning counts; `Level 5`-style and NOTSET/TRACE map to DEBUG.
 */
export function normaliseLevel(word: string): LogLevel {
  switch (word) {
    case 'INFO':
    case 'info':
      return 'INFO';
    case 'WARNING':
    case 'warning':
    case 'WARN':
    case 'warn':
      return 'WARNING';
    case 'ERROR':
    case 'error':
    case 'exception':
    case 'EXCEPTION':
      return 'ERROR';
    case 'DEBUG':
    case 'debug':
      return 'DEBUG';
    case 'CRITICAL':
    case 'critical':
    case 'FATAL':
    case 'fatal':
      return 'CRITICAL';
    default: {
      const upper = word.toUpperCase();
      if (upper === 'NOTSET' || upper === 'TRACE' || upper.startsWith('LEVEL ')) return 'DEBUG';
      if (upper === 'INFO' || upper === 'WARNING' || upper === 'ERROR' || upper === 'DEBUG' || upper === 'CRITICAL') {
        return upper;
      }
      return 'INFO';
    }
  }
}

/** True for a word that a Python/Celery/structlog formatter prints as a level name. */
export function isLevelWord(word: string): boolean {
  switch (word) {
    case 'INFO':
    case 'WARNING':
    case 'ERROR':
    case 'DEBUG':
    case 'CRITICAL':
    case 'info':
    case 'warning':
    case 'error':
    case 'debug':
      return true;
  }
  if (word.length > 9) return false;
  switch (word.toUpperCase()) {
    case 'DEBUG':
    case 'INFO':
    case 'WARNING':
    case 'WARN':
    case 'ERROR':
    case 'CRITICAL':
    case 'FATAL':
    case 'NOTSET':
    case 'EXCEPTION':
      return true;
    default:
      return false;
  }
}
