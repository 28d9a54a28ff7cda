/**
 * @windsock/up: `windsock up` runs several services in one process from one config. It takes the
 * services' own command registrations (the CLI passes them), so no service is imported here and a
 * service's wiring lives in one place, its command. The heavy part (command.ts) loads when run.
 */
import { type CommandRegistration, defineSection, field, type WindsockCommand, z } from '@windsock/core';

/** A service's command as the CLI registers it: loaded already, or loaded when run. */
export type ServiceCommand = WindsockCommand | CommandRegistration;

/** The `services` config section for these service names (a top-level list). */
export function servicesSection(names: readonly string[]) {
  const list = z.array(z.enum(names as [string, ...string[]]));
  return {
    key: 'services',
    schema: field(
      list.default([]).refine((l) => new Set(l).size === l.length, { message: 'a service is listed twice' }),
      `Services \`windsock up\` runs in one process (${names.join(', ')}).`,
      { example: 'queue-depth,log-metrics' },
    ),
  };
}

/** Re-exported for a section-shaped test without the command. */
export { defineSection };

/**
 * The `windsock up` registration. `services` are the registrations of the commands that run a
 * long-lived service through `ctx.runServices` (each builds its services exactly as when run alone).
 */
export function upCommands(services: readonly ServiceCommand[]): CommandRegistration[] {
  const section = servicesSection(services.map((s) => s.name));
  return [
    {
      name: 'up',
      summary: 'run the services listed in the `services` config key in one process (one HTTP port, one shutdown)',
      configSection: section,
      load: async () => (await import('./command.ts')).upCommand(section, services),
    },
  ];
}
