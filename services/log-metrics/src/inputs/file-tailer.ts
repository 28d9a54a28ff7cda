/**
 * log-metrics' file inputs. Following files (discovery, identity, rotation, offsets) is
 * @windsock/logfiles' job; here is only what a log-metrics input adds: the dimensions of its lines.
 */
export {
  type FileCheckpoint,
  FileTailer,
  type FileTailerOptions,
  type OpenedFile,
  type StartPosition,
  type TailerStats,
} from '@windsock/logfiles';

/** One configured file input: a path or glob, with the dimensions its lines carry. */
export interface FileInput {
  path: string;
  component?: string | undefined;
  queue?: string | undefined;
}
