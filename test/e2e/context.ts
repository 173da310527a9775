import type { E2eTarget, IdentityMode } from './target';

/** What the runner (./run.ts) resolved, handed to the spec files it loads in the same process. */
export interface E2eContext {
  target: E2eTarget;
  modes: IdentityMode[];
  /** Milliseconds each identity mode took, filled in by the spec (printed by the runner). */
  timings: Map<string, number>;
}

let current: E2eContext | undefined;

export function setE2eContext(context: E2eContext): void {
  current = context;
}

/** The runner's context; undefined when a spec file is loaded some other way (e.g. plain mocha). */
export function e2eContext(): E2eContext | undefined {
  return current;
}
