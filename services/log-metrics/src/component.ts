/**
 * The path grammar lives in `@windsock/airflow` (paths/component.ts); this re-export remains only
 * until pipeline.ts imports it from there (its other edits were in flight when this moved).
 */
export { COMPONENTS, dagFromPath, inferComponent } from '@windsock/airflow';
