import type { WindsockCommand } from '@windsock/core';

/** The commands this service registers with the `windsock` CLI. */
export const commands: WindsockCommand[] = [];
